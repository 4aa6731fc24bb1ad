package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestFetchDemoRun follows up the demo run end to end: real client, fake
// Bolt API with a real GraphQL engine, real dbt artifacts.
func TestFetchDemoRun(t *testing.T) {
	t.Parallel()
	run, srv, payload := startDemo(t, fakebolt.Options{})
	st, dir := newStore(t)
	rep := fetch(t, payload, fastOpts(newClient(t), st))

	if len(rep.Errors) != 0 || !rep.Summary.Complete {
		t.Fatalf("errors: %+v", rep.Errors)
	}
	folder := "demo-jaffle/daily_run/63187"
	if rep.Archive.Folder != folder {
		t.Fatalf("folder = %q, want %q", rep.Archive.Folder, folder)
	}
	want := []string{
		folder + "/.boltfetch.lock",
		folder + "/commands/193439/command.json",
		folder + "/commands/193439/stderr.log",
		folder + "/commands/193439/stdout.log",
		folder + "/commands/193440/command.json",
		folder + "/commands/193440/stderr.log",
		folder + "/commands/193440/stdout.log",
		folder + "/commands/193441/command.json",
		folder + "/commands/193441/stderr.log",
		folder + "/commands/193441/stdout.log",
		folder + "/commands/193441/target/manifest.json",
		folder + "/commands/193441/target/run_results.json",
		folder + "/commands/193442/command.json",
		folder + "/commands/193442/stderr.log",
		folder + "/commands/193442/stdout.log",
		folder + "/commands/193442/target/manifest.json",
		folder + "/commands/193442/target/run_results.json",
		folder + "/payload.json",
		folder + "/report.json",
		folder + "/report.md",
	}
	if diff := cmp.Diff(want, listFiles(t, dir)); diff != "" {
		t.Errorf("archive layout (-want +got):\n%s", diff)
	}
	checkArchivedExact(t, dir, folder, run)

	build := rep.Commands[3]
	if build.ID != "193442" || build.Status != "failed" || build.ReturnCode == nil || *build.ReturnCode != 1 {
		t.Errorf("build command = %+v", build)
	}
	if build.Logs == nil || build.Logs.Stdout.Path != folder+"/commands/193442/stdout.log" {
		t.Errorf("build logs = %+v", build.Logs)
	}
	if s := rep.Summary; s.Commands != 4 || s.CommandsFailed != 1 || s.ArtifactsArchived != 4 || s.LogsArchived != 8 {
		t.Errorf("summary = %+v", s)
	}
	stats := srv.Stats()
	for _, h := range []string{"Authorization", "X-API-KEY", "X-API-SECRET", "X-Paradime-Workspace"} {
		if stats.HeaderSeen(fakebolt.RouteDownload, h) {
			t.Errorf("a download request carried %s", h)
		}
	}
	if !stats.HeaderSeen(fakebolt.RouteGraphQL, "X-API-KEY") {
		t.Error("the API calls carried no X-API-KEY: is the header check meaningful?")
	}
	if stats.MutationsSeen != 0 {
		t.Errorf("%d mutations sent", stats.MutationsSeen)
	}
	saved, _ := os.ReadFile(filepath.Join(dir, folder, "payload.json"))
	redacted, err := RedactPayload(payload)
	if err != nil {
		t.Fatal(err)
	}
	if string(saved) != string(redacted) {
		t.Error("payload.json is not the payload as received, token redacted")
	}
	if !strings.Contains(string(saved), TokenMarker) {
		t.Error("payload.json has no token marker")
	}
}

