package fetcher

import (
	"context"
	"encoding/json"
	"github.com/boltfetch/boltfetch/artifacts"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestFetchReservedAndNestedPaths: a resource path may not take one of the
// command's own file names as its first folder (stdout.log/x.json would keep
// stdout.log from being written), nor be the folder of another planned path,
// nor sit under another planned file, ignoring case. Only the later path is
// refused, with a reason; the command's logs, command.json and the other
// artifacts are archived.
func TestFetchReservedAndNestedPaths(t *testing.T) {
	t.Parallel()
	res := []fakebolt.Resource{
		{ID: 100, Path: "stdout.log/x.json"},   // refused: reserved first folder
		{ID: 101, Path: "Command.json/y.json"}, // refused: reserved, any case
		{ID: 102, Path: "STDERR.LOG"},          // refused: reserved whole path
		{ID: 103, Path: "a"},                   // kept
		{ID: 104, Path: "a/b.json"},            // refused: its folder is a planned file
		{ID: 105, Path: "c/d.json"},            // kept
		{ID: 106, Path: "C"},                   // refused: a planned folder, any case
		{ID: 107, Path: "c/D.json/e"},          // refused: under a planned file, any case
		{ID: 108, Path: "c/e.json"},            // kept: folders may be shared
		{ID: 109, Path: "target/manifest.json"},
	}
	refused := map[string]string{
		"stdout.log/x.json":   "folder named stdout.log",
		"Command.json/y.json": "folder named command.json",
		"STDERR.LOG":          "keeps for its own file",
		"a/b.json":            `needs the folder "a"`,
		"C":                   "is the folder of another resource path",
		"c/D.json/e":          `needs the folder "c/D.json"`,
	}
	for i := range res {
		res[i].Data = []byte("data of " + res[i].Path)
	}
	run := fakebolt.Run{ID: 1, Status: "failed", ScheduleName: "s", Workspace: fakebolt.Workspace{Name: "w"},
		Commands: []fakebolt.Command{{ID: 10, Command: "dbt build", Status: "failed", ReturnCode: 1,
			Stdout: "out\n", Stderr: "err\n", Resources: res}}}
	srv := startFake(t, fakebolt.Options{}, run)
	st, dir := newStore(t)
	opts := fastOpts(newClient(t), st)
	opts.Artifacts = []string{"*"}
	rep := fetch(t, payloadOf(t, srv, 1), opts)

	got := map[string]bool{}
	for _, e := range rep.Errors {
		want, ok := refused[e.Path]
		switch {
		case !ok || e.Kind != KindPathRefused || e.Stage != "payload":
			t.Errorf("unexpected error: %+v", e)
		case !strings.Contains(e.Message, want):
			t.Errorf("%s refused with %q, want a reason saying %q", e.Path, e.Message, want)
		}
		got[e.Path] = true
	}
	for p := range refused {
		if !got[p] {
			t.Errorf("%s was not refused", p)
		}
	}
	c := rep.Commands[0]
	if c.Logs == nil || c.Logs.Stdout == nil || c.Logs.Stderr == nil {
		t.Errorf("the command's own logs were not archived: %+v", c.Logs)
	}
	cdir := filepath.Join(dir, "w/s/1/commands/10")
	for name, want := range map[string]string{"stdout.log": "out\n", "stderr.log": "err\n", "a": "data of a",
		"c/d.json": "data of c/d.json", "c/e.json": "data of c/e.json", "target/manifest.json": "data of target/manifest.json"} {
		b, err := os.ReadFile(filepath.Join(cdir, filepath.FromSlash(name)))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}
	var rec commandRecord
	if b, err := os.ReadFile(filepath.Join(cdir, "command.json")); err != nil || json.Unmarshal(b, &rec) != nil || rec.Logs == nil {
		t.Errorf("command.json not written whole: %v", err)
	}
	files := listFiles(t, cdir)
	wantFiles := []string{"a", "c/d.json", "c/e.json", "command.json", "stderr.log", "stdout.log", "target/manifest.json"}
	if !slices.Equal(files, wantFiles) {
		t.Errorf("archived %v, want %v", files, wantFiles)
	}
	if n := srv.Stats().Requests[fakebolt.RouteDownload]; n != 4 {
		t.Errorf("%d downloads, want 4: a refused path is never asked for", n)
	}
}

func TestPathConflict(t *testing.T) {
	t.Parallel()
	files := map[string]bool{"a": true, "c/d.json": true}
	dirs := map[string]bool{"c": true}
	for p, conflict := range map[string]bool{
		"stdout.log": true, "Stdout.Log/x": true, "stderr.log/a/b": true, "command.json": true, "COMMAND.JSON/x": true,
		"x/stdout.log": false, "stdout.logs/x": false, "command.json.bak": false,
		"A": true, "a/b": true, "A/b/c": true, "c": true, "C": true, "c/D.JSON": true, "c/d.json/e": true,
		"c/e.json": false, "cc/d.json": false, "b": false, "ab/c": false,
	} {
		if msg := pathConflict(p, files, dirs); (msg != "") != conflict {
			t.Errorf("pathConflict(%q) = %q, want conflict %v", p, msg, conflict)
		}
	}
}

// TestFetchUnselectedUnsafePath: a path --artifacts does not select is
// skipped even when it could not be archived (it used to be reported as
// path_refused and make the run incomplete, exit 1). A selected one is
// still refused and reported; the globs see backslashes as '/'.
func TestFetchUnselectedUnsafePath(t *testing.T) {
	t.Parallel()
	res := []fakebolt.Resource{
		{ID: 100, Path: "logs/run:1.log"},
		{ID: 101, Path: `logs\run:2.log`},
		{ID: 102, Path: "../escape.log"},
		{ID: 103, Path: `logs\bad:1.json`},
		{ID: 104, Path: "target/manifest.json"},
		{ID: 105, Path: "target/run_results.json"},
	}
	for i := range res {
		res[i].Data = []byte("{}")
	}
	run := fakebolt.Run{ID: 1, Status: "succeeded", ScheduleName: "s", Workspace: fakebolt.Workspace{Name: "w"},
		Commands: []fakebolt.Command{{ID: 10, Command: "dbt run", Status: "succeeded", ReturnCode: 0,
			Stdout: "out\n", Stderr: "err\n", Resources: res}}}
	srv := startFake(t, fakebolt.Options{}, run)
	for _, tt := range []struct {
		name    string
		globs   []string
		refused []string
	}{
		{"default selection", nil, nil},
		{"json by name", []string{"*.json"}, []string{`logs\bad:1.json`}},
		{"backslash as slash", []string{"logs/*.json", "target/*"}, []string{`logs\bad:1.json`}},
		{"every path", []string{"*"}, []string{"logs/run:1.log", `logs\run:2.log`, "../escape.log", `logs\bad:1.json`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := newStore(t)
			opts := fastOpts(newClient(t), st)
			opts.Artifacts = tt.globs
			opts.Analyzer = func(context.Context, io.Reader, io.Reader) (*artifacts.Analysis, error) { return nil, nil }
			rep := fetch(t, payloadOf(t, srv, 1), opts)
			var got []string
			for _, e := range rep.Errors {
				if e.Kind != KindPathRefused {
					t.Errorf("unexpected error: %+v", e)
				}
				got = append(got, e.Path)
			}
			if !slices.Equal(got, tt.refused) {
				t.Errorf("refused %q, want %q", got, tt.refused)
			}
			if rep.Summary.Complete != (len(tt.refused) == 0) {
				t.Errorf("complete = %v with errors %+v", rep.Summary.Complete, rep.Errors)
			}
			for _, a := range rep.Commands[0].Artifacts {
				if a.Error == nil && a.Location == "" {
					t.Errorf("artifact %s neither archived nor failed", a.Path)
				}
			}
		})
	}
}
