package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestServeReconcile: webhooks arrive for only half of 40 runs; serve's
// reconciler, with a shortened period and grace, enqueues the other half
// with the same unique run id. Every run ends done, each artifact is
// downloaded once, and the metric counts the 20 runs the webhook missed.
func TestServeReconcile(t *testing.T) {
	t.Parallel()
	boltfetchBinary(t) // built before the runs' clock starts
	f := newE2EFake(t, 0)
	m, rr := e2eArtifacts(t)
	const n, first = 40, 7000
	ended := time.Now().UTC()
	for i := range int64(n) {
		id := first + i
		start := ended.Add(-time.Minute)
		f.fb.AddRun(fakebolt.Run{
			ID: id, Status: "failed", ScheduleName: "nightly", Workspace: fakebolt.Workspace{Name: "ws", UID: "ws-uid"},
			Start: start, End: ended,
			Commands: []fakebolt.Command{{
				ID: id * 10, Command: "dbt build", Status: "failed", ReturnCode: 1,
				Stdout: fmt.Sprintf("run %d\n", id), Start: start, End: ended,
				Resources: []fakebolt.Resource{
					{ID: id*100 + 1, Path: "target/manifest.json", Data: m},
					{ID: id*100 + 2, Path: "target/run_results.json", Data: rr},
				},
			}},
		})
	}
	data, out := t.TempDir(), t.TempDir()
	// Until the grace has passed, every run is left to its webhook.
	p := startServe(t, f, "--data-dir", data, "--out", out, "--workers", "4",
		"--api-endpoint", f.fb.APIURL(), "--reconcile-schedule", "nightly", "--reconcile-workspace", "ws",
		"--reconcile-every", "300ms", "--reconcile-grace", "6s")
	for i := int64(0); i < n; i += 2 {
		payload, err := f.fb.CompletedPayload(first + i)
		if err != nil {
			t.Fatal(err)
		}
		if code := p.post(t, payload); code != http.StatusAccepted {
			t.Fatalf("webhook of run %d: %d", first+i, code)
		}
	}
	if time.Since(ended) > 5*time.Second {
		t.Logf("the webhooks were posted %s after the runs ended: the reconciler may have raced some", time.Since(ended))
	}
	waitFor(t, 90*time.Second, "all 40 runs done", func() bool { return len(p.runsIn(t, "done")) == n })

	downloads := f.downloadCounts()
	if len(downloads) != 2*n {
		t.Errorf("%d artifacts downloaded, want %d", len(downloads), 2*n)
	}
	for path, c := range downloads {
		if c != 1 {
			t.Errorf("%s downloaded %d times: a run was followed up twice", path, c)
		}
	}
	for i := range int64(n) {
		if _, err := os.Stat(filepath.Join(out, "ws", "nightly", fmt.Sprint(first+i), "report.json")); err != nil {
			t.Errorf("run %d: %v", first+i, err)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `boltfetch_reconcile_missed_runs_total{schedule="nightly"} 20`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %q:\n%s", want, grepLines(string(body), "reconcile"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