// TestFetchIdempotent re-runs the same payload into the same archive:
// nothing is asked or downloaded again, and the report says so.
func TestFetchIdempotent(t *testing.T) {
	t.Parallel()
	run, srv, payload := startDemo(t, fakebolt.Options{})
	st, dir := newStore(t)
	c := newClient(t)
	first := fetch(t, payload, fastOpts(c, st))
	if !first.Summary.Complete {
		t.Fatalf("first fetch: %+v", first.Errors)
	}
	srv.ResetStats()
	second := fetch(t, payload, fastOpts(c, st))
	if !second.Summary.Complete {
		t.Fatalf("second fetch: %+v", second.Errors)
	}
	stats := srv.Stats()
	if n := stats.Requests[fakebolt.RouteGraphQL] + stats.Requests[fakebolt.RouteDownload]; n != 0 {
		t.Errorf("re-run made %d requests (%v), want 0", n, stats.Requests)
	}
	if s := second.Summary; s.ArtifactsReused != 4 || s.BytesDownloaded != 0 || s.Analyses != 2 || s.NodesSkipped != 13 {
		t.Errorf("second summary = %+v", s)
	}
	for _, c := range second.Commands {
		if c.Logs == nil || c.Logs.Source != "archive" {
			t.Errorf("command %s logs = %+v, want reused from the archive", c.ID, c.Logs)
		}
	}

	// A damaged file is fetched again, and only that one.
	victim := filepath.Join(dir, "demo-jaffle/daily_run/63187/commands/193442/target/manifest.json")
	if err := os.WriteFile(victim, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv.ResetStats()
	third := fetch(t, payload, fastOpts(c, st))
	stats = srv.Stats()
	if !third.Summary.Complete || stats.Requests[fakebolt.RouteDownload] != 1 || stats.Requests[fakebolt.RouteField("boltResourceUrl")] != 1 || stats.Requests[fakebolt.RouteField("boltCommand")] != 0 {
		t.Errorf("after damaging one file: complete=%v requests=%v", third.Summary.Complete, stats.Requests)
	}
	checkArchivedExact(t, dir, "demo-jaffle/daily_run/63187", run)
}

// TestFetchReliability: with a quarter of API calls and downloads failing
// and every first URL expired, the report is complete and every archived
// file byte-exact.
func TestFetchReliability(t *testing.T) {
	t.Parallel()
	faults := map[string]map[string]fakebolt.Fault{
		"status": {
			fakebolt.RouteGraphQL:  {Rate: 0.25, Status: 503},
			fakebolt.RouteDownload: {Rate: 0.25, Status: 500},
		},
		"resets and truncation": {
			fakebolt.RouteGraphQL:  {Rate: 0.25, Reset: true},
			fakebolt.RouteDownload: {Rate: 0.25, Truncate: true},
		},
		"rate limits and resets": {
			fakebolt.RouteGraphQL:  {Rate: 0.25, Status: 429, RetryAfter: "0"},
			fakebolt.RouteDownload: {Rate: 0.25, Reset: true},
		},
	}
	for name, fs := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run, srv, _ := startDemo(t, fakebolt.Options{ExpireOnFirstUse: true, Seed: int64(len(name))})
			for route, f := range fs {
				srv.SetFault(route, f)
			}
			followUpsComplete(t, srv, run, newClient(t))
			stats := srv.Stats()
			if stats.FaultsInjected[fakebolt.RouteGraphQL] == 0 || stats.FaultsInjected[fakebolt.RouteDownload] == 0 {
				t.Errorf("no fault was injected (%v, requests %v): the test proves nothing", stats.FaultsInjected, stats.Requests)
			}
			if stats.HeaderSeen(fakebolt.RouteDownload, "X-API-SECRET") || stats.HeaderSeen(fakebolt.RouteDownload, "Authorization") {
				t.Error("a Paradime header reached the artifact host")
			}
		})
	}
}

