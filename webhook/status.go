package webhook

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/boltfetch/boltfetch/inbox"
)

// runList is the body of GET /runs.
type runList struct {
	Runs []inbox.RunStatus `json:"runs"`
}

// statusGuard checks what the status endpoints share: GET (or HEAD) and the
// token. It answers and returns false when the request is refused.
func (h *Handler) statusGuard(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "only GET is accepted here")
		return false
	}
	if !h.auth.token(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="boltfetch"`)
		writeError(w, http.StatusUnauthorized, "a valid token is required (Authorization: Bearer, or ?token=)")
		return false
	}
	return true
}

// runStatus serves GET /runs/{run_id}.
func (h *Handler) runStatus(w http.ResponseWriter, r *http.Request) {
	if !h.statusGuard(w, r) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("run_id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "the run id must be a positive integer")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.ProbeTimeout)
	defer cancel()
	st, err := h.cfg.Queue.Status(ctx, id)
	if err != nil {
		h.queueError(w, err, "run not found")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// runList serves GET /runs?state=S&limit=N: state is one of the four run
// states (all when absent), limit 1 or more, cut to the configured maximum.
func (h *Handler) runList(w http.ResponseWriter, r *http.Request) {
	if !h.statusGuard(w, r) {
		return
	}
	q := r.URL.Query()
	state := inbox.State(q.Get("state"))
	switch state {
	case "", inbox.StateQueued, inbox.StateProcessing, inbox.StateDone, inbox.StateFailed:
	default:
		writeError(w, http.StatusBadRequest, "state must be queued, processing, done or failed")
		return
	}
	limit := h.cfg.DefaultListLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "limit must be a positive integer")
			return
		}
		limit = min(n, h.cfg.MaxList)
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.ProbeTimeout)
	defer cancel()
	runs, err := h.cfg.Queue.List(ctx, state, limit)
	if err != nil {
		h.queueError(w, err, "")
		return
	}
	if runs == nil {
		runs = []inbox.RunStatus{}
	}
	writeJSON(w, http.StatusOK, runList{Runs: runs})
}

// queueError answers a failed status query: 404 for an unknown run, 503 for
// anything else (the queue is down or too slow), logged.
func (h *Handler) queueError(w http.ResponseWriter, err error, notFound string) {
	if notFound != "" && errors.Is(err, inbox.ErrNotFound) {
		writeError(w, http.StatusNotFound, notFound)
		return
	}
	h.log.Error("webhook: status query failed", "error", err)
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "the queue is unavailable")
}
