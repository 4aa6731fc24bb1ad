package webhook

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// Handler serves the intake, the status API, the probes, the metrics and,
// when configured, the job UI:
//
//	POST /webhooks/paradime   deliveries (token)
//	GET  /runs/{run_id}       one run's status (token)
//	GET  /runs?state=&limit=  runs, newest first (token)
//	GET  /healthz             the process is alive
//	GET  /readyz              the queue answers and the server is not draining
//	GET  /metrics             Prometheus
//	     /ui/                 River's UI (HTTP Basic: UIUser and a token)
type Handler struct {
	cfg      Config
	auth     *authenticator
	metrics  *Metrics
	log      *slog.Logger
	tls      *tls.Config
	mux      *http.ServeMux
	ping     *probeCache[struct{}]
	draining atomic.Bool
}

// New validates cfg, fills in its defaults and returns the handler. It
// refuses a config without a token unless InsecureNoAuth is set, and loads
// the TLS key pair when one is configured.
func New(cfg Config) (*Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.loadTLS()
	if err != nil {
		return nil, err
	}
	if cfg.Metrics == nil {
		if cfg.Metrics, err = NewMetrics(nil); err != nil {
			return nil, err
		}
	}
	if err := cfg.Metrics.registerDepth(cfg.Queue, cfg.ProbeTimeout); err != nil {
		return nil, err
	}
	h := &Handler{
		cfg:     cfg,
		auth:    newAuthenticator(cfg.Tokens, cfg.InsecureNoAuth, cfg.UIUser),
		metrics: cfg.Metrics,
		log:     cfg.Logger,
		tls:     tlsCfg,
		mux:     http.NewServeMux(),
		ping: newProbeCache(cfg.ProbeTimeout, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, cfg.Queue.Ping(ctx)
		}),
	}
	h.mux.HandleFunc("/webhooks/paradime", h.intake)
	h.mux.HandleFunc("/runs/{run_id}", h.runStatus)
	h.mux.HandleFunc("/runs", h.runList)
	h.mux.HandleFunc("/healthz", h.healthz)
	h.mux.HandleFunc("/readyz", h.readyz)
	h.mux.Handle("/metrics", h.metrics.handler())
	if cfg.UI != nil {
		// Browsers attach Basic credentials to cross-site form posts, and
		// River's UI reads any POST body as JSON: refuse cross-origin
		// writes before the credentials are even looked at (CSRF).
		ui := http.NewCrossOriginProtection().Handler(h.basicAuth(cfg.UI))
		h.mux.Handle("/ui/", ui)
		h.mux.Handle("/ui", ui)
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	})
	return h, nil
}

// Metrics returns the handler's metrics, for the follow-up wiring.
func (h *Handler) Metrics() *Metrics { return h.metrics }

// Drain switches the handler to draining: /readyz fails at once and new
// deliveries are refused with 503, while status, probes and metrics go on
// answering until the server stops. It cannot be undone.
func (h *Handler) Drain() {
	if !h.draining.Swap(true) {
		h.log.Info("webhook: draining: readiness fails and new deliveries are refused")
	}
}

// Draining reports whether Drain was called.
func (h *Handler) Draining() bool { return h.draining.Load() }

// ServeHTTP routes a request, logging it at debug level with its query string
// redacted.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.log.Enabled(r.Context(), slog.LevelDebug) {
		h.mux.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h.mux.ServeHTTP(rec, r)
	h.log.Debug("webhook: request", "method", r.Method, "path", RedactURL(r.URL),
		"status", rec.status, "duration", time.Since(start), "remote", r.RemoteAddr)
}

// statusRecorder remembers the status written, for the debug access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// RedactURL returns u's path with its query string, which may hold a token,
// replaced by "REDACTED". Every URL the package logs goes through it.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	p := u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		p += "?REDACTED"
	}
	return p
}

// basicAuth guards next (the UI) with HTTP Basic auth, since a browser app
// cannot send a bearer token.
func (h *Handler) basicAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.auth.basic(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="boltfetch", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// healthz answers as long as the process serves HTTP.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the server is not draining and the queue answered
// a ping within the probe timeout. It needs no auth, so the ping goes through
// a [probeCache]: a flood of probes costs the queue one ping a second.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	if _, err := h.ping.get(); err != nil {
		h.log.Warn("webhook: readiness: the queue does not answer", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// errorBody is the body of every refusal.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, errorBody{Error: reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only our own fixed types are written
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
