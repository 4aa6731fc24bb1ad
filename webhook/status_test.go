package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/webhook"
)

func TestRunStatus(t *testing.T) {
	t.Parallel()
	q := newMemQueue()
	h := newHandler(t, q, func(c *webhook.Config) { c.MaxList = 3 })
	for id := int64(1); id <= 5; id++ {
		do(h, request{body: completedPayload(t, id), header: bearer(testToken)})
	}
	q.setState(2, inbox.StateFailed)
	q.setState(4, inbox.StateFailed)

	w := do(h, request{method: http.MethodGet, target: "/runs/2", header: bearer(testToken)})
	if w.Code != 200 {
		t.Fatalf("/runs/2: %d %s", w.Code, w.Body.String())
	}
	m := decodeBody(t, w)
	for _, k := range []string{"run_id", "state", "attempts", "last_error", "report", "received_at", "finished_at"} {
		if _, ok := m[k]; !ok {
			t.Errorf("/runs/2 lacks %q: %s", k, w.Body.String())
		}
	}
	if m["run_id"] != 2.0 || m["state"] != "failed" {
		t.Errorf("/runs/2: %s", w.Body.String())
	}

	listed := func(target string) []int64 {
		t.Helper()
		w := do(h, request{method: http.MethodGet, target: target, header: bearer(testToken)})
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", target, w.Code, w.Body.String())
		}
		var l struct{ Runs []inbox.RunStatus }
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range l.Runs {
			ids = append(ids, r.RunID)
		}
		return ids
	}
	if got := listed("/runs?state=failed&limit=50"); len(got) != 2 || got[0] != 4 || got[1] != 2 {
		t.Errorf("failed runs: %v, want [4 2]", got)
	}
	if q.lastList.limit != 3 {
		t.Errorf("limit 50 reached the queue as %d, want the cap 3", q.lastList.limit)
	}
	if got := listed("/runs?limit=2"); len(got) != 2 {
		t.Errorf("limit 2: %v", got)
	}
	if got := listed("/runs?state=done&token=" + testToken); got != nil {
		t.Errorf("done runs: %v", got)
	}
	if w := do(h, request{method: http.MethodGet, target: "/runs?state=done", header: bearer(testToken)}); strings.TrimSpace(w.Body.String()) != `{"runs":[]}` {
		t.Errorf("an empty list is %s", w.Body.String())
	}

	for _, tt := range []struct {
		target string
		method string
		header map[string]string
		status int
	}{
		{"/runs/99", "", bearer(testToken), 404},
		{"/runs/abc", "", bearer(testToken), 400},
		{"/runs/-1", "", bearer(testToken), 400},
		{"/runs/2", "", nil, 401},
		{"/runs/2", "", bearer("not-the-token-at-all"), 401},
		{"/runs", "", nil, 401},
		{"/runs/2", http.MethodPost, bearer(testToken), 405},
		{"/runs", http.MethodDelete, bearer(testToken), 405},
		{"/runs?state=bogus", "", bearer(testToken), 400},
		{"/runs?limit=0", "", bearer(testToken), 400},
		{"/runs?limit=x", "", bearer(testToken), 400},
		{"/nowhere", "", nil, 404},
	} {
		m := tt.method
		if m == "" {
			m = http.MethodGet
		}
		w := do(h, request{method: m, target: tt.target, header: tt.header})
		if w.Code != tt.status {
			t.Errorf("%s %s: %d, want %d: %s", m, tt.target, w.Code, tt.status, w.Body.String())
		}
		decodeBody(t, w)
	}

	q.fail.Store(true)
	if w := do(h, request{method: http.MethodGet, target: "/runs/2", header: bearer(testToken)}); w.Code != 503 {
		t.Errorf("/runs/2 with the queue down: %d", w.Code)
	}
	if w := do(h, request{method: http.MethodGet, target: "/runs", header: bearer(testToken)}); w.Code != 503 {
		t.Errorf("/runs with the queue down: %d", w.Code)
	}
}

func TestProbes(t *testing.T) {
	t.Parallel()
	q := newMemQueue()
	h := newHandler(t, q, nil)
	code := func(target string) int { return do(h, request{method: http.MethodGet, target: target}).Code }
	if code("/healthz") != 200 || code("/readyz") != 200 {
		t.Fatal("probes fail on a healthy queue")
	}
	q.fail.Store(true)
	time.Sleep(1100 * time.Millisecond) // past the reuse of the last ping
	if code("/readyz") != 503 || code("/healthz") != 200 {
		t.Fatal("with the queue down: /readyz must fail, /healthz not")
	}
	q.fail.Store(false)
	h.Drain()
	if !h.Draining() || code("/readyz") != 503 || code("/healthz") != 200 {
		t.Fatal("while draining: /readyz must fail, /healthz not")
	}
}

