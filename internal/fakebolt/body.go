package fakebolt

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// writeBody sends size bytes of src as the response body, honouring the
// bandwidth cap and the truncate fault. Headers must be set, not written.
func (s *Server) writeBody(w http.ResponseWriter, r *http.Request, src io.Reader, size int64, a applied) {
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	bps := s.opts.BytesPerSec
	if a.slow > 0 && (bps == 0 || a.slow < bps) {
		bps = a.slow
	}
	var dst io.Writer = w
	if bps > 0 {
		dst = &throttledWriter{w: w, rc: http.NewResponseController(w), bps: bps, start: time.Now(), s: s, r: r}
	}
	n := size
	if a.truncate {
		n = size / 2
	}
	if _, err := io.CopyN(dst, src, n); err != nil {
		s.log.Debug("fakebolt: body write ended early", "path", r.URL.Path, "err", err)
		return
	}
	if a.truncate {
		abort(w, false)
	}
}

var errStopped = errors.New("fakebolt: request or server ended")

// throttledWriter paces writes to bps bytes per second, flushing each chunk
// so the client sees a slow, steady body.
type throttledWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	bps     int64
	start   time.Time
	written int64
	s       *Server
	r       *http.Request
}

func (t *throttledWriter) Write(p []byte) (int, error) {
	chunk := max(t.bps/20, 512)
	chunk = min(chunk, 64<<10)
	total := 0
	for len(p) > 0 {
		c := min(int64(len(p)), chunk)
		// Wait until this chunk is due to have been delivered, then send
		// it: the last byte arrives at size/bps, not one chunk early.
		due := t.start.Add(time.Duration(float64(t.written+c) / float64(t.bps) * float64(time.Second)))
		if !t.s.sleep(t.r, time.Until(due)) {
			return total, errStopped
		}
		n, err := t.w.Write(p[:c])
		total += n
		t.written += int64(n)
		if err != nil {
			return total, err
		}
		_ = t.rc.Flush()
		p = p[c:]
	}
	return total, nil
}

// writeJSONStatus answers an API request with status and a small JSON body.
func writeJSONStatus(w http.ResponseWriter, status int, msg string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	body, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
