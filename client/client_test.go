package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Distinctive secrets, grepped for in every error and log line.
const (
	testKey    = "KEYzq81vv0p3"
	testSecret = "SECRETx7y2k9m4"
	testToken  = "TOKENpathq5w8e3"
)

// gqlRequest is what a test server receives.
type gqlRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
	Header    http.Header    `json:"-"`
}

// recorder is a test server's memory of the requests it saw.
type recorder struct {
	mu   sync.Mutex
	reqs []gqlRequest
}

func (r *recorder) add(req *http.Request) gqlRequest {
	var g gqlRequest
	body, _ := io.ReadAll(req.Body)
	_ = json.Unmarshal(body, &g)
	g.Header = req.Header.Clone()
	r.mu.Lock()
	r.reqs = append(r.reqs, g)
	r.mu.Unlock()
	return g
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorder) last() gqlRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

// logBuffer collects slog output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// setup starts a server whose handler gets the attempt number (1-based) and
// returns a client bound to it with millisecond backoffs.
func setup(t *testing.T, h func(w http.ResponseWriter, r *http.Request, attempt int, req gqlRequest), mod func(*Config)) (*Client, *recorder, *logBuffer) {
	t.Helper()
	rec := &recorder{}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := rec.add(r)
		h(w, r, int(n.Add(1)), req)
	}))
	t.Cleanup(srv.Close)
	logs := &logBuffer{}
	cfg := Config{
		Endpoint:       srv.URL + "/api/v1/" + testToken + "/graphql",
		APIKey:         testKey,
		APISecret:      testSecret,
		RequestTimeout: 2 * time.Second,
		Timeout:        10 * time.Second,
		RetryWaitMin:   time.Millisecond,
		RetryWaitMax:   4 * time.Millisecond,
		MaxRetryAfter:  5 * time.Millisecond,
		Logger:         slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec, logs
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func intp(i int) *int       { return &i }
func int64p(i int64) *int64 { return &i }

var sampleCommand = map[string]any{
	"command": "dbt run", "startDttm": "2023-10-15 16:44:29.586366", "endDttm": "2023-10-15 16:44:37.422950",
	"stdout": "Running with dbt=1.7\nDone.", "stderr": "", "returnCode": 1, "scheduleRunId": 63187,
	"resources": []any{map[string]any{"id": 1205743, "path": "target/manifest.json"}, map[string]any{"id": "1205761", "path": "target/run_results.json"}},
}

var wantCommand = &Command{
	Command: "dbt run", StartDttm: "2023-10-15 16:44:29.586366", EndDttm: "2023-10-15 16:44:37.422950",
	Stdout: "Running with dbt=1.7\nDone.", ReturnCode: intp(1), ScheduleRunID: int64p(63187),
	Resources: []Resource{{ID: 1205743, Path: "target/manifest.json"}, {ID: 1205761, Path: "target/run_results.json"}},
}

func commandOK(w http.ResponseWriter) {
	writeJSON(w, 200, map[string]any{"data": map[string]any{"boltCommand": sampleCommand}})
}

func TestCommand(t *testing.T) {
	t.Parallel()
	c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, _ gqlRequest) { commandOK(w) }, nil)
	got, err := c.Command(context.Background(), 193442)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantCommand, got); d != "" {
		t.Errorf("command (-want +got):\n%s", d)
	}
	req := rec.last()
	if !strings.Contains(req.Query, "boltCommand(commandId: $commandId)") {
		t.Errorf("query %q", req.Query)
	}
	if id, _ := req.Variables["commandId"].(float64); id != 193442 {
		t.Errorf("variables %v", req.Variables)
	}
}

func TestAuthHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		key, secret    string
		workspace      string
		want, wantNone []string // "Header: value" / header names absent
	}{
		{"key and secret", testKey, testSecret, "", []string{"X-Api-Key: " + testKey, "X-Api-Secret: " + testSecret}, []string{"Authorization", "X-Paradime-Workspace"}},
		{"workspace token", "", "prdm_wsp_abc123", "", []string{"Authorization: Bearer prdm_wsp_abc123"}, []string{"X-Api-Key", "X-Api-Secret", "X-Paradime-Workspace"}},
		{"workspace token with key", testKey, "prdm_wsp_abc123", "ws1", []string{"Authorization: Bearer prdm_wsp_abc123"}, []string{"X-Api-Key", "X-Api-Secret", "X-Paradime-Workspace"}},
		{"company token", "", "prdm_cmp_xyz789", "n0sg8br1m44k0ryj", []string{"Authorization: Bearer prdm_cmp_xyz789", "X-Paradime-Workspace: n0sg8br1m44k0ryj"}, []string{"X-Api-Key", "X-Api-Secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, _ gqlRequest) { commandOK(w) }, func(cfg *Config) {
				cfg.APIKey, cfg.APISecret, cfg.WorkspaceUID = tt.key, tt.secret, tt.workspace
				cfg.UserAgent = ""
			})
			if _, err := c.Command(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			h := rec.last().Header
			for _, kv := range tt.want {
				k, v, _ := strings.Cut(kv, ": ")
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.wantNone {
				if _, ok := h[http.CanonicalHeaderKey(k)]; ok {
					t.Errorf("%s sent", k)
				}
			}
			if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "boltfetch/") {
				t.Errorf("User-Agent %q", ua)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	bad := []struct {
		cfg     Config
		setting Setting
		missing bool
	}{
		{Config{}, SettingAPISecret, true},
		{Config{APISecret: "s"}, SettingAPIKey, true},
		{Config{APIKey: "k"}, SettingAPISecret, true},
		{Config{APISecret: "prdm_cmp_x"}, SettingWorkspaceUID, true},
		{Config{APIKey: "k", APISecret: "s\r\nX-Evil: 1"}, SettingAPISecret, false},
		{Config{APIKey: "k", APISecret: "s", Endpoint: "https://api.paradime.io:99999/api/v1/TOKENq/graphql"}, SettingEndpoint, false},
		{Config{APIKey: "k", APISecret: "s", Endpoint: "http://api.paradime.io/api/v1/TOKENq/graphql"}, SettingEndpoint, false},
		{Config{APIKey: "k", APISecret: "s", Endpoint: "api.paradime.io/api/v1/TOKENq/graphql"}, SettingEndpoint, false},
	}
	for i, tt := range bad {
		_, err := New(tt.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Setting != tt.setting || ce.Missing != tt.missing {
			t.Errorf("config %d: got %#v, want a *ConfigError about %s (missing %v)", i, err, tt.setting, tt.missing)
			continue
		}
		for _, leak := range []string{"prdm_cmp_x", "X-Evil", "TOKENq"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("config %d: error quotes a secret: %v", i, err)
			}
		}
		if strings.Contains(err.Error(), "--") || strings.Contains(err.Error(), "PARADIME_") {
			t.Errorf("config %d: a library error words the CLI: %v", i, err)
		}
	}
	env := map[string]string{"PARADIME_API_ENDPOINT": " https://api.paradime.io/api/v1/t/graphql ", "PARADIME_API_KEY": "k", "PARADIME_API_SECRET": "s", "PARADIME_WORKSPACE_UID": "w"}
	got := ConfigFromEnv(func(k string) string { return env[k] })
	want := Config{Endpoint: "https://api.paradime.io/api/v1/t/graphql", APIKey: "k", APISecret: "s", WorkspaceUID: "w"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ConfigFromEnv (-want +got):\n%s", d)
	}
	c, err := New(Config{APIKey: "k", APISecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Command(context.Background(), 1); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("no endpoint: got %v", err)
	}
}

// reset closes the connection abruptly (RST), mid-request.
func reset(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

// truncate promises a body and closes after a part of it.
func truncate(t *testing.T, w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"data\":{\"boltCo")
	buf.Flush()
	conn.Close()
}

func TestRetries(t *testing.T) {
	t.Parallel()
	type step func(t *testing.T, w http.ResponseWriter, r *http.Request)
	status := func(code int, hdr ...string) step {
		return func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			writeJSON(w, code, map[string]any{"message": "status " + fmt.Sprint(code)})
		}
	}
	ok := func(t *testing.T, w http.ResponseWriter, r *http.Request) { commandOK(w) }
	gqlErr := func(t *testing.T, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"errors": []any{map[string]any{"message": "boom"}}, "data": nil})
	}
	hang := func(t *testing.T, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	tests := []struct {
		name     string
		steps    []step // the last one repeats
		mod      func(*Config)
		attempts int
		wantErr  any // pointer to a typed error, nil for success
		status   int // expected status in the error, if any
	}{
		{"429 then ok", []step{status(429, "Retry-After", "1"), ok}, nil, 2, nil, 0},
		{"429 huge Retry-After capped", []step{status(429, "Retry-After", "86400"), status(429, "Retry-After", "86400"), ok}, nil, 3, nil, 0},
		{"429 http-date", []step{status(429, "Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)), ok}, nil, 2, nil, 0},
		{"502 then ok", []step{status(502), ok}, nil, 2, nil, 0},
		{"503 then ok", []step{status(503), status(503, "Retry-After", "3"), ok}, nil, 3, nil, 0},
		{"504 then ok", []step{status(504), ok}, nil, 2, nil, 0},
		{"reset then ok", []step{func(t *testing.T, w http.ResponseWriter, r *http.Request) { reset(t, w) }, ok}, nil, 2, nil, 0},
		{"truncated body then ok", []step{func(t *testing.T, w http.ResponseWriter, r *http.Request) { truncate(t, w) }, ok}, nil, 2, nil, 0},
		{"attempt timeout then ok", []step{hang, ok}, func(c *Config) { c.RequestTimeout = 150 * time.Millisecond }, 2, nil, 0},
		{"429 forever", []step{status(429, "Retry-After", "2")}, func(c *Config) { c.MaxRetries = 2 }, 3, new(*RateLimitError), 429},
		{"503 forever keeps status", []step{status(503)}, func(c *Config) { c.MaxRetries = 3 }, 4, new(*StatusError), 503},
		{"resets forever", []step{func(t *testing.T, w http.ResponseWriter, r *http.Request) { reset(t, w) }}, func(c *Config) { c.MaxRetries = 2 }, 3, new(*TransportError), 0},
		{"no retries configured", []step{status(503)}, func(c *Config) { c.MaxRetries = -1 }, 1, new(*StatusError), 503},
		{"budget limits retries", []step{status(502)}, func(c *Config) { c.MaxRetries = 10; c.RetryBudget = 2 }, 3, new(*StatusError), 502},
		{"400 not retried", []step{status(400)}, nil, 1, new(*StatusError), 400},
		{"401 not retried", []step{status(401)}, nil, 1, new(*AuthError), 401},
		{"403 not retried", []step{status(403)}, nil, 1, new(*AuthError), 403},
		{"404 not retried", []step{status(404)}, nil, 1, new(*StatusError), 404},
		{"500 then ok", []step{status(500), ok}, nil, 2, nil, 0},
		{"500 forever keeps status", []step{status(500)}, func(c *Config) { c.MaxRetries = 2 }, 3, new(*StatusError), 500},
		{"500 within the budget", []step{status(500)}, func(c *Config) { c.MaxRetries = 10; c.RetryBudget = 1 }, 2, new(*StatusError), 500},
		{"graphql error in a 500 retried", []step{func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 500, map[string]any{"errors": []any{map[string]any{"message": "internal"}}})
		}, ok}, nil, 2, nil, 0},
		{"408 then ok", []step{status(408), ok}, nil, 2, nil, 0},
		{"501 not retried", []step{status(501)}, nil, 1, new(*StatusError), 501},
		{"graphql error not retried", []step{gqlErr}, nil, 1, new(*GraphQLError), 0},
		{"redirect not followed", []step{func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://other.example/steal", http.StatusTemporaryRedirect)
		}}, nil, 1, new(*StatusError), 307},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, attempt int, _ gqlRequest) {
				tt.steps[min(attempt, len(tt.steps))-1](t, w, r)
			}, tt.mod)
			got, err := c.Command(context.Background(), 193442)
			if n := rec.count(); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(wantCommand, got); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
				return
			}
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("got %T %v, want %T", err, err, tt.wantErr)
			}
			if tt.status != 0 {
				var code int
				switch e := err.(type) {
				case *StatusError:
					code = e.StatusCode
				case *AuthError:
					code = e.StatusCode
				case *RateLimitError:
					code = 429
					if e.RetryAfter != 2*time.Second {
						t.Errorf("RetryAfter %v, want 2s", e.RetryAfter)
					}
				}
				if code != tt.status {
					t.Errorf("status %d, want %d", code, tt.status)
				}
			}
		})
	}
}

