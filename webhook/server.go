package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// NewServer returns an *http.Server for h on addr with every timeout and the
// header cap set from the config (slow or huge requests cannot hold the
// server), its error log going to the handler's logger, and the TLS config
// when a key pair is configured: then serve it with ServeTLS(ln, "", "") or
// ListenAndServeTLS("", ""), or use Serve, which chooses.
func (h *Handler) NewServer(addr string) *http.Server {
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: h.cfg.ReadHeaderTimeout,
		ReadTimeout:       h.cfg.ReadTimeout,
		WriteTimeout:      h.cfg.WriteTimeout,
		IdleTimeout:       h.cfg.IdleTimeout,
		MaxHeaderBytes:    h.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	if h.tls != nil {
		srv.TLSConfig = h.tls.Clone()
	}
	return srv
}

// TLS reports whether the server speaks TLS.
func (h *Handler) TLS() bool { return h.tls != nil }

// Serve serves h on ln (with TLS when configured) until ctx ends, then shuts
// down in order: Drain (so /readyz fails first), wait the drain delay, stop
// listening, and wait up to the shutdown timeout for requests in flight
// (whose deliveries are committed or refused, never half-taken) before
// closing what is left. It returns nil after a shutdown asked for by ctx.
func (h *Handler) Serve(ctx context.Context, ln net.Listener) error {
	srv := h.NewServer(ln.Addr().String())
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	h.Drain()
	if d := h.cfg.DrainDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case err := <-errc:
			t.Stop()
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), h.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		h.log.Warn("webhook: requests still in flight at the shutdown timeout; closing them", "error", err)
		_ = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
