package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// runPullCLI runs boltfetch with args and returns the exit code and outputs.
func runPullCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &iostreams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

// tree maps every file under dir (slash paths) to its content.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func decodeJSON(t *testing.T, name string, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// TestFetchRunIDSameAsPayload: following a run up from the API alone gives
// the same archive files and the same analysis as following up its webhook
// payload; only payload.json differs (and what the API cannot say about the
// run: its uuid, run_url and times).
func TestFetchRunIDSameAsPayload(t *testing.T) {
	t.Parallel()
	srv, payload, host := fakeForCLI(t, nil)
	a, b := t.TempDir(), t.TempDir()
	cred := []string{"--api-key", "k", "--api-secret", "s", "--api-endpoint", srv.APIURL()}
	if code, _, errs := runPullCLI(t, append([]string{"fetch", "--out", a, "--allow-host", host}, append(cred, payload)...)...); code != exitOK {
		t.Fatalf("fetch payload: exit %d\n%s", code, errs)
	}
	code, stdout, errs := runPullCLI(t, append([]string{"fetch", "--out", b, "--run-id", "63187", "--schedule", "daily_run", "--workspace", "demo-jaffle"}, cred...)...)
	if code != exitOK {
		t.Fatalf("fetch --run-id: exit %d\n%s\n%s", code, stdout, errs)
	}
	if !strings.Contains(stdout, "Everything was fetched") {
		t.Errorf("report:\n%s", stdout)
	}
	ta, tb := tree(t, a), tree(t, b)
	var names []string
	for name := range ta {
		names = append(names, name)
		if _, ok := tb[name]; !ok {
			t.Errorf("%s archived from the payload but not from the API", name)
		}
	}
	for name := range tb {
		if _, ok := ta[name]; !ok {
			t.Errorf("%s archived from the API but not from the payload", name)
		}
	}
	if len(names) < 10 {
		t.Fatalf("only %d files archived: %v", len(names), names)
	}
	const folder = "demo-jaffle/daily_run/63187/"
	for _, name := range names {
		switch {
		case name == folder+"payload.json":
			p := decodeJSON(t, name, tb[name])
			if p["source"] != "api" || p["requested"].(map[string]any)["run_id"] != float64(63187) {
				t.Errorf("pulled payload.json does not say where it came from: %s", tb[name])
			}
			if bytes.Equal(ta[name], tb[name]) {
				t.Error("payload.json is the same both ways")
			}
		case name == folder+"report.md":
			// Names the run's uuid and run_url, which only the webhook has.
		case name == folder+"report.json":
			ra, rb := decodeJSON(t, name, ta[name]), decodeJSON(t, name, tb[name])
			if d := cmp.Diff(ra["commands"], rb["commands"]); d != "" {
				t.Errorf("report.json commands (analysis included) differ (-payload +api):\n%s", d)
			}
			sa, sb := ra["summary"].(map[string]any), rb["summary"].(map[string]any)
			delete(sa, "duration_ms")
			delete(sb, "duration_ms")
			if d := cmp.Diff(sa, sb); d != "" {
				t.Errorf("summary differs:\n%s", d)
			}
			runA, runB := ra["run"].(map[string]any), rb["run"].(map[string]any)
			for _, k := range []string{"id", "status", "schedule_name", "api_host"} {
				if runA[k] != runB[k] {
					t.Errorf("run.%s: %v from the payload, %v from the API", k, runA[k], runB[k])
				}
			}
			if runA["workspace"].(map[string]any)["name"] != runB["workspace"].(map[string]any)["name"] {
				t.Errorf("workspace differs: %v / %v", runA["workspace"], runB["workspace"])
			}
			if len(ra["errors"].([]any)) != 0 || rb["summary"].(map[string]any)["analyses"] != float64(2) {
				t.Errorf("not a complete follow-up with two analyses: %v", rb["summary"])
			}
		case strings.HasSuffix(name, "/command.json"):
			ca, cb := decodeJSON(t, name, ta[name]), decodeJSON(t, name, tb[name])
			// command.json is updated as each file is committed: its
			// order is the order the downloads ended in.
			for _, c := range []map[string]any{ca, cb} {
				delete(c, "fetched_at")
				if arts, ok := c["artifacts"].([]any); ok {
					sort.Slice(arts, func(i, j int) bool {
						return fmt.Sprint(arts[i].(map[string]any)["path"]) < fmt.Sprint(arts[j].(map[string]any)["path"])
					})
				}
			}
			if d := cmp.Diff(ca, cb); d != "" {
				t.Errorf("%s differs (-payload +api):\n%s", name, d)
			}
		default:
			if !bytes.Equal(ta[name], tb[name]) {
				t.Errorf("%s differs", name)
			}
		}
	}
}

