package fetcher

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

const demoFolder = "demo-jaffle/daily_run/63187"

// indexOf reads a command's command.json from disk.
func indexOf(t *testing.T, dir, cmdID string) commandRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, demoFolder, "commands", cmdID, "command.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec commandRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// indexedFiles lists the files a command.json records, relative to the
// command's folder, after checking each one is on disk with its size and
// SHA-256.
func indexedFiles(t *testing.T, st archive.Store, rec commandRecord) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	check := func(key string, d archive.Digest) {
		ok, err := archive.Verify(ctx, st, key, d)
		if !ok || err != nil {
			t.Errorf("command.json lists %s, which does not verify (%v)", key, err)
		}
		out = append(out, path.Base(path.Dir(key))+"/"+path.Base(key))
	}
	if rec.Logs != nil {
		check(rec.Logs.Stdout.Path, archive.Digest{Bytes: rec.Logs.Stdout.Bytes, SHA256: rec.Logs.Stdout.SHA256})
		check(rec.Logs.Stderr.Path, archive.Digest{Bytes: rec.Logs.Stderr.Bytes, SHA256: rec.Logs.Stderr.SHA256})
	}
	for _, a := range rec.Artifacts {
		if a.Error != nil || a.Reused {
			t.Errorf("command.json entry %+v carries run state", a)
		}
		check(a.Location, archive.Digest{Bytes: a.Bytes, SHA256: a.SHA256})
	}
	sort.Strings(out)
	return out
}

// filesIn lists the archived files of a command's folder (not its index,
// not temp files), as indexedFiles names them.
func filesIn(t *testing.T, dir, cmdID string) []string {
	t.Helper()
	var out []string
	for _, f := range listFiles(t, filepath.Join(dir, demoFolder, "commands", cmdID)) {
		if f == commandName || strings.Contains(f, ".boltfetch-tmp-") {
			continue
		}
		out = append(out, path.Base(path.Dir(cmdID+"/"+f))+"/"+path.Base(f))
	}
	sort.Strings(out)
	return out
}

var demoArtifactCommands = []string{"193441", "193442"}

// Two follow-ups of one payload into one archive, side by side, with
// different selections (each through its own *archive.Local, as two
// processes would): both end complete, and every command.json lists the
// files of both. A third, wide run then asks for and downloads nothing.
func TestFetchConcurrentSelectionsMerge(t *testing.T) {
	t.Parallel()
	run, srv, payload := startDemo(t, fakebolt.Options{BytesPerSec: 8 << 20})
	_, dir := newStore(t)
	c := newClient(t)

	selections := []func(*Options){
		func(o *Options) { o.Artifacts, o.Logs = []string{"manifest.json"}, LogsNone },
		func(o *Options) { o.Artifacts, o.Logs = []string{"run_results.json"}, LogsAll },
	}
	var wg sync.WaitGroup
	for _, sel := range selections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := archive.NewLocal(dir)
			if err != nil {
				t.Error(err)
				return
			}
			defer st.Close()
			opts := fastOpts(c, st)
			sel(&opts)
			rep, err := Fetch(context.Background(), bytes.NewReader(payload), opts)
			if err != nil || !rep.Summary.Complete {
				t.Errorf("Fetch: %v, %+v", err, rep)
			}
		}()
	}
	wg.Wait()
	st, _ := newStoreAt(t, dir)
	for _, id := range demoArtifactCommands {
		got := indexedFiles(t, st, indexOf(t, dir, id))
		want := []string{id + "/stderr.log", id + "/stdout.log", "target/manifest.json", "target/run_results.json"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("command %s index (-want +got):\n%s", id, diff)
		}
	}
	// report.json, written last, describes both runs' files.
	rep := readReport(t, dir)
	for _, cmd := range rep.Commands {
		if cmd.Logs == nil {
			t.Errorf("report.json: command %s has no logs", cmd.ID)
		}
	}
	if s := rep.Summary; s.ArtifactsArchived != 4 || s.LogsArchived != 8 {
		t.Errorf("report.json summary = %+v, want 4 artifacts and 8 logs", s)
	}

	srv.ResetStats()
	wide := fetch(t, payload, fastOpts(c, st))
	stats := srv.Stats()
	if n := stats.Requests[fakebolt.RouteGraphQL] + stats.Requests[fakebolt.RouteDownload]; n != 0 || !wide.Summary.Complete {
		t.Errorf("wide run after the two: %d requests (%v), complete %v", n, stats.Requests, wide.Summary.Complete)
	}
	checkArchivedExact(t, dir, demoFolder, run)
}

// A narrower re-run keeps what the index held: its report lists the files
// it did not select as already archived, and the next wide run downloads
// nothing.
func TestFetchNarrowerRerunKeepsIndex(t *testing.T) {
	t.Parallel()
	_, srv, payload := startDemo(t, fakebolt.Options{})
	st, dir := newStore(t)
	c := newClient(t)
	if rep := fetch(t, payload, fastOpts(c, st)); !rep.Summary.Complete {
		t.Fatalf("first run: %+v", rep.Errors)
	}
	before := map[string][]string{}
	for _, id := range demoArtifactCommands {
		before[id] = indexedFiles(t, st, indexOf(t, dir, id))
	}

	narrow := fastOpts(c, st)
	narrow.Artifacts, narrow.Logs = []string{"run_results.json"}, LogsNone
	rep := fetch(t, payload, narrow)
	if !rep.Summary.Complete {
		t.Fatalf("narrow run: %+v", rep.Errors)
	}
	for _, id := range demoArtifactCommands {
		if diff := cmp.Diff(before[id], indexedFiles(t, st, indexOf(t, dir, id))); diff != "" {
			t.Errorf("command %s index after a narrower run (-before +after):\n%s", id, diff)
		}
	}
	for _, cmd := range rep.Commands {
		if cmd.Logs == nil || cmd.Logs.Source != "archive" {
			t.Errorf("narrow report: command %s logs = %+v, want from the archive", cmd.ID, cmd.Logs)
		}
	}
	if s := rep.Summary; s.ArtifactsArchived != 4 || s.ArtifactsReused != 4 {
		t.Errorf("narrow report summary = %+v, want the 4 archived artifacts", s)
	}

	srv.ResetStats()
	fetch(t, payload, fastOpts(c, st))
	if n := srv.Stats().Requests[fakebolt.RouteDownload]; n != 0 {
		t.Errorf("the wide run after a narrower one downloaded %d files", n)
	}
}

