package fetcher

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

const (
	testKey    = "test-key"
	testSecret = "test-secret-value"
)

// startFake starts the fake Bolt API with runs, closed at the end of the test.
func startFake(tb testing.TB, opts fakebolt.Options, runs ...fakebolt.Run) *fakebolt.Server {
	tb.Helper()
	opts.APIKey, opts.APISecret = testKey, testSecret
	srv := fakebolt.New(opts)
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	for _, r := range runs {
		srv.AddRun(r)
	}
	return srv
}

// newClient returns a real client allowed to talk to the fake on loopback,
// with short retry waits so fault tests stay quick.
func newClient(tb testing.TB, mod ...func(*client.Config)) *client.Client {
	tb.Helper()
	cfg := client.Config{
		APIKey: testKey, APISecret: testSecret,
		AllowHosts:   []string{"127.0.0.1"},
		RetryWaitMin: 5 * time.Millisecond, RetryWaitMax: 50 * time.Millisecond,
		MaxRetries: 8, RetryBudget: 1000,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// newStore opens a fresh local archive.
func newStore(tb testing.TB) (*archive.Local, string) {
	tb.Helper()
	dir := tb.TempDir()
	st, err := archive.NewLocal(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st, dir
}

// payloadOf builds the completed payload of a run on the fake.
func payloadOf(tb testing.TB, srv *fakebolt.Server, runID int64) []byte {
	tb.Helper()
	p, err := srv.CompletedPayload(runID)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func fetch(tb testing.TB, payload []byte, opts Options) *Report {
	tb.Helper()
	rep, err := Fetch(context.Background(), bytes.NewReader(payload), opts)
	if err != nil {
		tb.Fatalf("Fetch: %v", err)
	}
	return rep
}

// fastOpts are Options for tests: quick download backoff.
func fastOpts(c *client.Client, st archive.Store) Options {
	return Options{Client: c, Archive: st, backoff: func(int) time.Duration { return time.Millisecond }}
}

// listFiles lists every file under dir, relative and slash-separated.
func listFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// checkArchivedExact checks every artifact of run, and every command's
// stdout, against its source, byte for byte.
func checkArchivedExact(tb testing.TB, dir, folder string, run fakebolt.Run) {
	tb.Helper()
	for _, c := range run.Commands {
		cdir := filepath.Join(dir, filepath.FromSlash(folder), "commands", itoa(c.ID))
		got, err := os.ReadFile(filepath.Join(cdir, "stdout.log"))
		if err != nil || string(got) != c.Stdout {
			tb.Errorf("command %d stdout.log differs from the source (err %v)", c.ID, err)
		}
		for _, r := range c.Resources {
			got, err := os.ReadFile(filepath.Join(cdir, filepath.FromSlash(r.Path)))
			if err != nil || !bytes.Equal(got, r.Data) {
				tb.Errorf("command %d %s differs from the source (err %v, %d vs %d bytes)", c.ID, r.Path, err, len(got), len(r.Data))
			}
		}
	}
	for _, f := range listFiles(tb, dir) {
		if strings.Contains(f, ".boltfetch-tmp-") {
			tb.Errorf("temp file left behind: %s", f)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// startDemo starts the fake (with opts) serving the demo run, and returns
// the run, the server and the run's completed payload.
func startDemo(tb testing.TB, opts fakebolt.Options) (fakebolt.Run, *fakebolt.Server, []byte) {
	tb.Helper()
	run := demodata.Run()
	srv := startFake(tb, opts, run)
	return run, srv, payloadOf(tb, srv, run.ID)
}

// followUpsComplete follows up run four times with c, each into a fresh
// archive so that enough requests are made for srv's faults to hit every
// route, and checks that each follow-up is complete, analyses the demo run's
// failure and skips, and archives every file byte-exact.
func followUpsComplete(t *testing.T, srv *fakebolt.Server, run fakebolt.Run, c *client.Client) {
	t.Helper()
	for range 4 {
		st, dir := newStore(t)
		rep := fetch(t, payloadOf(t, srv, run.ID), fastOpts(c, st))
		if !rep.Summary.Complete {
			t.Fatalf("incomplete: %+v", rep.Errors)
		}
		if s := rep.Summary; s.Analyses != 2 || s.NodesFailed != 1 || s.NodesSkipped != 13 {
			t.Errorf("analysis after faults: %+v", s)
		}
		checkArchivedExact(t, dir, rep.Archive.Folder, run)
	}
}
