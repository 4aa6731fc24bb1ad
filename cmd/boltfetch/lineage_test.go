package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/internal/demodata"
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
	if msg := stderr.String(); !strings.Contains(msg, "lineage error (kind lineage)") || !strings.Contains(msg, "51 of 51 event(s) not delivered") || !strings.Contains(msg, "; not delivered: ") || !strings.Contains(msg, "and 46 more") {
		t.Errorf("the error does not name the lost events: %s", msg)
	}
}

// fastLineageRetries shortens the OpenLineage HTTP backoff for a test.
func fastLineageRetries(t *testing.T) {
	lineageRetryWaitMin, lineageMaxRetryAfter = time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { lineageRetryWaitMin, lineageMaxRetryAfter = 0, 0 })
}

// TestDemoLineageTwice follows the demo run up twice with --openlineage-file:
// each follow-up appends one block of 51 events, with the same run ids, and
// they are those `boltfetch lineage` sends from the archive.
func TestDemoLineageTwice(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.ndjson")
	var outs []string
	for range 2 {
		out := t.TempDir()
		outs = append(outs, out)
		var stderr bytes.Buffer
		if code := run([]string{"demo", "--out", out, "--openlineage-file", events}, &iostreams{Out: new(bytes.Buffer), Err: &stderr}); code != exitOK {
			t.Fatalf("demo: exit %d: %s", code, stderr.String())
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"lineage", "--out", outs[0], "demo-jaffle/daily_run/63187", "--openlineage-file", events}, &iostreams{Out: new(bytes.Buffer), Err: &stderr}); code != exitOK {
		t.Fatalf("lineage: exit %d: %s", code, stderr.String())
	}
	raw, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 3*51 {
		t.Fatalf("%d events, want 3×51", len(lines))
	}
	for i := range 51 {
		a, b, c := runIDField(lines[i]), runIDField(lines[51+i]), runIDField(lines[102+i])
		if a == "" || a != b || a != c {
			t.Fatalf("event %d: run ids %q, %q, %q", i, a, b, c)
		}
	}
}

// TestFetchLineageEndpointDown: with the lineage endpoint down, the archive
// is complete and byte-exact, report.json lists the lineage error (stage
// lineage) with summary.complete still true, and the exit code is 1.
func TestFetchLineageEndpointDown(t *testing.T) {
	fastLineageRetries(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	srv.Close() // down: connections are refused
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo", "--out", out, "--format", "json", "--openlineage-url", srv.URL + "/api/v1/lineage"}, &iostreams{Out: &stdout, Err: &stderr})
	if code != exitPartial {
		t.Fatalf("exit %d, want 1: %s", code, stderr.String())
	}
	runDir := filepath.Join(out, "demo-jaffle", "daily_run", "63187")
	f, err := os.Open(filepath.Join(runDir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := fetcher.DecodeReport(f)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Summary.Complete {
		t.Errorf("summary.complete is false: %+v", rep.Errors)
	}
	var lin []fetcher.ItemError
	for _, e := range rep.Errors {
		if e.Stage != fetcher.StageLineage {
			t.Errorf("a non-lineage error: %+v", e)
		}
		lin = append(lin, e)
	}
	if len(lin) != 1 || lin[0].Kind != fetcher.KindLineage || !strings.Contains(lin[0].Message, "51 of 51 event(s) not delivered") || !lin[0].Retryable() || !rep.Retryable() {
		t.Fatalf("lineage errors %+v, want one retryable error naming 51 lost events", lin)
	}
	// Byte-exact: every archived artifact is the demo's own file.
	want := map[string][]byte{}
	for _, c := range demodata.Run().Commands {
		for _, r := range c.Resources {
			want[fmt.Sprintf("%d/%s", c.ID, r.Path)] = r.Data
		}
	}
	for k, data := range want {
		id, p, _ := strings.Cut(k, "/")
		got, err := os.ReadFile(filepath.Join(runDir, "commands", id, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: archived %d bytes (err %v), want the demo's %d", k, len(got), err, len(data))
		}
	}
	if rep.Summary.ArtifactsArchived != len(want) {
		t.Errorf("%d artifacts archived, want %d", rep.Summary.ArtifactsArchived, len(want))
	}
}

// TestLineageFlags: the OpenLineage flags reach fetch's options, and
// contradictory ones are bad input.
func TestLineageFlags(t *testing.T) {
	var got *fetchOptions
	cmd := newFetchCmd(&iostreams{}, func(o *fetchOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--openlineage-url", "http://m:5000/api/v1/lineage", "--openlineage-api-key", "k", "--openlineage-namespace", "ns", "--openlineage-dataset-namespace", "postgres://db:5432", "p.json"})
	cmd.SetOut(new(bytes.Buffer))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if want := (lineageFlags{URL: "http://m:5000/api/v1/lineage", APIKey: "k", Namespace: "ns", DatasetNamespace: "postgres://db:5432"}); got.Lineage != want {
		t.Errorf("lineage flags %+v, want %+v", got.Lineage, want)
	}
	for _, lf := range []lineageFlags{
		{File: "a", URL: "http://x/"},
		{APIKey: "k"},
		{URL: "file:///etc/passwd"},
		{File: filepath.Join(t.TempDir(), "no", "such", "dir", "e.ndjson")},
	} {
		if _, err := lf.exporter(nil, nil); err == nil {
			t.Errorf("%+v: accepted", lf)
		}
	}
}