// cancelOnCommit cancels the follow-up when the first artifact is archived.
type cancelOnCommit struct {
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelOnCommit) Task(name string) ProgressTask { return commitTask{c, name} }

type commitTask struct {
	c    *cancelOnCommit
	name string
}

func (commitTask) SetTotal(int64) {}
func (commitTask) Add(int64)      {}
func (t commitTask) Done(err error) {
	if err == nil && strings.HasSuffix(t.name, ".json") {
		t.c.once.Do(t.c.cancel)
	}
}

// A cancel in the middle of a follow-up leaves, in every command.json,
// exactly the files committed so far; the next run fetches only the others.
func TestFetchCancelIndexIsCommitted(t *testing.T) {
	t.Parallel()
	run, srv, payload := startDemo(t, fakebolt.Options{BytesPerSec: 3 << 20})
	st, dir := newStore(t)
	c := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := fastOpts(c, st)
	opts.Concurrency = 2 // run_results first, one at a time per command
	opts.Progress = &cancelOnCommit{cancel: cancel}
	rep, err := Fetch(ctx, bytes.NewReader(payload), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Complete {
		t.Fatal("complete after a cancel")
	}
	committed := 0
	for _, cmd := range run.Commands {
		id := itoa(cmd.ID)
		got, want := indexedFiles(t, st, indexOf(t, dir, id)), filesIn(t, dir, id)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("command %s: index vs files on disk (-disk +index):\n%s", id, diff)
		}
		for _, f := range got {
			if strings.HasPrefix(f, "target/") {
				committed++
			}
		}
	}
	if committed == 0 || committed == 4 {
		t.Fatalf("%d artifacts committed before the cancel took effect, want some but not all", committed)
	}
	srv.ResetStats()
	again := fetch(t, payload, fastOpts(c, st))
	if !again.Summary.Complete {
		t.Fatalf("re-run: %+v", again.Errors)
	}
	if n := srv.Stats().Requests[fakebolt.RouteDownload]; n != 4-committed {
		t.Errorf("re-run downloaded %d artifacts, want the %d not committed", n, 4-committed)
	}
	checkArchivedExact(t, dir, demoFolder, run)
}

// Temp files that a killed run left in the run's folder are removed by the
// next run, which holds the folder's lock.
func TestFetchSweepsStaleTempFiles(t *testing.T) {
	t.Parallel()
	run, _, payload := startDemo(t, fakebolt.Options{})
	st, dir := newStore(t)
	for _, p := range []string{demoFolder + "/.boltfetch-tmp-1", demoFolder + "/commands/193442/target/.boltfetch-tmp-2"} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte("left by a SIGKILL"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if rep := fetch(t, payload, fastOpts(newClient(t), st)); !rep.Summary.Complete {
		t.Fatalf("%+v", rep.Errors)
	}
	checkArchivedExact(t, dir, demoFolder, run) // fails on any temp file
}

func newStoreAt(t *testing.T, dir string) (*archive.Local, string) {
	t.Helper()
	st, err := archive.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dir
}

func readReport(t *testing.T, dir string) *Report {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, demoFolder, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := DecodeReport(f)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// An index the archive cannot read is not replaced by an empty one: that
// command fails with a retryable archive error and the others go on. An
// undecodable index starts empty and its files are fetched again.
func TestFetchUnreadableIndex(t *testing.T) {
	t.Parallel()
	_, _, payload := startDemo(t, fakebolt.Options{})
	st, dir := newStore(t)
	unreadable := filepath.Join(dir, demoFolder, "commands/193442/command.json")
	if err := os.MkdirAll(filepath.Join(unreadable, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	garbled := filepath.Join(dir, demoFolder, "commands/193441/command.json")
	os.MkdirAll(filepath.Dir(garbled), 0o755)
	if err := os.WriteFile(garbled, []byte(`{"artifacts": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := fetch(t, payload, fastOpts(newClient(t), st))
	if len(rep.Errors) != 1 {
		t.Fatalf("errors = %+v, want the unreadable index's only", rep.Errors)
	}
	if e := rep.Errors[0]; e.CommandID != "193442" || e.Kind != KindArchive || !e.Retryable() {
		t.Errorf("error = %+v", e)
	}
	if !rep.Retryable() {
		t.Error("report not retryable")
	}
	if fi, err := os.Stat(unreadable); err != nil || !fi.IsDir() {
		t.Errorf("the unreadable index was replaced: %v", err)
	}
	if got := indexedFiles(t, st, indexOf(t, dir, "193441")); len(got) != 4 {
		t.Errorf("the garbled index was not rebuilt: %v", got)
	}
}