func TestFetchRunIDBadInput(t *testing.T) {
	t.Parallel()
	srv := fakebolt.New(fakebolt.Options{APIKey: "k", APISecret: "s"})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	running := demodata.Run()
	running.ID, running.Status = 70001, "running"
	for i := range running.Commands {
		running.Commands[i].ID += 1000000
		for j := range running.Commands[i].Resources {
			running.Commands[i].Resources[j].ID += 1000000
		}
	}
	srv.AddRun(running)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		endpoint string // default: the fake's
	}{
		{"unknown run", []string{"--run-id", "424242"}, exitBadInput, "", "run 424242 is unknown", ""},
		{"zero run", []string{"--run-id", "0"}, exitBadInput, "", "positive", ""},
		{"running", []string{"--run-id", "70001"}, exitOK, "Run 70001 is RUNNING: not finished; nothing to fetch", "", ""},
		{"running json", []string{"--run-id", "70001", "--format", "json"}, exitOK, `"nothing_to_fetch": true`, "", ""},
		{"payload too", []string{"--run-id", "1", "payload.json"}, exitBadInput, "", "takes no payload", ""},
		{"schedule without run id", []string{"--schedule", "x", "payload.json"}, exitBadInput, "", "only applies with --run-id", ""},
		{"no endpoint", []string{"--run-id", "63187"}, exitBadInput, "", "--api-endpoint", "-"},
		{"plain http to a remote host", []string{"--run-id", "63187"}, exitBadInput, "", "https", "http://api.example.com/api/v1/t0kenvalue/graphql"},
		{"userinfo", []string{"--run-id", "63187"}, exitBadInput, "", "userinfo", "https://me:pw@api.paradime.io/api/v1/t0kenvalue/graphql"},
		{"non-ascii host", []string{"--run-id", "63187"}, exitBadInput, "", "api.parad", "https://api.paradíme.io/api/v1/t0kenvalue/graphql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			ep := srv.APIURL()
			switch tt.endpoint {
			case "-":
				ep = ""
			case "":
			default:
				ep = tt.endpoint
			}
			args := append([]string{"fetch", "--out", out, "--api-key", "k", "--api-secret", "s", "--api-endpoint", ep}, tt.args...)
			if ep == "" {
				args = append([]string{"fetch", "--out", out, "--api-key", "k", "--api-secret", "s"}, tt.args...)
			}
			var outb, errb bytes.Buffer
			code := run(args, &iostreams{In: strings.NewReader(""), Out: &outb, Err: &errb})
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, outb.String(), errb.String())
			}
			if !strings.Contains(outb.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout lacks %q or stderr lacks %q\nstdout:\n%s\nstderr:\n%s", tt.stdout, tt.stderr, outb.String(), errb.String())
			}
			if strings.Contains(outb.String()+errb.String(), "t0kenvalue") || strings.Contains(outb.String()+errb.String(), "/api/v1/fake") {
				t.Errorf("the endpoint token is shown:\n%s%s", outb.String(), errb.String())
			}
			if files := tree(t, out); len(files) != 0 {
				t.Errorf("%d files written for bad input: %v", len(files), files)
			}
		})
	}
}

// tinyArtifacts is a real two-node dbt pair (one error, one skip).
var (
	cliManifest = []byte(`{"metadata":{"dbt_version":"1.8.0","invocation_id":"t"},"nodes":{"model.p.a":{"unique_id":"model.p.a","resource_type":"model","name":"a","depends_on":{"nodes":[]}},"model.p.b":{"unique_id":"model.p.b","resource_type":"model","name":"b","depends_on":{"nodes":["model.p.a"]}}},"parent_map":{"model.p.a":[],"model.p.b":["model.p.a"]}}`)
	cliResults  = []byte(`{"metadata":{"dbt_version":"1.8.0","invocation_id":"t"},"results":[{"unique_id":"model.p.a","status":"error","message":"boom"},{"unique_id":"model.p.b","status":"skipped","message":null}],"elapsed_time":1}`)
)

