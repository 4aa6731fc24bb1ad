package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestEnvThroughInvocation: demo, lineage and backfill read the
// environment through the invocation's iostreams, as fetch and serve do,
// never the process's: OPENLINEAGE_API_KEY and the PARADIME_* settings
// given to one invocation are the ones used.
func TestEnvThroughInvocation(t *testing.T) {
	t.Parallel()
	var hits, bearer atomic.Int32
	ol := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") == "Bearer env-ol-key" {
			bearer.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer ol.Close()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	olEnv := env(map[string]string{"OPENLINEAGE_API_KEY": "env-ol-key"})

	out := t.TempDir()
	var stderr bytes.Buffer
	if code := run([]string{"demo", "--out", out, "--openlineage-url", ol.URL + "/api/v1/lineage"},
		&iostreams{Out: new(bytes.Buffer), Err: &stderr, Getenv: olEnv}); code != exitOK {
		t.Fatalf("demo: exit %d: %s", code, stderr.String())
	}
	if h, b := hits.Load(), bearer.Load(); h == 0 || b != h {
		t.Errorf("demo: %d of %d OpenLineage requests carried the invocation's key", b, h)
	}
	hits.Store(0)
	bearer.Store(0)
	stderr.Reset()
	if code := run([]string{"lineage", "--out", out, "demo-jaffle/daily_run/63187", "--openlineage-url", ol.URL + "/api/v1/lineage"},
		&iostreams{Out: new(bytes.Buffer), Err: &stderr, Getenv: olEnv}); code != exitOK {
		t.Fatalf("lineage: exit %d: %s", code, stderr.String())
	}
	if h, b := hits.Load(), bearer.Load(); h == 0 || b != h {
		t.Errorf("lineage: %d of %d OpenLineage requests carried the invocation's key", b, h)
	}

	srv := fakebolt.New(fakebolt.Options{APIKey: "k", APISecret: "s"})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	var stdout bytes.Buffer
	stderr.Reset()
	code := run([]string{"backfill", "--out", t.TempDir(), "--schedule", "nobody"}, &iostreams{Out: &stdout, Err: &stderr,
		Getenv: env(map[string]string{"PARADIME_API_ENDPOINT": srv.APIURL(), "PARADIME_API_KEY": "k", "PARADIME_API_SECRET": "s"})})
	if code != exitOK || !strings.Contains(stdout.String(), "0 runs found") {
		t.Errorf("backfill with its settings in the invocation's env: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if n := srv.Stats().Requests[fakebolt.RouteGraphQL]; n == 0 {
		t.Error("backfill never asked the API named in the invocation's env")
	}
}