func TestRetryAfterBeyondDeadlineIsNotAwaited(t *testing.T) {
	t.Parallel()
	c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, _ gqlRequest) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	}, func(cfg *Config) { cfg.MaxRetryAfter = time.Hour; cfg.Timeout = 5 * time.Second })
	_, err := c.Command(context.Background(), 1)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Hour {
		t.Fatalf("got %v, want a *RateLimitError with RetryAfter 1h", err)
	}
	if rec.count() != 1 {
		t.Errorf("%d attempts, want 1", rec.count())
	}
}

func TestBodyCap(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 4096)
	tests := []struct {
		name    string
		chunked bool
	}{{"content-length", false}, {"chunked", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, _ gqlRequest) {
				body := `{"data":{"boltCommand":{"stdout":"` + big + `"}}}`
				if !tt.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				w.WriteHeader(200)
				if tt.chunked {
					w.(http.Flusher).Flush()
				}
				io.WriteString(w, body)
			}, func(cfg *Config) { cfg.MaxBodyBytes = 1024 })
			_, err := c.Command(context.Background(), 1)
			var tl *BodyTooLargeError
			if !errors.As(err, &tl) || tl.Limit != 1024 {
				t.Fatalf("got %v, want *BodyTooLargeError{Limit: 1024}", err)
			}
			if rec.count() != 1 {
				t.Errorf("%d attempts, want 1 (too large is not retried)", rec.count())
			}
		})
	}
	// The same body fits under a larger cap.
	c, _, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, _ gqlRequest) {
		writeJSON(w, 200, map[string]any{"data": map[string]any{"boltCommand": map[string]any{"stdout": big}}})
	}, func(cfg *Config) { cfg.MaxBodyBytes = 8192 })
	got, err := c.Command(context.Background(), 1)
	if err != nil || got.Stdout != big {
		t.Fatalf("got %v", err)
	}
}

func TestTypedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		check  func(t *testing.T, err error)
	}{
		{"does not exist", 200, `{"errors":[{"message":"BoltCommand matching query does not exist.","path":["boltCommand"]}],"data":{"boltCommand":null}}`,
			func(t *testing.T, err error) {
				var nf *NotFoundError
				if !errors.As(err, &nf) || nf.Field != "boltCommand" || nf.ID != 42 {
					t.Fatalf("got %#v", err)
				}
			}},
		{"null data", 200, `{"data":null}`, func(t *testing.T, err error) {
			var nf *NotFoundError
			if !errors.As(err, &nf) || nf.ID != 42 {
				t.Fatalf("got %v", err)
			}
		}},
		{"null field", 200, `{"data":{"boltCommand":null}}`, func(t *testing.T, err error) {
			var nf *NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("got %v", err)
			}
		}},
		{"several messages joined", 200, `{"errors":[{"message":"first"},{"message":"second"}]}`, func(t *testing.T, err error) {
			var ge *GraphQLError
			if !errors.As(err, &ge) || !cmp.Equal(ge.Messages, []string{"first", "second"}) || !strings.Contains(err.Error(), "first; second") {
				t.Fatalf("got %v", err)
			}
		}},
		{"400 with graphql errors", 400, `{"errors":[{"message":"Cannot query field \"x\" on type \"Query\"."}]}`, func(t *testing.T, err error) {
			var ge *GraphQLError
			if !errors.As(err, &ge) || ge.StatusCode != 400 {
				t.Fatalf("got %v", err)
			}
		}},
		{"permission as graphql error", 200, `{"errors":[{"message":"Permission denied for this API key"}]}`, func(t *testing.T, err error) {
			var ae *AuthError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), "Bolt schedules metadata viewer") {
				t.Fatalf("got %v", err)
			}
		}},
		{"401 names the capability", 401, `{"detail":"bad key"}`, func(t *testing.T, err error) {
			var ae *AuthError
			if !errors.As(err, &ae) || ae.StatusCode != 401 || !strings.Contains(err.Error(), "Bolt schedules metadata viewer") {
				t.Fatalf("got %v", err)
			}
		}},
		{"html 200", 200, `<html>oops</html>`, func(t *testing.T, err error) {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %T %v", err, err)
			}
		}},
		{"empty 200", 200, ``, func(t *testing.T, err error) {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %T %v", err, err)
			}
		}},
		{"204", 204, ``, func(t *testing.T, err error) {
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != 204 {
				t.Fatalf("got %T %v", err, err)
			}
		}},
		{"wrong shape", 200, `{"data":{"boltCommand":{"returnCode":"one"}}}`, func(t *testing.T, err error) {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %T %v", err, err)
			}
		}},
		{"500 body excerpt", 500, strings.Repeat("E", 2000), func(t *testing.T, err error) {
			var se *StatusError
			if !errors.As(err, &se) || len(se.Body) > 310 {
				t.Fatalf("got %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, _ gqlRequest) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}, nil)
			_, err := c.Command(context.Background(), 42)
			if err == nil {
				t.Fatal("no error")
			}
			tt.check(t, err)
		})
	}
}

func TestResourceURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want string
		err  any
	}{
		{"ok", `{"boltResourceUrl":{"ok":true,"url":"https://s3.example.com/a/manifest.json?X-Amz-Signature=abc"}}`, "https://s3.example.com/a/manifest.json?X-Amz-Signature=abc", nil},
		{"ok false", `{"boltResourceUrl":{"ok":false,"url":null}}`, "", new(*NotFoundError)},
		{"null url", `{"boltResourceUrl":{"ok":true,"url":null}}`, "", new(*NotFoundError)},
		{"not a URL", `{"boltResourceUrl":{"ok":true,"url":"file:///etc/passwd"}}`, "", new(*DecodeError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, _ gqlRequest) {
				io.WriteString(w, `{"data":`+tt.data+`}`)
			}, nil)
			got, err := c.ResourceURL(context.Background(), 1205731)
			if tt.err != nil {
				if !errors.As(err, tt.err) {
					t.Fatalf("got %v, want %T", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v", got, err)
			}
			if id, _ := rec.last().Variables["resourceId"].(float64); id != 1205731 {
				t.Errorf("variables %v", rec.last().Variables)
			}
		})
	}
}

func TestRunStatus(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, req gqlRequest) {
		io.WriteString(w, `{"data":{"boltRunStatus":{"state":"FAILED","commands":[{"id":"193441","command":"dbt seed","startDttm":"a","endDttm":"b","stdout":"ok","stderr":"","returnCode":0},{"id":193442,"command":"dbt run","returnCode":null}]}}}`)
	}, nil)
	got, err := c.RunStatus(context.Background(), 63187)
	if err != nil {
		t.Fatal(err)
	}
	want := &RunStatus{State: "FAILED", Commands: []RunCommand{
		{ID: 193441, Command: "dbt seed", StartDttm: "a", EndDttm: "b", Stdout: "ok", ReturnCode: intp(0)},
		{ID: 193442, Command: "dbt run"},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestCommandLogs(t *testing.T) {
	t.Parallel()
	pages := map[string]string{
		"0:0":  `{"lines":[{"stream":"STDOUT","line":"a"},{"stream":"STDERR","line":"b"}],"cursor":"0:2","finished":false}`,
		"0:2":  `{"lines":[],"cursor":"0:2","finished":false}`, // a stall, then progress
		"0:2b": `{"lines":[{"stream":"STDOUT","line":"c"}],"cursor":"1:0","finished":true}`,
	}
	var stalls atomic.Int32
	c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, req gqlRequest) {
		cur, _ := req.Variables["cursor"].(string)
		if cur == "0:2" && stalls.Add(1) > 1 {
			cur = "0:2b"
		}
		io.WriteString(w, `{"data":{"boltCommandLogs":`+pages[cur]+`}}`)
	}, nil)
	got, err := c.CommandLogs(context.Background(), 7)
	if err != nil {
		t.Fatal(err)
	}
	want := []LogLine{{"STDOUT", "a"}, {"STDERR", "b"}, {"STDOUT", "c"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if rec.count() != 3 {
		t.Errorf("%d pages fetched, want 3", rec.count())
	}

	// A cursor that never moves ends with the lines so far and an error.
	c2, _, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, req gqlRequest) {
		cur, _ := req.Variables["cursor"].(string)
		if cur == "0:0" {
			io.WriteString(w, `{"data":{"boltCommandLogs":{"lines":[{"stream":"STDOUT","line":"a"}],"cursor":"0:1","finished":false}}}`)
			return
		}
		io.WriteString(w, `{"data":{"boltCommandLogs":{"lines":[],"cursor":"0:1","finished":false}}}`)
	}, nil)
	got, err = c2.CommandLogs(context.Background(), 7)
	var li *LogsIncompleteError
	if !errors.As(err, &li) || len(got) != 1 {
		t.Fatalf("got %v lines, %v", got, err)
	}
	// Page bound.
	c3, rec3, _ := setup(t, func(w http.ResponseWriter, r *http.Request, n int, req gqlRequest) {
		fmt.Fprintf(w, `{"data":{"boltCommandLogs":{"lines":[{"stream":"STDOUT","line":"x"}],"cursor":"%d:0","finished":false}}}`, n)
	}, func(cfg *Config) { cfg.MaxLogPages = 5 })
	got, err = c3.CommandLogs(context.Background(), 7)
	if !errors.As(err, &li) || len(got) != 5 || rec3.count() != 5 {
		t.Fatalf("got %d lines, %d pages, %v", len(got), rec3.count(), err)
	}
}