func TestBackfillCLI(t *testing.T) {
	t.Parallel()
	srv := fakebolt.New(fakebolt.Options{APIKey: "k", APISecret: "s"})
	newest := time.Now().Add(-30 * time.Minute).UTC()
	runs := fakebolt.TinyRuns(fakebolt.TinyRunsOptions{N: 30, Schedule: "hourly", Newest: newest, Every: time.Hour,
		Manifest: cliManifest, RunResults: cliResults, Status: "failed"})
	runs[29].Status = "running"
	runs[28].Commands[0].Resources[1].Missing = true // its run_results was never uploaded
	srv.AddRuns(runs)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	out := t.TempDir()
	base := []string{"backfill", "--out", out, "--api-key", "k", "--api-secret", "s", "--api-endpoint", srv.APIURL(), "--workspace", "tiny-ws"}

	// 30 runs, 30 min to 29.5 h old; --since 20h keeps the 20 newest.
	code, stdout, stderr := runPullCLI(t, append(base, "--schedule", "hourly", "--since", "20h", "--dry-run")...)
	if code != exitOK || !strings.Contains(stdout, "20 runs found; 0 already archived, 1 not finished, 19 would be followed up (dry run)") ||
		strings.Count(stdout, "would fetch run") != 19 {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if files := tree(t, out); len(files) != 0 {
		t.Fatalf("a dry run wrote %d files", len(files))
	}

	code, stdout, stderr = runPullCLI(t, append(base, "--schedule", "hourly", "--since", "20h", "--runs-concurrency", "3")...)
	if code != exitPartial || !strings.Contains(stdout, "20 runs found; 0 already archived, 18 followed up, 1 failed, 1 not finished") ||
		!strings.Contains(stdout, "failed: run 1028") {
		t.Fatalf("first backfill: exit %d\n%s\n%s", code, stdout, stderr)
	}
	srv.ResetStats()
	code, stdout, stderr = runPullCLI(t, append(base, "--schedule", "hourly", "--since", "20h", "--format", "json")...)
	var sum struct {
		Found, AlreadyArchived, FollowedUp, Failed, NotFinished int
	}
	if err := json.Unmarshal([]byte(stdout), &struct {
		Found           *int `json:"found"`
		AlreadyArchived *int `json:"already_archived"`
		FollowedUp      *int `json:"followed_up"`
		Failed          *int `json:"failed"`
		NotFinished     *int `json:"not_finished"`
	}{&sum.Found, &sum.AlreadyArchived, &sum.FollowedUp, &sum.Failed, &sum.NotFinished}); err != nil {
		t.Fatalf("json summary: %v\n%s", err, stdout)
	}
	// The run with the missing artifact is tried again (and fails again);
	// everything else is already archived.
	if code != exitPartial || sum != (struct{ Found, AlreadyArchived, FollowedUp, Failed, NotFinished int }{20, 18, 0, 1, 1}) {
		t.Errorf("second backfill: exit %d, %+v\n%s", code, sum, stderr)
	}
	// The failed run's manifest is verified and reused; its run_results is
	// asked for again and still missing: nothing is downloaded.
	if d := srv.Stats().Requests["download"]; d != 0 {
		t.Errorf("second backfill downloaded %d artifacts, want 0", d)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"empty schedule", []string{"--schedule", "nobody"}, exitOK, "0 runs found", ""},
		{"since in the future", []string{"--schedule", "hourly", "--since", "2999-01-01"}, exitBadInput, "", "in the future"},
		{"since unparseable", []string{"--schedule", "hourly", "--since", "yesterday"}, exitBadInput, "", "--since \"yesterday\" is neither"},
		{"since negative", []string{"--schedule", "hourly", "--since", "-3d"}, exitBadInput, "", "--since"},
		{"until before since", []string{"--schedule", "hourly", "--since", "2d", "--until", "3d"}, exitBadInput, "", "is not after --since"},
		{"runs concurrency", []string{"--runs-concurrency", "0"}, exitBadInput, "", "--runs-concurrency"},
		{"argument", []string{"payload.json"}, exitBadInput, "", "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runPullCLI(t, append(base, tc.args...)...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"2w":                   now.Add(-14 * 24 * time.Hour),
		"1.5d":                 now.Add(-36 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"36h":                  now.Add(-36 * time.Hour),
		"2024-05-01":           time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		"2024-05-01T10:00:00Z": time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		"2024-05-01 10:00:00":  time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "0d", "-1h", "0s", "yesterday", "2024-13-01", "7 days", "1e9d"} {
		if _, err := parseWhen(in, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", in)
		}
	}
}

// FuzzParseWhen: --since and --until never panic, and a success is never a
// zero time.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"7d", "36h", "2024-05-01", "2024-05-01T10:00:00Z", "-1d", "1e308d"} {
		f.Add(s)
	}
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := parseWhen(s, now); err == nil && got.IsZero() {
			t.Fatalf("parseWhen(%q) gave the zero time", s)
		}
	})
}