func TestFetchStartedPayload(t *testing.T) {
	t.Parallel()
	run, srv, _ := startDemo(t, fakebolt.Options{})
	started, err := srv.StartedPayload(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, dir := newStore(t)
	rep := fetch(t, started, fastOpts(newClient(t), st))
	if !rep.NothingToFetch || rep.Event != "bolt.run.started" || !rep.Summary.Complete {
		t.Errorf("report = %+v", rep)
	}
	if n := srv.Stats().Requests[fakebolt.RouteGraphQL]; n != 0 {
		t.Errorf("%d API calls for a started payload", n)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Errorf("archive holds %v", files)
	}
	var b strings.Builder
	rep.WriteText(&b)
	if !strings.Contains(b.String(), "Nothing to fetch") {
		t.Errorf("text report:\n%s", b.String())
	}
}

// TestFetchHostRefused: an api_url outside the allow-list refuses the whole
// payload before any request.
func TestFetchHostRefused(t *testing.T) {
	t.Parallel()
	_, srv, payload := startDemo(t, fakebolt.Options{})
	c := newClient(t, func(cfg *client.Config) { cfg.AllowHosts = nil })
	st, dir := newStore(t)
	_, err := Fetch(context.Background(), strings.NewReader(string(payload)), fastOpts(c, st))
	var hna *client.HostNotAllowedError
	if !errors.As(err, &hna) {
		t.Fatalf("err = %v, want a *client.HostNotAllowedError", err)
	}
	if strings.Contains(err.Error(), "/api/v1/") {
		t.Errorf("the error shows the api_url path (a token): %v", err)
	}
	if n := srv.Stats().Requests[fakebolt.RouteGraphQL]; n != 0 {
		t.Errorf("%d requests sent to a refused host", n)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Errorf("archive holds %v", files)
	}
}

// TestFetchBadOptions: options that cannot work are refused before any
// request, with an *OptionsError (exit 2 in the CLI).
func TestFetchBadOptions(t *testing.T) {
	t.Parallel()
	_, srv, payload := startDemo(t, fakebolt.Options{})
	c := newClient(t)
	for name, mod := range map[string]func(*Options){
		"bad glob": func(o *Options) { o.Artifacts = []string{"target/[abc"} },
		"bad logs": func(o *Options) { o.Logs = "some" },
	} {
		st, dir := newStore(t)
		opts := fastOpts(c, st)
		mod(&opts)
		_, err := Fetch(context.Background(), strings.NewReader(string(payload)), opts)
		var oe *OptionsError
		if !errors.As(err, &oe) {
			t.Errorf("%s: err = %v, want an *OptionsError", name, err)
		}
		if files := listFiles(t, dir); len(files) != 0 {
			t.Errorf("%s: archive holds %v", name, files)
		}
	}
	if n := srv.Stats().Requests[fakebolt.RouteGraphQL]; n != 0 {
		t.Errorf("%d requests sent with unusable options", n)
	}
}

// TestFetchGuardRefusal: a payload whose api_query is a mutation, or asks for
// another command, fails that command only.
func TestFetchGuardRefusal(t *testing.T) {
	t.Parallel()
	_, srv, raw := startDemo(t, fakebolt.Options{})
	payload := string(raw)
	evil := strings.Replace(payload, `query BoltCommand {\n boltCommand(commandId: 193439)`, `mutation BoltCommand {\n cancelBoltRun(scheduleRunId: 63187)`, 1)
	evil = strings.Replace(evil, `boltResourceUrl(resourceId: 1205731)`, `boltResourceUrl(resourceId: 1205743)`, 1)
	if evil == payload {
		t.Fatal("the payload was not altered")
	}
	st, _ := newStore(t)
	rep := fetch(t, []byte(evil), fastOpts(newClient(t), st))
	if rep.Summary.Complete {
		t.Fatal("report complete despite refused queries")
	}
	kinds := map[string]string{}
	for _, e := range rep.Errors {
		kinds[string(e.CommandID)+" "+e.Stage] = e.Kind
	}
	want := map[string]string{"193439 api_query": KindQueryRefused, "193441 resource_query": KindQueryRefused}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if srv.Stats().MutationsSeen != 0 {
		t.Error("a mutation reached the API")
	}
	if rep.Summary.ArtifactsArchived != 3 {
		t.Errorf("siblings were not fetched: %+v", rep.Summary)
	}
}

// gauge counts requests in flight on the client side, from RoundTrip until
// the body is closed, and keeps the peak.
type gauge struct {
	base      http.RoundTripper
	mu        sync.Mutex
	now, peak int
}

func (g *gauge) add(d int) {
	g.mu.Lock()
	g.now += d
	g.peak = max(g.peak, g.now)
	g.mu.Unlock()
}

func (g *gauge) RoundTrip(req *http.Request) (*http.Response, error) {
	g.add(1)
	resp, err := g.base.RoundTrip(req)
	if err != nil {
		g.add(-1)
		return nil, err
	}
	resp.Body = &gaugedBody{ReadCloser: resp.Body, g: g}
	return resp, nil
}

type gaugedBody struct {
	io.ReadCloser
	g    *gauge
	once sync.Once
}

func (b *gaugedBody) Close() error {
	b.once.Do(func() { b.g.add(-1) })
	return b.ReadCloser.Close()
}

// TestFetchConcurrencyLimit: the global limit holds over API calls and
// downloads together, and within it they really overlap.
func TestFetchConcurrencyLimit(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{1, 2, 16} {
		t.Run(itoa(int64(conc)), func(t *testing.T) {
			t.Parallel()
			_, _, payload := startDemo(t, fakebolt.Options{Latency: 30 * time.Millisecond})
			st, _ := newStore(t)
			g := &gauge{base: http.DefaultTransport.(*http.Transport).Clone()}
			c := newClient(t, func(cfg *client.Config) { cfg.HTTPClient = &http.Client{Transport: g} })
			opts := fastOpts(c, st)
			opts.Concurrency = conc
			opts.HTTPClient = &http.Client{Transport: g, CheckRedirect: checkRedirect}
			rep := fetch(t, payload, opts)
			if !rep.Summary.Complete {
				t.Fatalf("errors: %+v", rep.Errors)
			}
			if g.peak > conc {
				t.Errorf("peak %d requests in flight, limit %d", g.peak, conc)
			}
			// 8 tasks (4 log fetches, 4 artifacts), each 30ms+: with room
			// for all, they must overlap.
			if conc >= 8 && g.peak < 4 {
				t.Errorf("peak %d requests in flight with limit %d: not concurrent", g.peak, conc)
			}
		})
	}
}

// TestFetchSelection: --logs failed and --artifacts globs decide what is
// asked for, and nothing else is.
func TestFetchSelection(t *testing.T) {
	t.Parallel()
	run := demodata.Run()
	run.Commands[3].Resources = append(run.Commands[3].Resources, fakebolt.Resource{ID: 1205799, Path: "target/catalog.json", Data: []byte(`{"nodes":{}}`)})
	srv := startFake(t, fakebolt.Options{}, run)
	st, dir := newStore(t)
	opts := fastOpts(newClient(t), st)
	opts.Logs = LogsFailed
	opts.Artifacts = []string{"catalog.json", "target/run_results.json"}
	rep := fetch(t, payloadOf(t, srv, run.ID), opts)
	if !rep.Summary.Complete {
		t.Fatalf("errors: %+v", rep.Errors)
	}
	stats := srv.Stats()
	if n := stats.Requests[fakebolt.RouteField("boltCommand")]; n != 1 {
		t.Errorf("%d boltCommand calls, want 1 (only the failed command)", n)
	}
	if n := stats.Requests[fakebolt.RouteDownload]; n != 3 {
		t.Errorf("%d downloads, want 3 (two run_results and the catalog)", n)
	}
	folder := "demo-jaffle/daily_run/63187/commands/"
	want := []string{
		folder + "193439/command.json", folder + "193440/command.json",
		folder + "193441/command.json", folder + "193441/target/run_results.json",
		folder + "193442/command.json", folder + "193442/stderr.log", folder + "193442/stdout.log",
		folder + "193442/target/catalog.json", folder + "193442/target/run_results.json",
	}
	var got []string
	for _, f := range listFiles(t, dir) {
		if strings.HasPrefix(f, folder) {
			got = append(got, f)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("archived (-want +got):\n%s", diff)
	}
	if rep.Summary.Analyses != 0 {
		t.Errorf("%d analyses without manifests", rep.Summary.Analyses)
	}
}

// TestFetchLogsFallback: when boltCommand returns empty stdout and stderr
// (Paradime's answer for long logs), both streams are rebuilt from the paged
// boltCommandLogs, byte for byte.
func TestFetchLogsFallback(t *testing.T) {
	t.Parallel()
	var stdout, stderr strings.Builder
	for i := range 7 {
		fmt.Fprintf(&stdout, "16:44:%02d  out line %d\n", i, i)
	}
	stdout.WriteString("\n") // an empty line survives the rebuild
	for i := range 5 {
		fmt.Fprintf(&stderr, "err line %d\n", i)
	}
	run := fakebolt.Run{ID: 2, Status: "failed", ScheduleName: "s", Workspace: fakebolt.Workspace{Name: "w"},
		Commands: []fakebolt.Command{{ID: 20, Command: "dbt build", Status: "failed", ReturnCode: 2,
			Stdout: stdout.String(), Stderr: stderr.String(), LogsOnly: true}}}
	srv := startFake(t, fakebolt.Options{LogPageSize: 3}, run)
	st, dir := newStore(t)
	rep := fetch(t, payloadOf(t, srv, 2), fastOpts(newClient(t), st))
	if !rep.Summary.Complete {
		t.Fatalf("errors: %+v", rep.Errors)
	}
	logs := rep.Commands[0].Logs
	if logs == nil {
		t.Fatalf("no logs in the report")
	}
	if logs.Source != "command_logs" {
		t.Errorf("logs source %q, want command_logs", logs.Source)
	}
	for _, f := range []struct {
		name, want string
		rep        *LogFile
	}{{"stdout.log", stdout.String(), logs.Stdout}, {"stderr.log", stderr.String(), logs.Stderr}} {
		got, err := os.ReadFile(filepath.Join(dir, "w/s/2/commands/20", f.name))
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		if string(got) != f.want {
			t.Errorf("%s = %q, want %q", f.name, got, f.want)
		}
		if f.rep == nil || f.rep.Bytes != int64(len(f.want)) {
			t.Errorf("report for %s = %+v, want %d bytes", f.name, f.rep, len(f.want))
		}
	}
	// 8 stdout + 5 stderr lines, 3 a page.
	if n := srv.Stats().Requests[fakebolt.RouteField("boltCommandLogs")]; n != 5 {
		t.Errorf("%d boltCommandLogs pages, want 5", n)
	}
}

// TestFetchOddPayload: duplicate and unusable ids, and a missing
// resource_query, fail their own item only.
func TestFetchOddPayload(t *testing.T) {
	t.Parallel()
	_, _, payload := startDemo(t, fakebolt.Options{})
	p := string(payload)
	p = strings.Replace(p, `"id": 193439`, `"id": 193440`, 1) // git clone now duplicates dbt deps
	p = strings.Replace(p, `"id": 1205731`, `"id": "not-a-number"`, 1)
	p = strings.Replace(p, `"resource_query": "query BoltResourceUrl {\n boltResourceUrl(resourceId: 1205761) {\n ok\n url\n }\n}"`, `"resource_query": ""`, 1)
	st, _ := newStore(t)
	rep := fetch(t, []byte(p), fastOpts(newClient(t), st))
	got := map[string]string{}
	for _, e := range rep.Errors {
		got[string(e.CommandID)+" "+string(e.ResourceID)+" "+e.Stage] = e.Kind
	}
	want := map[string]string{
		// The first command now claims 193440 but its api_query asks for
		// 193439: the guard refuses it. The real 193440 is then a duplicate.
		"193440  api_query":             KindQueryRefused,
		"193440  payload":               KindBadPayload,
		"193441 not-a-number payload":   KindBadPayload,
		"193442 1205761 resource_query": KindQueryRefused,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if s := rep.Summary; s.ArtifactsArchived != 2 || s.LogsArchived != 4 {
		t.Errorf("siblings not fetched: %+v", s)
	}
}

// TestFetchSharedLimiter: follow-ups of different runs that share a
// Limiter stay within it together, complete, and still stream their
// analyses (a manifest never holds the slot its run_results needs).
func TestFetchSharedLimiter(t *testing.T) {
	t.Parallel()
	base := demodata.Run()
	var runs []fakebolt.Run
	for i := range 3 {
		r := base
		r.ID = base.ID + int64(i)
		r.Commands = nil
		for _, c := range base.Commands {
			c.ID += int64(i) * 1000
			var res []fakebolt.Resource
			for _, x := range c.Resources {
				x.ID += int64(i) * 100000
				res = append(res, x)
			}
			c.Resources = res
			r.Commands = append(r.Commands, c)
		}
		runs = append(runs, r)
	}
	srv := startFake(t, fakebolt.Options{Latency: 20 * time.Millisecond, BytesPerSec: 8 << 20}, runs...)
	st, _ := newStore(t)
	g := &gauge{base: http.DefaultTransport.(*http.Transport).Clone()}
	c := newClient(t, func(cfg *client.Config) { cfg.HTTPClient = &http.Client{Transport: g} })
	lim := NewLimiter(2)
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := fastOpts(c, st)
			opts.Concurrency, opts.Limiter = 8, lim
			opts.HTTPClient = &http.Client{Transport: g, CheckRedirect: checkRedirect}
			rep := fetch(t, payloadOf(t, srv, r.ID), opts)
			if !rep.Summary.Complete || rep.Summary.AnalysesStreamed != 2 {
				t.Errorf("run %d: complete %v, %d analyses streamed, errors %+v", r.ID, rep.Summary.Complete, rep.Summary.AnalysesStreamed, rep.Errors)
			}
		}()
	}
	wg.Wait()
	if g.peak > 2 {
		t.Errorf("peak %d requests in flight across runs, shared limit 2", g.peak)
	}
}
