package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestFetchFlags checks flag parsing apart from the work, through runF.
func TestFetchFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want fetchOptions
	}{
		{[]string{"p.json"}, fetchOptions{
			Payload: "p.json", Out: "./boltfetch-archive", Format: "text", Concurrency: 8,
			Artifacts: []string{"target/manifest.json", "target/run_results.json"}, Logs: "all",
			Timeout: 30 * time.Minute, MaxArtifactSize: "2GiB", MaxPayloadSize: "16MiB", MaxNodeSize: "16MiB", LogLevel: "info",
			RequestTimeout: time.Minute, MaxResponseSize: "64MiB", Retries: 6,
		}},
		{[]string{"--out", "/a", "--format", "json", "--concurrency", "32", "--artifacts", "*", "--logs", "failed",
			"--allow-host", "a.example.com", "--allow-host", "*.b.example.com", "--timeout", "5s",
			"--max-artifact-size", "1GiB", "--api-endpoint", "https://api.paradime.io/api/v1/t/graphql",
			"--api-key", "k", "--api-secret", "s", "--workspace-uid", "w", "--fallback-typed-query", "--log-level", "debug",
			"--request-timeout", "10s", "--max-response-size", "8MiB", "--retries", "0", "-"},
			fetchOptions{
				Payload: "-", Out: "/a", Format: "json", Concurrency: 32, Artifacts: []string{"*"}, Logs: "failed",
				AllowHosts: []string{"a.example.com", "*.b.example.com"}, Timeout: 5 * time.Second,
				MaxArtifactSize: "1GiB", MaxPayloadSize: "16MiB", MaxNodeSize: "16MiB", LogLevel: "debug",
				RequestTimeout: 10 * time.Second, MaxResponseSize: "8MiB", Retries: 0,
				APIEndpoint: "https://api.paradime.io/api/v1/t/graphql", APIKey: "k", APISecret: "s", WorkspaceUID: "w",
				FallbackTypedQuery: true,
			}},
		{[]string{"--artifacts", "target/manifest.json,target/catalog.json", "x"}, fetchOptions{
			Payload: "x", Out: "./boltfetch-archive", Format: "text", Concurrency: 8,
			Artifacts: []string{"target/manifest.json", "target/catalog.json"}, Logs: "all",
			Timeout: 30 * time.Minute, MaxArtifactSize: "2GiB", MaxPayloadSize: "16MiB", MaxNodeSize: "16MiB", LogLevel: "info",
			RequestTimeout: time.Minute, MaxResponseSize: "64MiB", Retries: 6,
		}},
	}
	for _, tt := range tests {
		var got *fetchOptions
		cmd := newFetchCmd(&iostreams{}, func(o *fetchOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SetOut(new(bytes.Buffer))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreUnexported(fetchOptions{})); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestFetchConfig(t *testing.T) {
	t.Parallel()
	base := func() *fetchOptions {
		return &fetchOptions{Out: "archive", Artifacts: fetcher.DefaultArtifacts, Timeout: time.Minute, Format: "text", Logs: "all", Concurrency: 8, MaxArtifactSize: "2GiB", MaxPayloadSize: "1MB", MaxNodeSize: "1MiB", LogLevel: "info",
			RequestTimeout: time.Minute, MaxResponseSize: "64MiB", Retries: 6,
			getenv: func(k string) string {
				return map[string]string{"PARADIME_API_KEY": "env-key", "PARADIME_API_SECRET": "env-secret", "PARADIME_API_ENDPOINT": "https://api.paradime.io/api/v1/x/graphql"}[k]
			}}
	}
	o := base()
	fc, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	if fc.client.APIKey != "env-key" || fc.client.APISecret != "env-secret" || fc.maxArtifact != 2<<30 || fc.maxPayload != 1e6 {
		t.Errorf("from env: %+v", fc)
	}
	if fc.maxNode != 1<<20 {
		t.Errorf("--max-node-size 1MiB gave %d", fc.maxNode)
	}
	if fc.client.RequestTimeout != time.Minute || fc.client.MaxBodyBytes != 64<<20 || fc.client.MaxRetries != 6 {
		t.Errorf("client limits not passed on: %+v", fc.client)
	}
	o = base()
	o.Retries = 0
	if fc, _ := o.config(); fc.client.MaxRetries != -1 {
		t.Errorf("--retries 0 gives MaxRetries %d, want -1 (the client's none)", fc.client.MaxRetries)
	}
	o = base()
	o.APIKey = "flag-key"
	if fc, _ := o.config(); fc.client.APIKey != "flag-key" || fc.client.APISecret != "env-secret" {
		t.Errorf("flags do not win over env: %+v", fc.client)
	}
	for name, mod := range map[string]func(*fetchOptions){
		"format":      func(o *fetchOptions) { o.Format = "yaml" },
		"logs":        func(o *fetchOptions) { o.Logs = "some" },
		"concurrency": func(o *fetchOptions) { o.Concurrency = 0 },
		"size":        func(o *fetchOptions) { o.MaxArtifactSize = "lots" },
		"level":       func(o *fetchOptions) { o.LogLevel = "loud" },
		"retries":     func(o *fetchOptions) { o.Retries = -1 },
		"response":    func(o *fetchOptions) { o.MaxResponseSize = "0" },
		"node":        func(o *fetchOptions) { o.MaxNodeSize = "big" },
		"request":     func(o *fetchOptions) { o.RequestTimeout = 0 },
		"timeout":     func(o *fetchOptions) { o.Timeout = -time.Second },
		"out":         func(o *fetchOptions) { o.Out = "" },
		"out blank":   func(o *fetchOptions) { o.Out = "  " },
		"artifacts":   func(o *fetchOptions) { o.Artifacts = []string{} },
		"artifact":    func(o *fetchOptions) { o.Artifacts = []string{"target/manifest.json", ""} },
		"allow-host":  func(o *fetchOptions) { o.AllowHosts = []string{""} },
	} {
		o := base()
		mod(o)
		if _, err := o.config(); err == nil {
			t.Errorf("%s: bad value accepted", name)
		}
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"2GiB": 2 << 30, "500MB": 500e6, "1048576": 1 << 20, "1.5 KiB": 1536, "10b": 10, "3kb": 3000,
		" 7 MiB ": 7 << 20, "1TiB": 1 << 40, "2TB": 2e12, "0.5KiB": 512, "4194304TiB": 1 << 62, "1B": 1, "007": 7, "4611686018427387903": 1<<62 - 1} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "0", "x", "GiB", "1e30GiB", "0.5B", "0.4", "NaN", "nan", "Inf", "+Inf", "-Inf", "Infinity", "1e3", "+5", "0x10", "1_000",
		"1.", ".5KiB", "1..5", "1.2.3", "5 XB", "5iB", "9223372036854775807", "4EiB", "5000000TiB", "0.0001B", "0MiB", "1KiBKiB", "1 K iB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

// fakeForCLI starts the fake with the demo run and writes its payload.
func fakeForCLI(t *testing.T, edit func(string) string) (srv *fakebolt.Server, payloadPath, host string) {
	t.Helper()
	srv = fakebolt.New(fakebolt.Options{APIKey: "k", APISecret: "s"})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	run := demodata.Run()
	srv.AddRun(run)
	p, err := srv.CompletedPayload(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	s := string(p)
	if edit != nil {
		s = edit(s)
	}
	payloadPath = filepath.Join(t.TempDir(), "payload.json")
	if err := os.WriteFile(payloadPath, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL())
	return srv, payloadPath, u.Hostname()
}

// noEnv is an empty environment: no PARADIME_* variable of the machine
// running the tests reaches the command.
func noEnv(string) string { return "" }

// TestFetchExitCodes runs the real command end to end against the fake, in
// an environment of its own, and checks each code with the message that
// explains it.
func TestFetchExitCodes(t *testing.T) {
	t.Parallel()
	creds := []string{"--api-key", "k", "--api-secret", "s"}
	allow := func(p, h string, more ...string) []string {
		return append(append(append([]string{}, creds...), more...), "--allow-host", h, p)
	}
	tests := []struct {
		name     string
		edit     func(string) string
		args     func(payload, host string) []string
		env      map[string]string
		code     int
		stdout   string // substring
		stderr   string // substring
		requests int    // API requests the fake must have seen; -1: some
	}{
		{"complete", nil, func(p, h string) []string { return allow(p, h) }, nil, exitOK, "Everything was fetched", "", -1},
		{"json report", nil, func(p, h string) []string { return allow(p, h, "--format", "json") }, nil, exitOK, `"complete": true`, "", -1},
		{"markdown", nil, func(p, h string) []string { return allow(p, h, "--format", "markdown") }, nil, exitOK, "| command | status |", "", -1},
		{"dbt failed, flag set", nil, func(p, h string) []string { return allow(p, h, "--fail-on-dbt-failure") }, nil, exitDBTFailed, "Everything was fetched", "dbt failed: 1 command(s) and 1 node(s) failed", -1},
		{"unknown resource", func(s string) string {
			return strings.Replace(s, "resourceId: 1205761", "resourceId: 99", 1)
		}, func(p, h string) []string { return allow(p, h) }, nil, exitPartial, "follow-up error", "1 follow-up error (listed in the report, ", -1},
		{"incomplete wins over dbt failure", func(s string) string {
			return strings.ReplaceAll(s, "1205761", "99")
		}, func(p, h string) []string { return allow(p, h, "--fail-on-dbt-failure") }, nil, exitPartial, "not_found", "follow-up error", -1},
		{"host not allowed", nil, func(p, h string) []string { return append(creds, p) }, nil, exitBadInput, "", "(pass --allow-host 127.0.0.1 to trust it)", 0},
		{"api_url port out of range", func(s string) string {
			return regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "127.0.0.1:99999")
		}, func(p, h string) []string { return allow(p, h) }, nil, exitBadInput, "", "port 99999 is out of range", 0},
		{"bad payload", func(string) string { return "{not json" }, func(p, h string) []string { return allow(p, h) }, nil, exitBadInput, "", "payload", 0},
		{"missing payload", nil, func(p, h string) []string { return allow(p+".nope", h) }, nil, exitBadInput, "", "no such file", 0},
		{"bad flag", nil, func(p, h string) []string { return allow(p, h, "--logs", "some") }, nil, exitBadInput, "", `--logs "some": want all, failed or none`, 0},
		{"negative timeout", nil, func(p, h string) []string { return allow(p, h, "--timeout", "-1s") }, nil, exitBadInput, "", "--timeout -1s", 0},
		{"empty artifacts", nil, func(p, h string) []string { return allow(p, h, "--artifacts", "") }, nil, exitBadInput, "", "--artifacts is empty", 0},
		{"empty allow-host", nil, func(p, h string) []string { return allow(p, h, "--allow-host", "") }, nil, exitBadInput, "", "--allow-host: an empty host", 0},
		{"empty out", nil, func(p, h string) []string { return allow(p, h, "--out", "") }, nil, exitBadInput, "", "--out is empty", 0},
		{"NaN size", nil, func(p, h string) []string { return allow(p, h, "--max-artifact-size", "NaN") }, nil, exitBadInput, "", `--max-artifact-size: "NaN" is not a positive size`, 0},
		{"broad allow-host", nil, func(p, h string) []string { return allow(p, h, "--allow-host", "*.io") }, nil, exitBadInput, "", `--allow-host "*.io": too broad`, 0},
		{"no credentials", nil, func(p, h string) []string { return []string{"--allow-host", h, p} }, nil, exitBadInput, "", "no API secret: set PARADIME_API_SECRET or --api-secret", 0},
		{"no key", nil, func(p, h string) []string { return []string{"--api-secret", "s", "--allow-host", h, p} }, nil, exitBadInput, "", "no API key: set PARADIME_API_KEY or --api-key", 0},
		{"credentials from the env", nil, func(p, h string) []string { return []string{"--allow-host", h, p} },
			map[string]string{"PARADIME_API_KEY": "k", "PARADIME_API_SECRET": "s"}, exitOK, "Everything was fetched", "", -1},
		{"bad endpoint in the env", nil, func(p, h string) []string { return allow(p, h) },
			map[string]string{"PARADIME_API_ENDPOINT": "http://api.paradime.io/api/v1/TOKENzz/graphql"}, exitBadInput, "", "--api-endpoint (or PARADIME_API_ENDPOINT): endpoint (host api.paradime.io): must use https", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, payload, host := fakeForCLI(t, tt.edit)
			var out, errb bytes.Buffer
			args := append([]string{"fetch", "--out", t.TempDir()}, tt.args(payload, host)...)
			env := func(k string) string { return tt.env[k] }
			code := run(args, &iostreams{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: env})
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out.String(), errb.String())
			}
			if tt.stdout == "" && tt.code == exitBadInput && out.Len() != 0 {
				t.Errorf("bad input printed a report:\n%s", out.String())
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout lacks %q or stderr lacks %q\nstdout:\n%s\nstderr:\n%s", tt.stdout, tt.stderr, out.String(), errb.String())
			}
			if all := out.String() + errb.String(); strings.Contains(all, "/api/v1/fake") || strings.Contains(all, "X-Amz") || strings.Contains(all, "TOKENzz") {
				t.Errorf("output shows a token or presigned query:\n%s", all)
			}
			n := srv.Stats().Requests[fakebolt.RouteGraphQL]
			if (tt.requests < 0 && n == 0) || (tt.requests >= 0 && n != tt.requests) {
				t.Errorf("%d API requests, want %d (-1: some)", n, tt.requests)
			}
		})
	}
}