func TestPayloadCommand(t *testing.T) {
	t.Parallel()
	p := loadSeed(t)
	cmd := p.Commands[3]
	c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, req gqlRequest) { commandOK(w) }, nil)
	got, err := c.PayloadCommand(context.Background(), cmd.APIQuery, cmd.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantCommand, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	sent := rec.last()
	if len(sent.Variables) != 0 {
		t.Errorf("variables sent with a payload document: %v", sent.Variables)
	}
	if err := CheckQuery(sent.Query); err != nil || !strings.Contains(sent.Query, "boltCommand(commandId: 193442)") {
		t.Errorf("sent %q (%v)", sent.Query, err)
	}

	// Another command's id: refused, nothing sent.
	before := rec.count()
	_, err = c.PayloadCommand(context.Background(), cmd.APIQuery, 193439)
	var qr *QueryRefusedError
	if !errors.As(err, &qr) || rec.count() != before {
		t.Fatalf("got %v, %d requests sent", err, rec.count()-before)
	}
	// A mutation: refused, nothing sent.
	_, err = c.PayloadCommand(context.Background(), `mutation { cancelBoltRun(runId: 1) { ok } }`, 1)
	if !errors.As(err, &qr) || rec.count() != before {
		t.Fatalf("got %v, %d requests sent", err, rec.count()-before)
	}

	// An alias changes the response key.
	c2, _, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, req gqlRequest) {
		writeJSON(w, 200, map[string]any{"data": map[string]any{"x": sampleCommand}})
	}, nil)
	got, err = c2.PayloadCommand(context.Background(), `{ x: boltCommand(commandId: 5) { command stdout } }`, 5)
	if err != nil || got.Command != "dbt run" {
		t.Fatalf("alias: %v %v", got, err)
	}
}