// TestBackfillProgressOnTTY: on a terminal, stderr shows runs done / total
// and the summary stays alone on stdout.
func TestBackfillProgressOnTTY(t *testing.T) {
	t.Parallel()
	srv := fakebolt.New(fakebolt.Options{APIKey: "k", APISecret: "s"})
	runs := fakebolt.TinyRuns(fakebolt.TinyRunsOptions{N: 3, Schedule: "hourly", Newest: time.Now().Add(-time.Hour).UTC(),
		Manifest: cliManifest, RunResults: cliResults, Status: "failed"})
	srv.AddRuns(runs)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	var out, errb bytes.Buffer
	code := run([]string{"backfill", "--out", t.TempDir(), "--api-key", "k", "--api-secret", "s", "--api-endpoint", srv.APIURL(), "--schedule", "hourly"},
		&iostreams{In: strings.NewReader(""), Out: &out, Err: &errb, ErrTTY: true})
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "runs") || !strings.Contains(errb.String(), "3 / 3") {
		t.Errorf("no runs progress on the terminal:\n%q", errb.String())
	}
	if got := out.String(); !strings.HasPrefix(got, "Backfill of schedule hourly") || strings.Count(got, "\n") != 1 {
		t.Errorf("stdout:\n%s", got)
	}
}

// TestFetchRunIDUnusableOutFirst: fetch --run-id finds an unusable --out or
// OpenLineage configuration before its first request to the API, as fetch
// of a payload file does: exit 2, and the API never asked.
func TestFetchRunIDUnusableOutFirst(t *testing.T) {
	t.Parallel()
	unwritable := t.TempDir()
	if os.Geteuid() == 0 {
		if runtime.GOOS != "linux" {
			t.Skip("needs /proc to find an unwritable folder as root")
		}
		unwritable = "/proc/self"
	} else if err := os.Chmod(unwritable, 0o555); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		out    string
		extra  []string
		stderr string
	}{
		{"unwritable out", unwritable, nil, "the archive folder is not writable"},
		{"two lineage sinks", "", []string{"--openlineage-file", "x.ndjson", "--openlineage-url", "http://127.0.0.1:1/api/v1/lineage"}, "give one of them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakebolt.New(fakebolt.Options{APIKey: "k", APISecret: "s"})
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			srv.AddRun(demodata.Run())
			out := tt.out
			if out == "" {
				out = t.TempDir()
			}
			args := append([]string{"fetch", "--out", out, "--api-key", "k", "--api-secret", "s", "--api-endpoint", srv.APIURL(),
				"--run-id", fmt.Sprint(demodata.Run().ID)}, tt.extra...)
			var outb, errb bytes.Buffer
			code := run(args, &iostreams{In: strings.NewReader(""), Out: &outb, Err: &errb, Getenv: noEnv})
			if code != exitBadInput {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitBadInput, errb.String())
			}
			if !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.stderr)
			}
			for route, n := range srv.Stats().Requests {
				if n != 0 {
					t.Errorf("%d requests to %s before the configuration was found unusable", n, route)
				}
			}
		})
	}
}
