package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFetchExitPartialNamesReport: exit 1 points to the archived
// report.json only when the fetcher says it committed it; when the archive
// refused it, the message says so and the report is on stdout.
func TestFetchExitPartialNamesReport(t *testing.T) {
	t.Parallel()
	const folder = "demo-jaffle/daily_run/63187"
	for _, blocked := range []bool{false, true} {
		// A resource query for another id is refused: the follow-up is
		// incomplete either way.
		_, payload, host := fakeForCLI(t, func(s string) string {
			return strings.Replace(s, "resourceId: 1205761", "resourceId: 99", 1)
		})
		out := t.TempDir()
		if blocked {
			// A folder where report.json should go: it cannot be committed.
			if err := os.MkdirAll(filepath.Join(out, folder, "report.json", "x"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		var stdout, stderr bytes.Buffer
		code := run([]string{"fetch", "--out", out, "--api-key", "k", "--api-secret", "s", "--allow-host", host, payload},
			&iostreams{In: strings.NewReader(""), Out: &stdout, Err: &stderr, Getenv: noEnv})
		if code != exitPartial {
			t.Fatalf("blocked %v: exit %d, want %d\n%s", blocked, code, exitPartial, stderr.String())
		}
		want := "1 follow-up error (listed in the report, " + out + "/" + folder + "/report.json)"
		if blocked {
			want = "2 follow-up errors (listed in the report above; report.json could not be written to the archive)"
		}
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("blocked %v: stderr lacks %q:\n%s", blocked, want, stderr.String())
		}
		if !strings.Contains(stdout.String(), "query_refused") {
			t.Errorf("blocked %v: the report on stdout lacks the error:\n%s", blocked, stdout.String())
		}
	}
}