func TestPayloadFallback(t *testing.T) {
	t.Parallel()
	c, rec, logs := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, req gqlRequest) {
		if strings.Contains(req.Query, "boltResourceUrl") {
			io.WriteString(w, `{"data":{"boltResourceUrl":{"ok":true,"url":"https://s3.example.com/m.json?sig=1"}}}`)
			return
		}
		commandOK(w)
	}, func(cfg *Config) { cfg.FallbackTypedQuery = true })
	got, err := c.PayloadCommand(context.Background(), `mutation { triggerBoltRun(scheduleName: "x") { runId } }`, 193442)
	if err != nil || got.Command != "dbt run" {
		t.Fatalf("%v %v", got, err)
	}
	sent := rec.last()
	if strings.Contains(sent.Query, "mutation") || sent.Variables["commandId"] != float64(193442) {
		t.Errorf("fallback sent %q %v", sent.Query, sent.Variables)
	}
	if !strings.Contains(logs.String(), "refused") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	u, err := c.PayloadResourceURL(context.Background(), `{ boltResourceUrl(resourceId: 1) { ok url } }`, 2)
	if err != nil || u != "https://s3.example.com/m.json?sig=1" || rec.last().Variables["resourceId"] != float64(2) {
		t.Fatalf("%q %v %v", u, err, rec.last())
	}
}

func TestPayloadResourceURLSeed(t *testing.T) {
	t.Parallel()
	p := loadSeed(t)
	r := p.Commands[2].JSONResources[0]
	c, rec, _ := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int, req gqlRequest) {
		io.WriteString(w, `{"data":{"boltResourceUrl":{"ok":true,"url":"https://s3.example.com/m.json?sig=1"}}}`)
	}, nil)
	u, err := c.PayloadResourceURL(context.Background(), r.ResourceQuery, r.ID)
	if err != nil || u != "https://s3.example.com/m.json?sig=1" {
		t.Fatalf("%q %v", u, err)
	}
	if !strings.Contains(rec.last().Query, fmt.Sprintf("boltResourceUrl(resourceId: %d)", r.ID)) {
		t.Errorf("sent %q", rec.last().Query)
	}
}

func TestExecRefusesBeforeSending(t *testing.T) {
	t.Parallel()
	c, rec, _ := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ gqlRequest) { commandOK(w) }, nil)
	for _, doc := range []string{
		`mutation { deleteBoltSchedule(name: "daily") { ok } }`,
		`query A { boltCommand(commandId: 1) { stdout } } mutation B { cancelBoltRun(runId: 1) { ok } }`,
		`{ __schema { types { name } } }`,
	} {
		if _, err := c.Exec(context.Background(), doc); err == nil {
			t.Errorf("accepted %q", doc)
		}
	}
	if rec.count() != 0 {
		t.Errorf("%d requests sent", rec.count())
	}
	data, err := c.Exec(context.Background(), seedCommandQuery)
	if err != nil || !bytes.Contains(data, []byte(`"boltCommand"`)) {
		t.Fatalf("%s %v", data, err)
	}
}

