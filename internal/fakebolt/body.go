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
	n := size
	if a.truncate {
		n = size / 2
	}
	var err error
	if bps > 0 {
		t := &pacer{w: w, rc: http.NewResponseController(w), bps: bps, start: time.Now(), s: s, r: r}
		err = t.copyN(src, n)
	} else {
		_, err = io.CopyN(w, src, n)
	}
	if err != nil {
		s.log.Debug("fakebolt: body write ended early", "path", r.URL.Path, "err", err)
		return
	}
	if a.truncate {
		abort(w, false)
	}
}

var errStopped = errors.New("fakebolt: request or server ended")

// pacer paces a body to bps bytes per second, flushing each
// chunk so the client sees a slow, steady body.
type pacer struct {
	w       io.Writer
	rc      *http.ResponseController
	bps     int64
	start   time.Time
	written int64
	s       *Server
	r       *http.Request
}

// chunk is the size of the paced writes: a twentieth of a second's worth,
// between 512 bytes and 256 KiB (2.6 ms at 100 MB/s).
func (t *pacer) chunk() int64 {
	return min(max(t.bps/20, 512), 256<<10)
}

// due waits until the chunk of c bytes after those written is due to have
// been delivered: the last byte arrives at size/bps, not one chunk early.
func (t *pacer) due(c int64) bool {
	due := t.start.Add(time.Duration(float64(t.written+c) / float64(t.bps) * float64(time.Second)))
	return t.s.sleep(t.r, time.Until(due))
}

// copyN sends n bytes of src, paced. Each chunk goes through io.CopyN, so
// that the ResponseWriter's ReadFrom sends a file's chunks with sendfile
// rather than through a buffer: the fake's own CPU is a benchmark's
// overhead on a small machine.
func (t *pacer) copyN(src io.Reader, n int64) error {
	for n > 0 {
		c := min(n, t.chunk())
		if !t.due(c) {
			return errStopped
		}
		m, err := io.CopyN(t.w, src, c)
		t.written += m
		n -= m
		if err != nil {
			return err
		}
		_ = t.rc.Flush()
	}
	return nil
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
