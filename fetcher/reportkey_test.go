package fetcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestReportKey: Fetch says, typed, whether report.json reached the
// archive: its key when it was committed; "" and false when the archive
// refused it (the error is in the report), and for a decoded report.
func TestReportKey(t *testing.T) {
	t.Parallel()
	_, _, payload := startDemo(t, fakebolt.Options{})

	st, dir := newStore(t)
	rep := fetch(t, payload, fastOpts(newClient(t), st))
	key, ok := rep.ReportKey()
	if want := demoFolder + "/report.json"; !ok || key != want {
		t.Fatalf("ReportKey = %q, %v; want %q, true", key, ok, want)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(key))); err != nil {
		t.Errorf("ReportKey names a file that is not there: %v", err)
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := DecodeReport(f)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := back.ReportKey(); ok || k != "" {
		t.Errorf("a decoded report: ReportKey = %q, %v", k, ok)
	}

	// A folder where report.json should go: the archive cannot commit it.
	st, dir = newStore(t)
	if err := os.MkdirAll(filepath.Join(dir, demoFolder, "report.json", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep = fetch(t, payload, fastOpts(newClient(t), st))
	if k, ok := rep.ReportKey(); ok || k != "" {
		t.Errorf("report.json refused: ReportKey = %q, %v", k, ok)
	}
	if rep.Summary.Complete || len(rep.Errors) != 1 || rep.Errors[0].Stage != StageArchive || !strings.Contains(rep.Errors[0].Message, "report.json") {
		t.Errorf("report.json refused: complete %v, errors %+v", rep.Summary.Complete, rep.Errors)
	}
	if _, err := os.Stat(filepath.Join(dir, demoFolder, "report.md")); err != nil {
		t.Errorf("report.md not written beside the refused report.json: %v", err)
	}
}
