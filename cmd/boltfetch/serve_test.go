package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
	"github.com/boltfetch/boltfetch/webhook"
)

// parseServe parses args with serve's flags, through runF.
func parseServe(t *testing.T, env map[string]string, args ...string) *serveOptions {
	t.Helper()
	streams := &iostreams{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}, Getenv: func(k string) string { return env[k] }}
	var got *serveOptions
	cmd := newServeCmd(streams, func(o *serveOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestServeTakesFetchFlags: serve registers fetch's follow-up flags through
// the same function, so names, defaults and help cannot drift apart.
func TestServeTakesFetchFlags(t *testing.T) {
	t.Parallel()
	io := &iostreams{}
	fetch, serve := newFetchCmd(io, nil).Flags(), newServeCmd(io, nil).Flags()
	fetch.VisitAll(func(f *pflag.Flag) {
		switch f.Name {
		case "format", "fail-on-dbt-failure":
			return // fetch prints a report; serve does not
		case "run-id", "schedule", "workspace":
			return // fetch's pull mode (pull.go); serve reconciles with its --reconcile-* flags
		case "timeout":
			return // serve's is 0: --job-timeout bounds a follow-up (TestServeTimeoutDefault)
		}
		s := serve.Lookup(f.Name)
		if s == nil {
			t.Errorf("serve lacks fetch's --%s", f.Name)
			return
		}
		if s.DefValue != f.DefValue || s.Usage != f.Usage {
			t.Errorf("--%s: serve default %q usage %q, fetch %q %q", f.Name, s.DefValue, s.Usage, f.DefValue, f.Usage)
		}
	})
	for name, def := range map[string]string{
		"listen": ":8080", "workers": "2", "data-dir": "./boltfetch-data", "inbox": "", "max-attempts": "5",
		"job-timeout": "30m0s", "shutdown-timeout": "30s", "retention": "30d", "log-format": "text",
		"token": "[]", "token-file": "", "ui": "false", "api-secret-file": "", "insecure-no-auth": "false", "tls-cert": "", "tls-key": "",
	} {
		if f := serve.Lookup(name); f == nil || f.DefValue != def {
			t.Errorf("--%s: %v, want default %q", name, f, def)
		}
	}
}

// TestServeTimeoutDefault: serve's follow-up --timeout defaults to 0, so
// that --job-timeout (30m by default, or longer) is what bounds a
// follow-up; fetch keeps its 30m; an explicit --timeout still applies.
func TestServeTimeoutDefault(t *testing.T) {
	t.Parallel()
	io := &iostreams{}
	if f := newServeCmd(io, nil).Flags().Lookup("timeout"); f.DefValue != "0s" || !strings.Contains(f.Usage, "--job-timeout") {
		t.Errorf("serve --timeout default %q usage %q, want 0s and a word on --job-timeout", f.DefValue, f.Usage)
	}
	if f := newFetchCmd(io, nil).Flags().Lookup("timeout"); f.DefValue != "30m0s" {
		t.Errorf("fetch --timeout default %q, want 30m0s", f.DefValue)
	}
	dir := t.TempDir()
	base := []string{"--out", dir, "--data-dir", dir, "--insecure-no-auth", "--api-key", "k", "--api-secret", "s"}
	o := parseServe(t, nil, append(base, "--job-timeout", "2h")...)
	sc, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	w, err := newServeWorker(o, sc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.fetch.Timeout != 0 || w.timeout != 0 || sc.inbox.JobTimeout != 2*time.Hour {
		t.Errorf("default: --timeout %s, worker timeout %s, job timeout %s; want 0, 0 and 2h", o.fetch.Timeout, w.timeout, sc.inbox.JobTimeout)
	}
	if o := parseServe(t, nil, append(base, "--timeout", "5m")...); o.fetch.Timeout != 5*time.Minute {
		t.Errorf("--timeout 5m parsed as %s", o.fetch.Timeout)
	}
}

func TestServeConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(tokFile, []byte("file-token-0123456789abcdef\n"), 0o600)
	os.WriteFile(secretFile, []byte("secret-from-file\n"), 0o600)
	creds := map[string]string{"PARADIME_API_KEY": "k", "PARADIME_API_SECRET": "s"}

	o := parseServe(t, creds, "--token", "flag-token-0123456789abcdef", "--token-file", tokFile, "--retention", "7d",
		"--workers", "4", "--max-attempts", "3", "--job-timeout", "10m", "--data-dir", dir)
	sc, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sc.webhook.Tokens, ","); got != "flag-token-0123456789abcdef,file-token-0123456789abcdef" {
		t.Errorf("tokens %q", got)
	}
	if sc.inbox.DataDir != dir || sc.inbox.Workers != 4 || sc.inbox.MaxAttempts != 3 || sc.inbox.JobTimeout != 10*time.Minute || sc.inbox.Retention != 7*24*time.Hour {
		t.Errorf("inbox config %+v", sc.inbox)
	}
	if sc.webhook.MaxPayloadSize != 16<<20 {
		t.Errorf("max payload %d, want fetch's 16MiB", sc.webhook.MaxPayloadSize)
	}

	env := map[string]string{"PARADIME_API_KEY": "k", "PARADIME_API_SECRET_FILE": secretFile,
		"BOLTFETCH_WEBHOOK_TOKEN": "env-token-0123456789abcdef", "BOLTFETCH_INBOX": "postgres://u@h/db"}
	sc, err = parseServe(t, env).config()
	if err != nil {
		t.Fatal(err)
	}
	if sc.fetch.client.APISecret != "secret-from-file" || sc.webhook.Tokens[0] != "env-token-0123456789abcdef" || sc.inbox.PostgresURL != "postgres://u@h/db" {
		t.Errorf("from the environment: secret %q, tokens %q, inbox %q", sc.fetch.client.APISecret, sc.webhook.Tokens, sc.inbox.PostgresURL)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "no webhook token"},
		{[]string{"--insecure-no-auth", "--token", "flag-token-0123456789abcdef"}, "choose one"},
		{[]string{"--insecure-no-auth", "--retention", "0d"}, "--retention"},
		{[]string{"--insecure-no-auth", "--retention", "30s"}, "--retention"},
		{[]string{"--insecure-no-auth", "--workers", "0"}, "--workers 0"},
		{[]string{"--insecure-no-auth", "--max-attempts", "0"}, "--max-attempts"},
		{[]string{"--insecure-no-auth", "--job-timeout", "1ms"}, "--job-timeout"},
		{[]string{"--insecure-no-auth", "--log-format", "xml"}, "--log-format"},
		{[]string{"--insecure-no-auth", "--shutdown-timeout", "0s"}, "--shutdown-timeout"},
		{[]string{"--insecure-no-auth", "--inbox", "mysql://x"}, "--inbox"},
		{[]string{"--insecure-no-auth", "--data-dir", " "}, "--data-dir"},
		{[]string{"--insecure-no-auth", "--concurrency", "0"}, "--concurrency"},
		{[]string{"--token-file", filepath.Join(dir, "none")}, "--token-file"},
		{[]string{"--insecure-no-auth", "--ui"}, "--ui needs a webhook token"},
	} {
		_, err := parseServe(t, creds, tt.args...).config()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want an error about %q", tt.args, err, tt.want)
		}
	}
	// The exit code of a bad flag is 2, before anything listens.
	var out, errb bytes.Buffer
	code := run([]string{"serve", "--listen", "127.0.0.1:0"}, &iostreams{Out: &out, Err: &errb, Getenv: func(string) string { return "" }})
	if code != exitBadInput || !strings.Contains(errb.String(), "no webhook token") {
		t.Errorf("serve without a token: exit %d, %q", code, errb.String())
	}
}

