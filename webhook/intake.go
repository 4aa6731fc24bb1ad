package webhook

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/inbox"
)

// deliveryAnswer is the body of an accepted or duplicate delivery.
type deliveryAnswer struct {
	RunID     int64       `json:"run_id"`
	State     inbox.State `json:"state"`
	Duplicate bool        `json:"duplicate"`
}

// intake serves POST /webhooks/paradime. The checks run cheapest first
// (method, draining, token, content type, declared length) so that junk costs
// little, and the answer is written only after the queue has committed.
func (h *Handler) intake(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, http.StatusMethodNotAllowed, ReasonMethod, "only POST is accepted here")
		return
	}
	if h.draining.Load() {
		w.Header().Set("Retry-After", "30")
		h.reject(w, r, http.StatusServiceUnavailable, ReasonDraining, "the server is shutting down; deliver again later")
		return
	}
	if !h.auth.token(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="boltfetch"`)
		h.reject(w, r, http.StatusUnauthorized, ReasonUnauthorized, "a valid token is required (Authorization: Bearer, or ?token=)")
		return
	}
	if isForm(r.Header.Get("Content-Type")) {
		h.reject(w, r, http.StatusUnsupportedMediaType, ReasonMediaType, "a form encoding was sent; the payload must be a JSON body")
		return
	}
	limit := h.cfg.MaxPayloadSize
	if r.ContentLength > limit {
		h.reject(w, r, http.StatusRequestEntityTooLarge, ReasonTooLarge, "the body is larger than the maximum payload size")
		return
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		var tooLarge *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &tooLarge):
			h.reject(w, r, http.StatusRequestEntityTooLarge, ReasonTooLarge, "the body is larger than the maximum payload size")
		case errors.As(err, &ne) && ne.Timeout():
			h.reject(w, r, http.StatusRequestTimeout, ReasonRead, "the body was not received in time")
		default:
			h.reject(w, r, http.StatusBadRequest, ReasonRead, "the body could not be read")
		}
		return
	}
	runID, started, err := h.cfg.Parse(body)
	switch {
	case err != nil:
		h.reject(w, r, http.StatusBadRequest, ReasonBadPayload, trimmedLine(err.Error(), 300))
		return
	case started:
		h.metrics.delivery(OutcomeIgnored, "")
		h.log.Info("webhook: bolt.run.started payload ignored", "run_id", runID)
		writeJSON(w, http.StatusAccepted, map[string]string{"state": "ignored"})
		return
	case runID <= 0:
		h.reject(w, r, http.StatusBadRequest, ReasonBadPayload, "not a Bolt payload: no positive run id")
		return
	}

	// The commit goes on if the sender hangs up: the delivery was read whole,
	// and a stored duplicate is harmless where a lost run is not.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.EnqueueTimeout)
	res, err := h.cfg.Queue.Enqueue(ctx, runID, body)
	cancel()
	if err != nil {
		// Whatever failed, the delivery is not stored: 503 tells the sender
		// to deliver again, which is the only useful thing it can do.
		h.log.Error("webhook: delivery not stored", "run_id", runID, "error", err,
			"unavailable", errors.Is(err, inbox.ErrUnavailable))
		w.Header().Set("Retry-After", "30")
		h.reject(w, r, http.StatusServiceUnavailable, ReasonUnavailable, "the queue is unavailable; deliver again later")
		return
	}
	ans := deliveryAnswer{RunID: runID, State: res.State, Duplicate: res.Duplicate}
	status, outcome := http.StatusAccepted, OutcomeAccepted
	if res.Duplicate {
		status, outcome = http.StatusOK, OutcomeDuplicate
	} else if ans.State == "" {
		ans.State = inbox.StateQueued
	}
	writeJSON(w, status, ans)
	h.metrics.delivery(outcome, "")
	h.metrics.ack.Observe(time.Since(start).Seconds())
	h.log.Info("webhook: delivery stored", "run_id", runID, "duplicate", res.Duplicate, "state", string(res.State))
}

// reject answers a refused delivery, counts it and logs it (URL redacted).
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	h.metrics.delivery(OutcomeRejected, reason)
	h.log.Warn("webhook: delivery refused", "status", status, "reason", reason,
		"path", RedactURL(r.URL), "remote", r.RemoteAddr)
	writeError(w, status, msg)
}

// isForm reports a form encoding. Paradime's content type is undocumented,
// so any other type (or none) is accepted when the body is JSON.
func isForm(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		// Unparseable parameters: judge by the type before them.
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}

// readBody reads the whole body, at most limit bytes, into one buffer sized
// by Content-Length when it is declared.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	size := int64(4 << 10)
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1 // +1: the read that sees EOF needs no growth
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
