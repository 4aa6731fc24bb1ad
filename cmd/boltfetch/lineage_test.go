package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// archivedDemo runs the demo into a fresh archive and returns its root.
func archivedDemo(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"demo", "--out", out}, &iostreams{Out: &stdout, Err: &stderr}); code != exitOK {
		t.Fatalf("demo: exit %d: %s", code, stderr.String())
	}
	return out
}

// TestLineageCommand backfills the demo run from its archive, by run folder
// and by path under --out: the same events, twice the same run ids.
func TestLineageCommand(t *testing.T) {
	out := archivedDemo(t)
	events := filepath.Join(t.TempDir(), "events.ndjson")
	var stderr bytes.Buffer
	for _, args := range [][]string{
		{"lineage", "--out", out, "demo-jaffle/daily_run/63187", "--openlineage-file", events},
		{"lineage", filepath.Join(out, "demo-jaffle", "daily_run", "63187"), "--openlineage-file", events, "--openlineage-dataset-namespace", "bigquery"},
	} {
		if code := run(args, &iostreams{Out: new(bytes.Buffer), Err: &stderr}); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
	}
	raw, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 2*51 {
		t.Fatalf("%d events, want 2×51", len(lines))
	}
	for i := range 51 {
		a, b := runIDField(lines[i]), runIDField(lines[51+i])
		if a == "" || a != b {
			t.Fatalf("event %d: run id %q, then %q", i, a, b)
		}
	}
	for _, want := range []string{`"eventType":"ABORT"`, `Database Error in model stg_dim_time`, `"dataQualityAssertions"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("events lack %s", want)
		}
	}
	if !strings.Contains(lines[51+20], `"namespace":"bigquery"`) {
		// the override applies to every dataset, also the postgres run's
		if !strings.Contains(string(raw[len(raw)/2:]), `{"namespace":"bigquery","name":"postgres.public.customers"}`) {
			t.Error("--openlineage-dataset-namespace not applied")
		}
	}
}

func runIDField(line string) string {
	const k = `"run":{"runId":"`
	i := strings.Index(line, k)
	if i < 0 {
		return ""
	}
	return line[i+len(k) : i+len(k)+36]
}

// TestLineageCommandErrors: bad input is exit 2; an endpoint that is down
// is exit 1, with the lost events named.
func TestLineageCommandErrors(t *testing.T) {
	out := archivedDemo(t)
	runDir := filepath.Join(out, "demo-jaffle", "daily_run", "63187")
	for _, args := range [][]string{
		{"lineage", runDir},
		{"lineage", runDir, "--openlineage-file", "x", "--openlineage-url", "http://127.0.0.1:1/"},
		{"lineage", "--out", out, "nope/none/1", "--openlineage-file", filepath.Join(t.TempDir(), "e")},
		{"lineage", runDir, "--openlineage-url", "ftp://x/"},
	} {
		var stderr bytes.Buffer
		if code := run(args, &iostreams{Out: new(bytes.Buffer), Err: &stderr}); code != exitBadInput {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
	fastLineageRetries(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	var stderr bytes.Buffer
	code := run([]string{"lineage", runDir, "--openlineage-url", srv.URL + "/api/v1/lineage"}, &iostreams{Out: new(bytes.Buffer), Err: &stderr})
	if code != exitPartial {
		t.Fatalf("exit %d, want 1: %s", code, stderr.String())
	}
	if msg := stderr.String(); !strings.Contains(msg, "51 of 51 event(s) not delivered") || !strings.Contains(msg, "; not delivered: ") || !strings.Contains(msg, "and 46 more") {
		t.Errorf("the error does not name the lost events: %s", msg)
	}
}

// fastLineageRetries shortens the OpenLineage HTTP backoff for a test.
func fastLineageRetries(t *testing.T) {
	lineageRetryWaitMin, lineageMaxRetryAfter = time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { lineageRetryWaitMin, lineageMaxRetryAfter = 0, 0 })
}

// FuzzDecodeArchivedReport: any report.json gives a report or an error.
func FuzzDecodeArchivedReport(f *testing.F) {
	f.Add([]byte(`{"run":{"id":63187,"schedule_name":"daily_run","workspace":{"name":"w"}},"archive":{"folder":"w/daily_run/63187"},"commands":[{"id":"1","artifacts":[{"path":"target/manifest.json","location":"w/daily_run/63187/commands/1/target/manifest.json"}]}]}`))
	f.Add([]byte(`{"run":{"id":1.5e3}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rep, err := decodeArchivedReport(raw)
		if err == nil && rep.Run.ID == "" {
			t.Fatal("a report without a run id was accepted")
		}
	})
}
