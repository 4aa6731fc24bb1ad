package pull_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
	"github.com/boltfetch/boltfetch/pull"
)

const key, secret = "pull-key-1", "pull-secret-1"

// A tiny but real dbt pair: one model that failed, one model it skipped.
var (
	tinyManifest = []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json","dbt_version":"1.8.0","invocation_id":"tiny-1"},
"nodes":{"model.p.a":{"unique_id":"model.p.a","resource_type":"model","name":"a","package_name":"p","original_file_path":"models/a.sql","depends_on":{"nodes":[]}},
"model.p.b":{"unique_id":"model.p.b","resource_type":"model","name":"b","package_name":"p","original_file_path":"models/b.sql","depends_on":{"nodes":["model.p.a"]}}},
"parent_map":{"model.p.a":[],"model.p.b":["model.p.a"]}}`)
	tinyRunResults = []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json","dbt_version":"1.8.0","invocation_id":"tiny-1"},
"results":[{"unique_id":"model.p.a","status":"error","message":"boom","execution_time":0.1},{"unique_id":"model.p.b","status":"skipped","message":null,"execution_time":0}],"elapsed_time":0.2}`)
)

// env is a fake Bolt API, a client for it, an archive and the follow-up
// function the CLI wires (fetcher.Fetch).
type env struct {
	fake  *fakebolt.Server
	api   *client.Client
	store *archive.Local
	dir   string
}