func TestDerivedClientSendsToItsHostOnly(t *testing.T) {
	t.Parallel()
	// Two servers: the configured one and a payload one on another loopback
	// port (same host, so allowed). Each sees only its own calls.
	c, rec1, _ := setup(t, func(w http.ResponseWriter, _ *http.Request, _ int, _ gqlRequest) { commandOK(w) }, nil)
	rec2 := &recorder{}
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rec2.add(r); commandOK(w) }))
	defer srv2.Close()
	d, err := c.WithEndpoint(srv2.URL + "/api/v1/other/graphql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Command(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if rec1.count() != 0 || rec2.count() != 1 {
		t.Errorf("configured server saw %d, payload server %d", rec1.count(), rec2.count())
	}
	if rec2.last().Header.Get("X-Api-Secret") != testSecret {
		t.Error("credentials not sent to the allowed host")
	}
}

func TestOverallTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, _ gqlRequest) {
		w.WriteHeader(503)
	}, func(cfg *Config) {
		cfg.Timeout = 200 * time.Millisecond
		cfg.MaxRetries = 1000
		cfg.RetryBudget = 1000
	})
	_, err := c.Command(context.Background(), 1)
	var te *TransportError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || te.LastStatus != 503 {
		t.Fatalf("got %T %v", err, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Command(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: got %v", err)
	}
}

// BenchmarkCommandLargeStdout decodes boltCommand answers that are nearly
// all stdout, of 1 MB (as the fake Bolt API's, read whole) and 7 MB (over
// maxWholeBody: streamed), sent with their Content-Length (as the fake
// does) and chunked (as a server that streams them does).
func BenchmarkCommandLargeStdout(b *testing.B) {
	for _, lines := range []int{15_000, 100_000} {
		stdout := strings.Repeat("12:00:01  1 of 500 START sql table model analytics.orders ...... [RUN]\n", lines)
		body, _ := json.Marshal(map[string]any{"data": map[string]any{"boltCommand": map[string]any{"command": "dbt run", "stdout": stdout}}})
		for _, length := range []bool{true, false} {
			name := fmt.Sprintf("%dMB/content-length", len(body)/1e6)
			if !length {
				name = fmt.Sprintf("%dMB/chunked", len(body)/1e6)
			}
			b.Run(name, func(b *testing.B) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					if length {
						w.Header().Set("Content-Length", strconv.Itoa(len(body)))
					}
					w.Write(body)
				}))
				defer srv.Close()
				c, err := New(Config{Endpoint: srv.URL + "/graphql", APIKey: "k", APISecret: "s"})
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					cmd, err := c.Command(context.Background(), 1)
					if err != nil || len(cmd.Stdout) != len(stdout) {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, attempt int, _ gqlRequest) {
		if attempt%3 == 0 {
			w.WriteHeader(503)
			return
		}
		commandOK(w)
	}, func(cfg *Config) { cfg.RetryBudget = 100 })
	const n = 24
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := c.Command(context.Background(), int64(i+1))
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if rec.count() < n {
		t.Errorf("%d requests for %d calls", rec.count(), n)
	}
}

func TestAttemptTimeoutIsNamed(t *testing.T) {
	t.Parallel()
	c, rec, _ := setup(t, func(w http.ResponseWriter, r *http.Request, _ int, _ gqlRequest) {
		<-r.Context().Done()
	}, func(cfg *Config) { cfg.RequestTimeout = 30 * time.Millisecond; cfg.MaxRetries = 1 })
	_, err := c.Command(context.Background(), 1)
	var te *TransportError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "attempt timed out") || te.Attempts != 2 {
		t.Fatalf("got %v", err)
	}
	if rec.count() != 2 {
		t.Errorf("%d attempts, want 2", rec.count())
	}
}