func TestUIBasicAuth(t *testing.T) {
	t.Parallel()
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("ui " + r.URL.Path))
	})
	h := newHandler(t, newMemQueue(), func(c *webhook.Config) { c.UI = ui; c.UIUser = "ops" })
	for _, tt := range []struct {
		name, target, user, pass string
		basic                    bool
		header                   map[string]string
		status                   int
	}{
		{name: "no credentials", target: "/ui/", status: 401},
		{name: "right", target: "/ui/jobs", user: "ops", pass: testToken, basic: true, status: 418},
		{name: "rotated token", target: "/ui/", user: "ops", pass: testToken2, basic: true, status: 418},
		{name: "bare /ui", target: "/ui", user: "ops", pass: testToken, basic: true, status: 418},
		{name: "wrong user", target: "/ui/", user: "admin", pass: testToken, basic: true, status: 401},
		{name: "wrong password", target: "/ui/", user: "ops", pass: "nope", basic: true, status: 401},
		{name: "bearer does not open the UI", target: "/ui/", header: bearer(testToken), status: 401},
		{name: "query token does not open the UI", target: "/ui/?token=" + testToken, status: 401},
	} {
		r, _ := http.NewRequest(http.MethodGet, tt.target, nil)
		if tt.basic {
			r.SetBasicAuth(tt.user, tt.pass)
		}
		for k, v := range tt.header {
			r.Header.Set(k, v)
		}
		w := newRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.status)
		}
		if tt.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: WWW-Authenticate %q", tt.name, w.Header().Get("WWW-Authenticate"))
		}
	}
}

