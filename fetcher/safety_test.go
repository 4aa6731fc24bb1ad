package fetcher

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestFetchPathTraversal: resource paths that would leave their command's
// folder, or are not portable, are refused and reported; the rest of the
// run is fetched; nothing lands outside the archive.
func TestFetchPathTraversal(t *testing.T) {
	t.Parallel()
	bad := []string{
		"../../../escape.json", "target/../../escape.json", "/etc/escape.json", `C:\escape.json`,
		`..\..\escape.json`, "target/CON", "target/a:b.json", "target/x.json.", "//host/share/x",
		"stdout.log", "Command.json", "linked/manifest.json",
	}
	run := fakebolt.Run{ID: 1, Status: "failed", ScheduleName: "s", Workspace: fakebolt.Workspace{Name: "w"},
		Commands: []fakebolt.Command{{ID: 10, Command: "dbt build", Status: "failed", ReturnCode: 1, Stdout: "out\n"}}}
	for i, p := range bad {
		run.Commands[0].Resources = append(run.Commands[0].Resources, fakebolt.Resource{ID: int64(100 + i), Path: p, Data: []byte("evil")})
	}
	good := fakebolt.Resource{ID: 999, Path: "target/manifest.json", Data: demodata.File("build-failed.manifest.json")}
	// The same file as good on macOS and Windows: refused as a duplicate.
	twin := fakebolt.Resource{ID: 1000, Path: "TARGET/Manifest.json", Data: []byte("twin")}
	run.Commands[0].Resources = append(run.Commands[0].Resources, good, twin)
	bad = append(bad, twin.Path)
	srv := startFake(t, fakebolt.Options{}, run)

	st, dir := newStore(t)
	outside := t.TempDir()
	// A symlink planted in the archive, pointing outside it.
	cmdDir := filepath.Join(dir, "w/s/1/commands/10")
	if err := os.MkdirAll(cmdDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(cmdDir, "linked")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	opts := fastOpts(newClient(t), st)
	opts.Artifacts = []string{"*"}
	rep := fetch(t, payloadOf(t, srv, 1), opts)

	refused := map[string]bool{}
	for _, e := range rep.Errors {
		if e.Kind != KindPathRefused {
			t.Errorf("unexpected error: %+v", e)
		}
		refused[e.Path] = true
	}
	for _, p := range bad {
		if !refused[p] {
			t.Errorf("path %q was not refused", p)
		}
	}
	c := rep.Commands[0]
	last := c.Artifacts[len(c.Artifacts)-2]
	if last.Error != nil || last.Bytes != int64(len(good.Data)) {
		t.Errorf("the good artifact was not fetched: %+v", last)
	}
	if got := listFiles(t, outside); len(got) != 0 {
		t.Errorf("files written outside the archive: %v", got)
	}
	for _, f := range listFiles(t, filepath.Dir(dir)) {
		if strings.Contains(f, "escape") {
			t.Errorf("escaped file: %s", f)
		}
	}
	// Only the good artifact was asked for and downloaded.
	if n := srv.Stats().Requests[fakebolt.RouteDownload]; n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
}

// cancelOnBytes cancels the fetch as soon as any artifact byte arrives.
type cancelOnBytes struct {
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelOnBytes) Task(string) ProgressTask { return c }
func (c *cancelOnBytes) SetTotal(int64)           {}
func (c *cancelOnBytes) Add(int64)                { c.once.Do(c.cancel) }
func (c *cancelOnBytes) Done(error)               {}

// TestFetchCancel: Ctrl-C in the middle of downloads leaves no half-written
// file under a final name, and no temp file; the report says what was cut.
func TestFetchCancel(t *testing.T) {
	t.Parallel()
	run := demodata.Run()
	srv := startFake(t, fakebolt.Options{BytesPerSec: 2 << 20}, run)
	st, dir := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := fastOpts(newClient(t), st)
	opts.Logs = LogsNone
	opts.Progress = &cancelOnBytes{cancel: cancel}
	rep, err := Fetch(ctx, strings.NewReader(string(payloadOf(t, srv, run.ID))), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Complete {
		t.Fatal("report complete after a cancel")
	}
	var canceled int
	for _, e := range rep.Errors {
		if e.Kind == KindCanceled {
			canceled++
		}
	}
	if canceled == 0 {
		t.Errorf("no canceled error in %+v", rep.Errors)
	}
	// Whatever is under a final artifact name is complete and exact.
	src := map[string][]byte{}
	for _, c := range run.Commands {
		for _, r := range c.Resources {
			src[filepath.ToSlash(filepath.Join("demo-jaffle/daily_run/63187/commands", itoa(c.ID), r.Path))] = r.Data
		}
	}
	for _, f := range listFiles(t, dir) {
		if strings.Contains(f, ".boltfetch-tmp-") {
			t.Errorf("temp file left: %s", f)
		}
		if want, ok := src[f]; ok {
			got, _ := os.ReadFile(filepath.Join(dir, f))
			if string(got) != string(want) {
				t.Errorf("%s is under its final name but incomplete (%d of %d bytes)", f, len(got), len(want))
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "demo-jaffle/daily_run/63187/report.json")); err != nil {
		t.Errorf("no report.json after a cancel: %v", err)
	}
}
