package webhook_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	_ "modernc.org/sqlite"
	"riverqueue.com/riverui"

	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/webhook"
)

// TestRiverUIInBrowser mounts River's real web UI under /ui/ behind the Basic
// auth guard, in front of a real SQLite inbox that the intake has filled, and
// opens it in headless chromium: the page rendered with the credentials lists
// the follow-up jobs and is saved as a screenshot; without them the browser
// gets no job. Skipped where chromium is absent (Debian: apt-get install -y
// chromium).
func TestRiverUIInBrowser(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no chromium on PATH (apt-get install -y chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	dataDir := t.TempDir()
	ib, err := inbox.Open(ctx, inbox.Config{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ib.Close() })

	// The UI reads the inbox's River tables through a client of its own on
	// the same database file (serve wires the inbox's client the same way).
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "inbox.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	log := slog.New(slog.DiscardHandler)
	client, err := river.NewClient(riversqlite.New(db), &river.Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ui, err := riverui.NewHandler(&riverui.HandlerOpts{Endpoints: riverui.NewEndpoints(client, nil), Logger: log, Prefix: "/ui"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ui.Start(ctx); err != nil {
		t.Fatal(err)
	}

	h := newHandler(t, ib, func(c *webhook.Config) { c.UI = ui })
	for _, id := range []int64{700001, 700002, 700003} {
		if w := do(h, request{body: completedPayload(t, id), header: bearer(testToken)}); w.Code != 202 {
			t.Fatalf("run %d: %d %s", id, w.Code, w.Body.String())
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- h.Serve(sctx, ln) }()
	t.Cleanup(func() { stop(); <-served })

	// Chromium refuses fetch() from a page whose URL holds credentials, and
	// headless it cannot answer an auth prompt, so the browser goes through
	// a loopback proxy that adds the Basic credentials to every request, as
	// the browser does once the user has typed them.
	target := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = target.Host
		r.Out.SetBasicAuth("boltfetch", testToken)
	}})
	t.Cleanup(proxy.Close)
	proxyHost := strings.TrimPrefix(proxy.URL, "http://")

	page := func(host string, extra ...string) string {
		u := url.URL{Scheme: "http", Host: host, Path: "/ui/jobs", RawQuery: "state=available"}
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
			"--no-first-run", "--user-data-dir=" + t.TempDir(), "--window-size=1280,900",
			"--virtual-time-budget=15000"}, extra...)
		cmd := exec.CommandContext(ctx, browser, append(args, u.String())...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium: %v\n%s", err, errb.String())
		}
		return out.String()
	}

	dom := page(proxyHost, "--dump-dom")
	for _, want := range []string{"boltfetch_follow_up", "700003"} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the UI does not show %q; rendered DOM (%d bytes):\n%.3000s", want, len(dom), dom)
		}
	}
	if strings.Contains(dom, `"api_url"`) || strings.Contains(dom, "uany7edagtovarzx") {
		t.Error("the UI shows the payload (its api_url carries a token)")
	}

	shot := filepath.Join(t.TempDir(), "riverui.png")
	page(proxyHost, "--screenshot="+shot)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 5000 {
		t.Fatalf("no screenshot: %v", err)
	}
	if dir := os.Getenv("BOLTFETCH_SCREENSHOT_DIR"); dir != "" {
		b, _ := os.ReadFile(shot)
		_ = os.WriteFile(filepath.Join(dir, "riverui.png"), b, 0o644)
	}

	// Straight to the server, without credentials: the guard's 401, no UI.
	if dom := page(ln.Addr().String(), "--dump-dom"); strings.Contains(dom, "boltfetch_follow_up") || strings.Contains(dom, "config__json") {
		t.Fatalf("the UI was served without credentials:\n%.2000s", dom)
	}
}
