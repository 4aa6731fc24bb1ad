package client

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestNoSecretInErrorsOrLogs drives every error path with distinctive
// credentials, including a hostile server that echoes the headers and the
// URL it received, and greps all errors and log output for them.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	const bearer = "prdm_wsp_BEARERt0k3n9"
	secrets := []string{testKey, testSecret, testToken, bearer}
	echo := func(r *http.Request) string {
		return fmt.Sprintf("key=%s secret=%s auth=%s url=%s", r.Header.Get("X-Api-Key"), r.Header.Get("X-Api-Secret"), r.Header.Get("Authorization"), r.URL.String())
	}
	handlers := map[string]func(w http.ResponseWriter, r *http.Request, attempt int){
		"ok":       func(w http.ResponseWriter, r *http.Request, _ int) { commandOK(w) },
		"401 echo": func(w http.ResponseWriter, r *http.Request, _ int) { w.WriteHeader(401); io.WriteString(w, echo(r)) },
		"403":      func(w http.ResponseWriter, r *http.Request, _ int) { w.WriteHeader(403) },
		"404 echo": func(w http.ResponseWriter, r *http.Request, _ int) { w.WriteHeader(404); io.WriteString(w, echo(r)) },
		"500 echo": func(w http.ResponseWriter, r *http.Request, _ int) { w.WriteHeader(500); io.WriteString(w, echo(r)) },
		"400 gql echo": func(w http.ResponseWriter, r *http.Request, _ int) {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"errors":[{"message":%q}]}`, echo(r))
		},
		"200 gql echo": func(w http.ResponseWriter, r *http.Request, _ int) {
			fmt.Fprintf(w, `{"errors":[{"message":%q}]}`, echo(r))
		},
		"not found": func(w http.ResponseWriter, r *http.Request, _ int) {
			fmt.Fprintf(w, `{"errors":[{"message":"%s does not exist"}]}`, echo(r))
		},
		"html echo": func(w http.ResponseWriter, r *http.Request, _ int) { io.WriteString(w, "<html>"+echo(r)) },
		"429": func(w http.ResponseWriter, r *http.Request, _ int) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
		},
		"503":       func(w http.ResponseWriter, r *http.Request, _ int) { w.WriteHeader(503) },
		"reset":     func(w http.ResponseWriter, r *http.Request, _ int) { reset(t, w) },
		"truncated": func(w http.ResponseWriter, r *http.Request, _ int) { truncate(t, w) },
		"too large": func(w http.ResponseWriter, r *http.Request, _ int) { io.WriteString(w, strings.Repeat(echo(r), 100)) },
		"redirect": func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Redirect(w, r, "https://evil.example/?"+echo(r), http.StatusFound)
		},
		"hang": func(w http.ResponseWriter, r *http.Request, _ int) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		},
	}
	var texts []string
	var allLogs []*logBuffer
	for _, secret := range []string{testSecret, bearer} {
		for name, h := range handlers {
			c, _, logs := setup(t, func(w http.ResponseWriter, r *http.Request, attempt int, _ gqlRequest) { h(w, r, attempt) }, func(cfg *Config) {
				cfg.APISecret = secret
				cfg.MaxRetries = 2
				cfg.MaxBodyBytes = 2048
				cfg.RequestTimeout = 50 * time.Millisecond
				cfg.FallbackTypedQuery = name == "ok"
			})
			allLogs = append(allLogs, logs)
			ctx := context.Background()
			_, err := c.Command(ctx, 1)
			texts = append(texts, errText(err))
			_, err = c.ResourceURL(ctx, 2)
			texts = append(texts, errText(err))
			_, err = c.CommandLogs(ctx, 3)
			texts = append(texts, errText(err))
			_, err = c.PayloadCommand(ctx, "mutation { cancelBoltRun(runId: 1) { ok } }", 1)
			texts = append(texts, errText(err))
			_, err = c.WithEndpoint("https://evil.example/api/v1/" + testToken + "/graphql?k=" + testKey)
			texts = append(texts, errText(err))
			_, err = c.WithEndpoint("http://api.paradime.io/api/v1/" + testToken + "/graphql")
			texts = append(texts, errText(err))
			_, err = c.WithEndpoint("https://" + testKey + ":" + secret + "@api.paradime.io/api/v1/" + testToken)
			texts = append(texts, errText(err))
		}
	}
	for _, ep := range []string{"http://h.example/api/v1/" + testToken + "/graphql", "::" + testToken, "https://u:" + testSecret + "@h.example/"} {
		_, err := New(Config{Endpoint: ep, APIKey: testKey, APISecret: testSecret})
		texts = append(texts, errText(err))
	}
	_, err := New(Config{APIKey: testKey, APISecret: testSecret + "\n"})
	texts = append(texts, errText(err))
	cfg := Config{Endpoint: "https://api.paradime.io/api/v1/" + testToken + "/graphql", APIKey: testKey, APISecret: testSecret}
	var cl logBuffer
	slog.New(slog.NewTextHandler(&cl, nil)).Info("config", "cfg", cfg)
	texts = append(texts, fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, &cfg), cl.String())
	for _, l := range allLogs {
		texts = append(texts, l.String())
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "paradime 127.0.0.1") || !strings.Contains(all, `"host":"127.0.0.1"`) {
		t.Fatalf("the sweep produced no errors or logs naming the host; it would prove nothing:\n%.2000s", all)
	}
	for _, s := range secrets {
		if i := strings.Index(all, s); i >= 0 {
			lo, hi := max(0, i-200), min(len(all), i+200)
			t.Errorf("secret %q leaked: …%s…", s, all[lo:hi])
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf("%v | %+v | %s", err, err, err.Error())
}
