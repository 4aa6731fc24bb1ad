package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
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
		return &fetchOptions{Format: "text", Logs: "all", Concurrency: 8, MaxArtifactSize: "2GiB", MaxPayloadSize: "1MB", MaxNodeSize: "1MiB", LogLevel: "info",
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
	for in, want := range map[string]int64{"2GiB": 2 << 30, "500MB": 500e6, "1048576": 1 << 20, "1.5 KiB": 1536, "10b": 10, "3kb": 3000} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "0", "x", "GiB", "1e30GiB", "0.5B", "0.4"} {
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

// TestFetchExitCodes runs the real command end to end against the fake.
func TestFetchExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		edit     func(string) string
		args     func(payload, host string) []string
		code     int
		stdout   string // substring
		stderr   string // substring
		noSecret bool
	}{
		{"complete", nil, func(p, h string) []string { return []string{"--allow-host", h, p} }, exitOK, "Everything was fetched", "", true},
		{"json report", nil, func(p, h string) []string { return []string{"--format", "json", "--allow-host", h, p} }, exitOK, `"complete": true`, "", true},
		{"markdown", nil, func(p, h string) []string { return []string{"--format", "markdown", "--allow-host", h, p} }, exitOK, "| command | status |", "", true},
		{"unknown resource", func(s string) string {
			return strings.Replace(s, "resourceId: 1205761", "resourceId: 99", 1)
		}, func(p, h string) []string { return []string{"--allow-host", h, p} }, exitPartial, "follow-up error", "1 follow-up error (", true},
		{"resource not on the API", func(s string) string {
			return strings.ReplaceAll(s, "1205761", "99")
		}, func(p, h string) []string { return []string{"--allow-host", h, p} }, exitPartial, "not_found", "", true},
		{"host not allowed", nil, func(p, h string) []string { return []string{p} }, exitBadInput, "", "--allow-host", true},
		{"bad payload", func(string) string { return "{not json" }, func(p, h string) []string { return []string{"--allow-host", h, p} }, exitBadInput, "", "payload", true},
		{"missing payload", nil, func(p, h string) []string { return []string{"--allow-host", h, p + ".nope"} }, exitBadInput, "", "no such file", true},
		{"bad flag", nil, func(p, h string) []string { return []string{"--logs", "some", p} }, exitBadInput, "", "--logs", true},
		{"no credentials", nil, func(p, h string) []string { return []string{"--api-secret", "", p} }, exitBadInput, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, payload, host := fakeForCLI(t, tt.edit)
			var out, errb bytes.Buffer
			args := append([]string{"fetch", "--out", t.TempDir(), "--api-key", "k", "--api-secret", "s"}, tt.args(payload, host)...)
			if tt.name == "no credentials" {
				args = []string{"fetch", "--out", t.TempDir(), payload}
			}
			code := run(args, &iostreams{In: strings.NewReader(""), Out: &out, Err: &errb})
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stdout lacks %q or stderr lacks %q\nstdout:\n%s\nstderr:\n%s", tt.stdout, tt.stderr, out.String(), errb.String())
			}
			if all := out.String() + errb.String(); strings.Contains(all, "/api/v1/fake") || strings.Contains(all, "X-Amz") {
				t.Errorf("output shows a token or presigned query:\n%s", all)
			}
		})
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
		&iostreams{In: bytes.NewReader(raw), Out: &out, Err: &errb})
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
	code := run([]string{"demo", "--out", dir}, &iostreams{Out: &out, Err: &errb})
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