// TestFetchUnwritableOut: an archive folder that cannot take a file is bad
// input found before the first request, and no report is promised.
func TestFetchUnwritableOut(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	if os.Geteuid() == 0 {
		// root writes through any mode bits: use a directory no one can
		// create files in.
		if runtime.GOOS != "linux" {
			t.Skip("needs /proc to find an unwritable folder as root")
		}
		out = "/proc/self"
	} else if err := os.Chmod(out, 0o555); err != nil {
		t.Fatal(err)
	}
	srv, payload, host := fakeForCLI(t, nil)
	var stdout, stderr bytes.Buffer
	code := run([]string{"fetch", "--out", out, "--api-key", "k", "--api-secret", "s", "--allow-host", host, payload},
		&iostreams{In: strings.NewReader(""), Out: &stdout, Err: &stderr, Getenv: noEnv})
	if code != exitBadInput {
		t.Fatalf("exit %d, want %d\n%s", code, exitBadInput, stderr.String())
	}
	if want := "--out " + out + ": the archive folder is not writable"; !strings.Contains(stderr.String(), want) || strings.Contains(stderr.String(), "report.json") {
		t.Errorf("stderr %q, want %q and no report promised", stderr.String(), want)
	}
	if n := srv.Stats().Requests[fakebolt.RouteGraphQL]; n != 0 {
		t.Errorf("%d API requests before the archive was found unwritable", n)
	}
}