func newEnv(t *testing.T, runs []fakebolt.Run) *env {
	t.Helper()
	fake := fakebolt.New(fakebolt.Options{APIKey: key, APISecret: secret})
	fake.AddRuns(runs)
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	api, err := client.New(client.Config{
		Endpoint: fake.APIURL(), APIKey: key, APISecret: secret,
		RequestTimeout: 10 * time.Second, Timeout: 30 * time.Second,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := archive.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &env{fake: fake, api: api, store: store, dir: dir}
}

func (e *env) followUp(logs fetcher.LogsMode) pull.FollowUp {
	return func(ctx context.Context, runID int64, payload []byte) (bool, error) {
		rep, err := fetcher.Fetch(ctx, bytes.NewReader(payload), fetcher.Options{
			Client: e.api, Archive: e.store, Concurrency: 8, Logs: logs,
		})
		if err != nil {
			return false, err
		}
		return rep.Summary.Complete, nil
	}
}

func tiny(n int, newest time.Time) []fakebolt.Run {
	return fakebolt.TinyRuns(fakebolt.TinyRunsOptions{
		N: n, Schedule: "hourly", Newest: newest, Every: time.Hour,
		Manifest: tinyManifest, RunResults: tinyRunResults, Status: "failed",
	})
}

func TestPayloadFromAPI(t *testing.T) {
	run := demodata.Run()
	e := newEnv(t, []fakebolt.Run{run})
	ctx := context.Background()
	raw, err := pull.Payload(ctx, e.api, run.ID, pull.RunInfo{APIURL: e.fake.APIURL(), Schedule: "daily_run", Workspace: "demo-jaffle"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Source    string `json:"source"`
		Requested struct {
			RunID    int64  `json:"run_id"`
			Schedule string `json:"schedule"`
		} `json:"requested"`
		APIURL   string `json:"api_url"`
		Status   string `json:"status"`
		State    string `json:"state"`
		Commands []struct {
			ID        int64  `json:"id"`
			Status    string `json:"status"`
			APIQuery  string `json:"api_query"`
			Resources []struct {
				ID            int64  `json:"id"`
				Path          string `json:"path"`
				ResourceQuery string `json:"resource_query"`
			} `json:"json_resources"`
		} `json:"commands"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Source != "api" || got.Requested.RunID != run.ID || got.Requested.Schedule != "daily_run" ||
		got.APIURL != e.fake.APIURL() || got.Status != "failed" || got.State != "FAILED" {
		t.Errorf("payload header: %+v", got)
	}
	if len(got.Commands) != len(run.Commands) {
		t.Fatalf("%d commands, want %d", len(got.Commands), len(run.Commands))
	}
	for i, c := range got.Commands {
		want := run.Commands[i]
		if c.ID != want.ID || c.Status != want.Status || len(c.Resources) != len(want.Resources) {
			t.Errorf("command %d: %+v, want id %d status %s", i, c, want.ID, want.Status)
		}
		if err := client.CheckQuery(c.APIQuery); err != nil {
			t.Errorf("the guard refuses the synthesised api_query: %v", err)
		}
		for j, r := range c.Resources {
			if r.ID != want.Resources[j].ID || r.Path != want.Resources[j].Path {
				t.Errorf("resource %+v, want %+v", r, want.Resources[j])
			}
			if err := client.CheckQuery(r.ResourceQuery); err != nil {
				t.Errorf("the guard refuses the synthesised resource_query: %v", err)
			}
		}
	}
	// Only the typed queries were sent: no stdout asked while building it.
	st := e.fake.Stats()
	if st.Operations["boltRunStatus"] != 1 || st.Operations["boltCommand"] != len(run.Commands) || st.Operations["boltResourceUrl"] != 0 {
		t.Errorf("operations: %v", st.Operations)
	}
	p, err := fetcher.ParsePayload(raw)
	if err != nil || p.Started || len(p.Commands) != len(run.Commands) {
		t.Fatalf("the fetcher reads the pulled payload as %+v, %v", p, err)
	}
	if folder := fetcher.RunFolder(p); folder != "demo-jaffle/daily_run/63187" {
		t.Errorf("folder %s", folder)
	}
}

func TestPayloadRefusals(t *testing.T) {
	runs := tiny(3, time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC))
	runs[0].Status, runs[1].Status = "running", "starting"
	e := newEnv(t, runs)
	ctx := context.Background()
	for _, id := range []int64{runs[0].ID, runs[1].ID} {
		_, err := pull.Payload(ctx, e.api, id, pull.RunInfo{APIURL: e.fake.APIURL()})
		var nf *pull.NotFinishedError
		if !errors.Is(err, pull.ErrNotFinished) || !errors.As(err, &nf) || nf.RunID != id {
			t.Errorf("run %d: %v, want ErrNotFinished", id, err)
		}
	}
	for _, id := range []int64{999999, 0, -4} {
		_, err := pull.Payload(ctx, e.api, id, pull.RunInfo{APIURL: e.fake.APIURL()})
		if !errors.Is(err, pull.ErrUnknownRun) {
			t.Errorf("run %d: %v, want ErrUnknownRun", id, err)
		}
	}
	if _, err := pull.Payload(ctx, e.api, runs[2].ID, pull.RunInfo{APIURL: e.fake.APIURL()}); err != nil {
		t.Errorf("finished run: %v", err)
	}
}

// backfillOnce runs a backfill and returns its summary and the ids it
// followed up.
func backfillOnce(t *testing.T, e *env, opts pull.Options) (pull.Summary, []int64) {
	t.Helper()
	var mu sync.Mutex
	var followed []int64
	opts.API, opts.Store, opts.APIURL = e.api, e.store, e.fake.APIURL()
	if opts.FollowUp == nil {
		opts.FollowUp = e.followUp(fetcher.LogsNone)
	}
	opts.OnRun = func(r pull.RunResult) {
		if r.Outcome == pull.OutcomeFollowedUp {
			mu.Lock()
			followed = append(followed, r.Run.ID)
			mu.Unlock()
		}
		if r.Outcome == pull.OutcomeFailed {
			t.Errorf("run %d failed: %v", r.Run.ID, r.Err)
		}
	}
	sum, err := pull.Backfill(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(followed)
	return sum, followed
}

// TestBackfill2500 walks 2,500 runs (three pages of listBoltRuns), with a
// --since cut inside the third page and a third of the window already
// archived: exactly the missing runs are followed up, and a second backfill
// downloads nothing. Under the race detector it runs at a tenth of that
// size, still three pages (see raceScale).
func TestBackfill2500(t *testing.T) {
	const n, inWindow, pageSize = 2500 / raceScale, 2200 / raceScale, 1000 / raceScale
	newest := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	runs := tiny(n, newest)
	e := newEnv(t, runs)
	since := newest.Add(-(inWindow - 1) * time.Hour)
	ctx := context.Background()

	// Archive a third of the window first, through the same follow-up.
	var want, third []int64
	for _, r := range runs {
		switch {
		case r.Start.Before(since):
		case r.ID%3 != 0:
			want = append(want, r.ID)
		default:
			third = append(third, r.ID)
		}
	}
	pre := len(third)
	ids := make(chan int64)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				raw, err := pull.Payload(ctx, e.api, id, pull.RunInfo{APIURL: e.fake.APIURL(), Schedule: "hourly", Workspace: "tiny-ws"})
				if err != nil {
					t.Error(err)
					continue
				}
				if ok, err := e.followUp(fetcher.LogsNone)(ctx, id, raw); !ok || err != nil {
					t.Errorf("pre-archive run %d: %v %v", id, ok, err)
				}
			}
		}()
	}
	for _, id := range third {
		ids <- id
	}
	close(ids)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// One pre-archived run is damaged: it must be followed up again.
	damaged := runs[n-1]
	for i := n - 1; damaged.ID%3 != 0; i-- {
		damaged = runs[i]
	}
	victim := filepath.Join(e.dir, "tiny-ws", "hourly", itoa(damaged.ID), "commands", itoa(damaged.ID*10), "target", "manifest.json")
	if err := os.WriteFile(victim, []byte(`{"tampered":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	want = append(want, damaged.ID)
	slices.Sort(want)
	e.fake.ResetStats()

	sum, followed := backfillOnce(t, e, pull.Options{
		Schedules: []string{"hourly"}, Workspace: "tiny-ws", Since: since, RunsConcurrency: 4, PageSize: pageSize,
	})
	if sum.Found != inWindow || sum.AlreadyArchived != pre-1 || sum.FollowedUp != len(want) || sum.Failed != 0 {
		t.Errorf("summary %+v; want found %d, archived %d, followed up %d", sum, inWindow, pre-1, len(want))
	}
	if !slices.Equal(followed, want) {
		t.Errorf("followed up %d runs, want exactly the %d missing ones", len(followed), len(want))
	}
	st := e.fake.Stats()
	if got := st.Operations["listBoltRuns"]; got != 3 {
		t.Errorf("%d listBoltRuns pages, want 3", got)
	}
	// Two artifacts per missing run; the damaged run's run_results still
	// verifies, so only its manifest is downloaded again.
	if got := st.Requests["download"]; got != 2*len(want)-1 {
		t.Errorf("%d downloads, want %d", got, 2*len(want)-1)
	}

	e.fake.ResetStats()
	sum, followed = backfillOnce(t, e, pull.Options{
		Schedules: []string{"hourly"}, Workspace: "tiny-ws", Since: since, RunsConcurrency: 4, PageSize: pageSize,
	})
	st = e.fake.Stats()
	if sum.AlreadyArchived != inWindow || len(followed) != 0 || st.Requests["download"] != 0 {
		t.Errorf("second backfill: %+v, followed %d, %d downloads; want all archived and 0 downloads", sum, len(followed), st.Requests["download"])
	}
	if st.Requests["graphql"] != 3 {
		t.Errorf("second backfill sent %d API calls, want the 3 listings only", st.Requests["graphql"])
	}
}

func TestBackfillRunningThenFinished(t *testing.T) {
	newest := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	runs := tiny(5, newest)
	runs[4].Status = "running" // the newest
	runs[3].Status = "starting"
	e := newEnv(t, runs)
	opts := pull.Options{Schedules: []string{"hourly"}, Workspace: "tiny-ws", Since: newest.Add(-48 * time.Hour)}
	sum, followed := backfillOnce(t, e, opts)
	if sum.Found != 5 || sum.NotFinished != 2 || sum.FollowedUp != 3 || !slices.Equal(followed, []int64{runs[0].ID, runs[1].ID, runs[2].ID}) {
		t.Fatalf("first: %+v %v", sum, followed)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "tiny-ws", "hourly", itoa(runs[4].ID))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a running run got a folder: %v", err)
	}
	if err := e.fake.SetRunStatus(runs[4].ID, "succeeded", newest.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	sum, followed = backfillOnce(t, e, opts)
	if sum.AlreadyArchived != 3 || sum.NotFinished != 1 || !slices.Equal(followed, []int64{runs[4].ID}) {
		t.Fatalf("after it finished: %+v %v", sum, followed)
	}
}

func TestBackfillWindowAndDryRun(t *testing.T) {
	newest := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	runs := tiny(30, newest)
	e := newEnv(t, runs)
	// Runs 10..19 hours old, at most 4, pages of 3.
	opts := pull.Options{
		Schedules: []string{"hourly"}, Workspace: "tiny-ws", PageSize: 3, DryRun: true,
		Since: newest.Add(-19 * time.Hour), Until: newest.Add(-9*time.Hour - time.Minute), MaxRuns: 4,
		FollowUp: func(context.Context, int64, []byte) (bool, error) { t.Error("dry run followed up"); return false, nil },
	}
	sum, _ := backfillOnce(t, e, opts)
	var ids []int64
	for _, r := range sum.WouldFetch {
		ids = append(ids, r.ID)
	}
	want := []int64{runs[19].ID, runs[18].ID, runs[17].ID, runs[16].ID} // 10, 11, 12, 13 hours old
	if !slices.Equal(ids, want) || sum.Found != 4 {
		t.Errorf("would fetch %v (found %d), want %v", ids, sum.Found, want)
	}
	if st := e.fake.Stats(); st.Requests["download"] != 0 || st.Operations["boltRunStatus"] != 0 {
		t.Errorf("a dry run asked %v", st.Operations)
	}

	// A schedule with no runs: 0 found, no error.
	opts = pull.Options{Schedules: []string{"nobody"}, Since: newest.Add(-time.Hour), DryRun: true}
	if sum, _ := backfillOnce(t, e, opts); sum.Found != 0 {
		t.Errorf("empty schedule: %+v", sum)
	}

	for name, bad := range map[string]pull.Options{
		"no since":      {},
		"until<=since":  {Since: newest, Until: newest},
		"page too big":  {Since: newest, PageSize: 1001},
		"no follow-up":  {Since: newest, API: e.api, Store: e.store},
		"negative runs": {Since: newest, MaxRuns: -1},
	} {
		if bad.API == nil {
			bad.API, bad.Store, bad.FollowUp = e.api, e.store, e.followUp(fetcher.LogsNone)
		}
		if _, err := pull.Backfill(context.Background(), bad); !errors.Is(err, pull.ErrBadOptions) {
			t.Errorf("%s: %v, want ErrBadOptions", name, err)
		}
	}
}

// TestArchivedDetectsDamage checks each way an archived run stops counting
// as complete.
func TestArchivedDetectsDamage(t *testing.T) {
	newest := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	runs := tiny(1, newest)
	e := newEnv(t, runs)
	ctx := context.Background()
	raw, err := pull.Payload(ctx, e.api, runs[0].ID, pull.RunInfo{APIURL: e.fake.APIURL(), Schedule: "hourly", Workspace: "tiny-ws"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e.followUp(fetcher.LogsAll)(ctx, runs[0].ID, raw); !ok || err != nil {
		t.Fatal(ok, err)
	}
	folder := "tiny-ws/hourly/" + itoa(runs[0].ID)
	if ok, why, err := pull.Archived(ctx, e.store, folder); !ok || err != nil {
		t.Fatalf("fresh archive: %v %s %v", ok, why, err)
	}
	if ok, _, _ := pull.Archived(ctx, e.store, "tiny-ws/hourly/1"); ok {
		t.Error("a missing run counts as archived")
	}
	stdout := filepath.Join(e.dir, filepath.FromSlash(folder), "commands", itoa(runs[0].ID*10), "stdout.log")
	if err := os.Remove(stdout); err != nil {
		t.Fatal(err)
	}
	if ok, why, _ := pull.Archived(ctx, e.store, folder); ok || !strings.Contains(why, "stdout.log") {
		t.Errorf("a missing log: %v %q", ok, why)
	}
	report := filepath.Join(e.dir, filepath.FromSlash(folder), "report.json")
	data, _ := os.ReadFile(report)
	if err := os.WriteFile(report, bytes.Replace(data, []byte(`"complete": true`), []byte(`"complete": false`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, why, _ := pull.Archived(ctx, e.store, folder); ok || !strings.Contains(why, "incomplete") {
		t.Errorf("an incomplete report: %v %q", ok, why)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestRequestLimitShared: four runs followed up at once, each with a
// fetcher concurrency of 8, never have more than the shared limit of
// requests in flight (the payloads' API calls, the follow-ups' API calls and
// downloads together).
func TestRequestLimitShared(t *testing.T) {
	newest := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	runs := tiny(12, newest)
	fake := fakebolt.New(fakebolt.Options{APIKey: key, APISecret: secret, Latency: 15 * time.Millisecond})
	fake.AddRuns(runs)
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	limit := fetcher.NewLimiter(3)
	// Requests are counted in flight from the client's side, from the
	// moment they are sent until their answer has been read or closed: the
	// fake's own count also holds a handler between the client's last read
	// and the handler's return, when the client may already have sent its
	// next request.
	counter := &countingTransport{rt: http.DefaultTransport.(*http.Transport).Clone()}
	api, err := client.New(client.Config{
		Endpoint: fake.APIURL(), APIKey: key, APISecret: secret,
		HTTPClient: &http.Client{Transport: counter},
	})
	if err != nil {
		t.Fatal(err)
	}
	store, err := archive.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	downloads := fetcher.NewDownloadClient()
	downloads.Transport = counter
	fopts := fetcher.Options{Client: api, Archive: store, Concurrency: 8, Limiter: limit, HTTPClient: downloads}
	follow := func(ctx context.Context, _ int64, payload []byte) (bool, error) {
		rep, err := fetcher.Fetch(ctx, bytes.NewReader(payload), fopts)
		if err != nil {
			return false, err
		}
		return rep.Summary.Complete, nil
	}
	sum, err := pull.Backfill(context.Background(), pull.Options{
		API: api, Store: store, FollowUp: follow, APIURL: fake.APIURL(), Schedules: []string{"hourly"},
		Since: newest.Add(-24 * time.Hour), RunsConcurrency: 4, Limiter: limit,
	})
	if err != nil || sum.FollowedUp != 12 {
		t.Fatalf("%+v %v", sum, err)
	}
	if peak := counter.peak.Load(); peak > 3 || peak < 2 {
		t.Errorf("peak requests in flight %d, want 2..3 (the shared limit is 3)", peak)
	}
	if n := fake.Stats().PeakOverall; n < 2 {
		t.Errorf("the fake saw at most %d requests at once: nothing ran in parallel", n)
	}
}

// countingTransport counts the requests in flight through it: from
// RoundTrip until the answer's body is read to its end or closed.
type countingTransport struct {
	rt        http.RoundTripper
	cur, peak atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.cur.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	resp, err := c.rt.RoundTrip(r)
	if err != nil {
		c.cur.Add(-1)
		return nil, err
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, done: func() { c.cur.Add(-1) }}
	return resp, nil
}

// countedBody calls done once, at the end of the body or at Close.
type countedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.done)
	}
	return n, err
}

func (b *countedBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}