// TestServeFollowUpCompanyToken: with a company token, each follow-up names
// its payload's own workspace, so one receiver serves a whole company.
func TestServeFollowUpCompanyToken(t *testing.T) {
	t.Parallel()
	const token = "prdm_cmp_0123456789abcdef"
	fb := fakebolt.New(fakebolt.Options{Token: token, WorkspaceUID: "ws-b"})
	if err := fb.Start(); err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	m, rr := e2eArtifacts(t)
	start := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	fb.AddRun(fakebolt.Run{ID: 31, Status: "succeeded", ScheduleName: "s", Workspace: fakebolt.Workspace{Name: "b", UID: "ws-b"},
		Start: start, End: start, Commands: []fakebolt.Command{{ID: 310, Command: "dbt run", Status: "succeeded",
			Resources: []fakebolt.Resource{{ID: 3101, Path: "target/manifest.json", Data: m}, {ID: 3102, Path: "target/run_results.json", Data: rr}}}}})
	payload, err := fb.CompletedPayload(31)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	o := parseServe(t, map[string]string{"PARADIME_API_SECRET": token, "PARADIME_WORKSPACE_UID": "ws-a"},
		"--insecure-no-auth", "--out", out, "--allow-host", "127.0.0.1")
	sc, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	store, err := archive.NewLocal(out)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	metrics, _ := webhook.NewMetrics(nil)
	w, err := newServeWorker(o, sc, store, metrics)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.followUp(context.Background(), 31, payload)
	if err != nil || !res.Complete {
		t.Fatalf("follow-up: %+v, %v", res, err)
	}
	for _, h := range fb.Stats().Headers["graphql"] {
		if got := h.Get("X-Paradime-Workspace"); got != "ws-b" {
			t.Errorf("X-Paradime-Workspace %q, want the payload's ws-b", got)
		}
	}
	if !strings.HasSuffix(res.Report, "/b/s/31/report.json") {
		t.Errorf("report %q", res.Report)
	}
	// A payload that cannot be used is failed at once, never retried.
	if _, err := w.followUp(context.Background(), 32, []byte(`not JSON`)); !inbox.IsPermanent(err) {
		t.Errorf("unusable payload: %v, want a permanent error", err)
	}
	evil := bytes.Replace(payload, []byte("127.0.0.1"), []byte("evil.example"), 1)
	if _, err := w.followUp(context.Background(), 31, evil); !inbox.IsPermanent(err) {
		t.Errorf("api_url host not allowed: %v, want a permanent error", err)
	}
	// Each follow-up is counted by its result.
	families, err := metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, mf := range families {
		if mf.GetName() != "boltfetch_followup_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					got[l.GetValue()] += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	if got["done"] != 1 || got["failed"] != 2 {
		t.Errorf("follow-ups by result %v, want 1 done and 2 failed", got)
	}
}

func TestInboxCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	ib, err := inbox.Open(ctx, inbox.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{41, 42} {
		if _, err := ib.Enqueue(ctx, id, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	ib.Close()
	noEnv := func(string) string { return "" }
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(args, &iostreams{Out: &out, Err: &errb, Getenv: noEnv})
		return code, out.String(), errb.String()
	}
	code, out, errs := cli("inbox", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "RUN_ID") || !strings.Contains(out, "42  ") || !strings.Contains(out, "queued") {
		t.Errorf("inbox list: %d %q %q", code, out, errs)
	}
	if i, j := strings.Index(out, "\n42 "), strings.Index(out, "\n41 "); i < 0 || j < i {
		t.Errorf("inbox list not newest first:\n%s", out)
	}
	code, out, _ = cli("inbox", "list", "--data-dir", dir, "--state", "done", "--json")
	if code != 0 || out != "" {
		t.Errorf("inbox list --state done: %d %q", code, out)
	}
	code, out, _ = cli("inbox", "list", "--data-dir", dir, "--json", "--limit", "1")
	if code != 0 || !strings.HasPrefix(out, `{"run_id":42,"state":"queued"`) {
		t.Errorf("inbox list --json: %d %q", code, out)
	}
	if code, _, errs = cli("inbox", "list", "--data-dir", dir, "--state", "bogus"); code != exitBadInput || !strings.Contains(errs, "--state") {
		t.Errorf("bad --state: %d %q", code, errs)
	}
	code, out, errs = cli("inbox", "retry", "--data-dir", dir, "41")
	if code != 0 || !strings.Contains(out, "run 41: queued") {
		t.Errorf("inbox retry: %d %q %q", code, out, errs)
	}
	if code, _, errs = cli("inbox", "retry", "--data-dir", dir, "99"); code != exitBadInput || !strings.Contains(errs, "not in the inbox") {
		t.Errorf("retry unknown run: %d %q", code, errs)
	}
	if code, _, errs = cli("inbox", "retry", "--data-dir", dir, "x"); code != exitBadInput || !strings.Contains(errs, "RUN_ID") {
		t.Errorf("retry bad id: %d %q", code, errs)
	}
}

func TestWordInbox(t *testing.T) {
	t.Parallel()
	err := wordInbox(inbox.ErrLocked)
	if !errors.Is(err, inbox.ErrLocked) || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("locked: %v", err)
	}
}

// TestServeWorkersShareOneRequestLimit: follow-ups side by side share one
// --concurrency limit: the fake never sees more requests at once.
func TestServeWorkersShareOneRequestLimit(t *testing.T) {
	t.Parallel()
	f := newE2EFake(t, 30*time.Millisecond)
	payloads := f.addRuns(t, 9300, 6)
	out := t.TempDir()
	o := parseServe(t, map[string]string{"PARADIME_API_KEY": "e2e-key", "PARADIME_API_SECRET": "e2e-secret"},
		"--insecure-no-auth", "--out", out, "--allow-host", "127.0.0.1", "--concurrency", "2")
	sc, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	store, err := archive.NewLocal(out)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	metrics, _ := webhook.NewMetrics(nil)
	w, err := newServeWorker(o, sc, store, metrics)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for id, p := range payloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res, err := w.followUp(context.Background(), id, p); err != nil || !res.Complete {
				t.Errorf("run %d: %+v, %v", id, res, err)
			}
		}()
	}
	wg.Wait()
	// The fake counts a request until its handler returns, a moment after
	// the client has read the whole answer and given its slot to the next
	// request: one more than the limit may show. Without the shared limit,
	// 6 follow-ups of --concurrency 2 reach 8 to 12.
	if peak := f.fb.Stats().PeakOverall; peak > 3 || peak < 1 {
		t.Errorf("%d requests at once across 6 follow-ups, want at most --concurrency 2 (+1 for the fake's count)", peak)
	}
	checkArchived(t, out, payloads)
}

func TestParseRetention(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "0.5d": 12 * time.Hour, "72h": 72 * time.Hour, " 90m ": 90 * time.Minute} {
		if got, err := parseRetention(in); err != nil || got != want {
			t.Errorf("%q: %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "0d", "30", "1s", "9999d", "NaNd", "Infd", "1e9d", "30 days", "99999999h"} {
		if _, err := parseRetention(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// FuzzParseRetention: any --retention value is refused or a duration within
// the inbox's bounds; it never panics.
func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{"30d", "72h", "0.5d", "1e3d", "-1h", "1m", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseRetention(s)
		if err == nil && (d < inbox.MinRetention || d > maxRetention) {
			t.Errorf("%q: %s accepted", s, d)
		}
	})
}