// TestFetchStdinJSON: the payload on stdin, a machine-readable report on
// stdout and nothing else there.
func TestFetchStdinJSON(t *testing.T) {
	t.Parallel()
	_, payload, host := fakeForCLI(t, nil)
	raw, _ := os.ReadFile(payload)
	var out, errb bytes.Buffer
	code := run([]string{"fetch", "--format", "json", "--out", t.TempDir(), "--api-key", "k", "--api-secret", "s", "--allow-host", host, "-"},
		&iostreams{In: bytes.NewReader(raw), Out: &out, Err: &errb, Getenv: noEnv})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep fetcher.Report
	dec := json.NewDecoder(&out)
	if err := dec.Decode(&struct {
		Run      *fetcher.RunInfo `json:"run"`
		Commands []map[string]any `json:"commands"`
	}{Run: &rep.Run}); err != nil {
		t.Fatalf("stdout is not one JSON report: %v", err)
	}
	if dec.More() {
		t.Error("stdout holds more than the JSON report")
	}
	if rep.Run.ID != "63187" {
		t.Errorf("run = %+v", rep.Run)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	dir := t.TempDir()
	code := run([]string{"demo", "--out", dir}, &iostreams{Out: &out, Err: &errb, Getenv: noEnv})
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"dbt build", "failed, exit 1", "target/manifest.json", "Everything was fetched"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "demo-jaffle/daily_run/63187/report.json")); err != nil {
		t.Error(err)
	}
}

// TestDemoFlags: --fail-on-dbt-failure exits 3 on the demo run (dbt fails in
// it, the follow-up does not), and an explicitly empty --out is refused.
func TestDemoFlags(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := run([]string{"demo", "--fail-on-dbt-failure", "--format", "json", "--out", t.TempDir()}, &iostreams{Out: &out, Err: &errb, Getenv: noEnv})
	if code != exitDBTFailed || !strings.Contains(errb.String(), "dbt failed: 1 command(s) and 1 node(s) failed") || !strings.Contains(out.String(), `"complete": true`) {
		t.Errorf("exit %d, want %d\nstdout:\n%.300s\nstderr:\n%s", code, exitDBTFailed, out.String(), errb.String())
	}
	errb.Reset()
	if code := run([]string{"demo", "--out", ""}, &iostreams{Out: io.Discard, Err: &errb, Getenv: noEnv}); code != exitBadInput || !strings.Contains(errb.String(), "--out is empty") {
		t.Errorf("--out '': exit %d, stderr %q", code, errb.String())
	}
}