// TestSecretsNeverLogged drives every path that logs (accepted, refused,
// queue down, debug access log) with tokens in headers, queries and Basic
// auth, and checks that no token (right or wrong) and no api_url token
// reaches the log.
func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	q := newMemQueue()
	stub := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := newHandler(t, q, func(c *webhook.Config) { c.Logger = log; c.UI = stub })
	wrong := "wrong-secret-0123456789"
	body := completedPayload(t, 77)
	do(h, request{target: "/webhooks/paradime?token=" + testToken, body: body})
	do(h, request{target: "/webhooks/paradime?token=" + testToken, body: body})
	do(h, request{target: "/webhooks/paradime?token=" + wrong, body: body})
	do(h, request{body: body, header: bearer(testToken2)})
	do(h, request{body: body, header: bearer(wrong)})
	do(h, request{target: "/webhooks/paradime?token=" + testToken, body: []byte("junk")})
	do(h, request{method: http.MethodGet, target: "/webhooks/paradime?token=" + testToken})
	do(h, request{method: http.MethodGet, target: "/runs/77?token=" + testToken})
	do(h, request{method: http.MethodGet, target: "/runs?state=queued&token=" + wrong})
	r, _ := http.NewRequest(http.MethodGet, "/ui/?x=1", nil)
	r.SetBasicAuth("boltfetch", wrong)
	h.ServeHTTP(newRecorder(), r)
	q.fail.Store(true)
	do(h, request{target: "/webhooks/paradime?token=" + testToken, body: completedPayload(t, 78)})
	do(h, request{method: http.MethodGet, target: "/readyz?token=" + testToken})
	h.Drain()
	do(h, request{target: "/webhooks/paradime?token=" + testToken, body: body})

	out := logs.String()
	if !strings.Contains(out, "?REDACTED") || !strings.Contains(out, "delivery stored") || !strings.Contains(out, "delivery refused") {
		t.Fatalf("the log does not show the paths exercised:\n%s", out)
	}
	for _, secret := range []string{testToken, testToken2, wrong, "uany7edagtovarzx"} {
		if strings.Contains(out, secret) {
			t.Errorf("a secret reached the log: %q in\n%s", secret, out)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	q := newMemQueue()
	ok := webhook.Config{Queue: q, Parse: parseBolt, Tokens: []string{testToken}}
	for _, tt := range []struct {
		name    string
		mutate  func(*webhook.Config)
		want    error
		setting webhook.Setting
		token   bool
	}{
		{name: "no queue", mutate: func(c *webhook.Config) { c.Queue = nil }, want: webhook.ErrNoQueue},
		{name: "no parser", mutate: func(c *webhook.Config) { c.Parse = nil }, want: webhook.ErrNoParse},
		{name: "no token", mutate: func(c *webhook.Config) { c.Tokens = nil }, want: webhook.ErrNoToken},
		{name: "tokens and no auth", mutate: func(c *webhook.Config) { c.InsecureNoAuth = true }, want: webhook.ErrTokenWithNoAuth},
		{name: "UI without auth", mutate: func(c *webhook.Config) { c.Tokens = nil; c.InsecureNoAuth = true; c.UI = http.NotFoundHandler() }, want: webhook.ErrUIWithoutAuth},
		{name: "empty token", mutate: func(c *webhook.Config) { c.Tokens = []string{testToken, ""} }, token: true},
		{name: "short token", mutate: func(c *webhook.Config) { c.Tokens = []string{"short"} }, token: true},
		{name: "token with a space", mutate: func(c *webhook.Config) { c.Tokens = []string{"0123456789 abcdefgh"} }, token: true},
		{name: "half a TLS pair", mutate: func(c *webhook.Config) { c.TLSCertFile = "cert.pem" }, want: webhook.ErrTLSPair},
		{name: "tiny payload cap", mutate: func(c *webhook.Config) { c.MaxPayloadSize = 10 }, setting: webhook.SettingMaxPayloadSize},
		{name: "negative payload cap", mutate: func(c *webhook.Config) { c.MaxPayloadSize = -1 }, setting: webhook.SettingMaxPayloadSize},
		{name: "huge header cap", mutate: func(c *webhook.Config) { c.MaxHeaderBytes = 64 << 20 }, setting: webhook.SettingMaxHeaderBytes},
		{name: "negative read timeout", mutate: func(c *webhook.Config) { c.ReadTimeout = -time.Second }, setting: webhook.SettingReadTimeout},
		{name: "read timeout under header timeout", mutate: func(c *webhook.Config) { c.ReadTimeout = time.Second; c.ReadHeaderTimeout = 2 * time.Second }, setting: webhook.SettingReadTimeout},
		{name: "write timeout under enqueue timeout", mutate: func(c *webhook.Config) { c.WriteTimeout = time.Second; c.EnqueueTimeout = 2 * time.Second }, setting: webhook.SettingWriteTimeout},
		{name: "idle timeout", mutate: func(c *webhook.Config) { c.IdleTimeout = time.Millisecond }, setting: webhook.SettingIdleTimeout},
		{name: "drain delay", mutate: func(c *webhook.Config) { c.DrainDelay = time.Hour }, setting: webhook.SettingDrainDelay},
		{name: "list cap", mutate: func(c *webhook.Config) { c.MaxList = -1 }, setting: webhook.SettingMaxList},
		{name: "default list over cap", mutate: func(c *webhook.Config) { c.MaxList = 10; c.DefaultListLimit = 20 }, setting: webhook.SettingDefaultListLimit},
	} {
		cfg := ok
		tt.mutate(&cfg)
		_, err := webhook.New(cfg)
		var re *webhook.RangeError
		var te *webhook.TokenError
		switch {
		case err == nil:
			t.Errorf("%s: accepted", tt.name)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		case tt.setting != "" && (!errors.As(err, &re) || re.Setting != tt.setting):
			t.Errorf("%s: %v, want a range error on %s", tt.name, err, tt.setting)
		case tt.token && !errors.As(err, &te):
			t.Errorf("%s: %v, want a token error", tt.name, err)
		}
		if err != nil && strings.Contains(err.Error(), testToken) {
			t.Errorf("%s: the error holds the token: %v", tt.name, err)
		}
	}

	open := webhook.Config{Queue: q, Parse: parseBolt, InsecureNoAuth: true}
	h, err := webhook.New(open)
	if err != nil {
		t.Fatalf("explicit no-auth refused: %v", err)
	}
	if w := do(h, request{body: completedPayload(t, 1)}); w.Code != 202 {
		t.Fatalf("no-auth delivery: %d", w.Code)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	_ = os.WriteFile(bad, []byte("not a pem"), 0o600)
	cfg := ok
	cfg.TLSCertFile, cfg.TLSKeyFile = bad, bad
	if _, err := webhook.New(cfg); err == nil {
		t.Error("a broken TLS pair was accepted")
	}

	m, err := webhook.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg = ok
	cfg.Metrics = m
	if _, err := webhook.New(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := webhook.New(cfg); err == nil {
		t.Error("one Metrics serving two handlers was accepted")
	}
}

func TestReadSecretFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := webhook.ReadSecretFile(write("tok", "  s3cret-token-value\n"))
	if err != nil || got != "s3cret-token-value" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := webhook.ReadSecretFile(write("empty", " \n\t\n")); !errors.Is(err, webhook.ErrEmptySecret) {
		t.Errorf("empty file: %v", err)
	}
	if _, err := webhook.ReadSecretFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	_, err = webhook.ReadSecretFile(write("huge", strings.Repeat("x", 70<<10)))
	if err == nil || strings.Contains(err.Error(), "xxxx") {
		t.Errorf("huge file: %v", err)
	}
}
