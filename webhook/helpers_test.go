package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/internal/sharedtest"
	"github.com/boltfetch/boltfetch/webhook"
)

const (
	testToken  = "tok-0123456789abcdef-first"
	testToken2 = "tok-0123456789abcdef-second"
)

// parseBolt is the adapter cmd wires: fetcher's lenient decoder, plus the
// rule that a Bolt payload (started or completed) carries an integer run id.
func parseBolt(body []byte) (int64, bool, error) {
	p, err := fetcher.ParsePayload(body)
	if err != nil {
		return 0, false, err
	}
	id, err := strconv.ParseInt(p.RunID, 10, 64)
	if err != nil || id <= 0 {
		return 0, false, errors.New("not a Bolt payload: no integer run id (\"id\")")
	}
	return id, p.Started, nil
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(sharedtest.Fixture(tb, "paradime/"+name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// completedPayload returns Paradime's completed example with its run id
// replaced.
func completedPayload(tb testing.TB, runID int64) []byte {
	tb.Helper()
	b := readTestdata(tb, "completed.json")
	out := bytes.Replace(b, []byte(`"id": 63187,`), []byte(fmt.Sprintf(`"id": %d,`, runID)), 1)
	if bytes.Equal(out, b) && runID != 63187 {
		tb.Fatal("completed.json: run id not found")
	}
	return out
}

// memQueue is an in-memory Queue with the inbox's dedupe semantics, for the
// handler's tests before (and beside) the real inbox.
type memQueue struct {
	mu       sync.Mutex
	runs     map[int64]*memRun
	order    []int64
	fail     atomic.Bool // every call fails with inbox.ErrUnavailable
	block    chan struct{}
	enqueues atomic.Int64
	lastList struct {
		state inbox.State
		limit int
	}
}

type memRun struct {
	payload []byte
	status  inbox.RunStatus
}

func newMemQueue() *memQueue { return &memQueue{runs: map[int64]*memRun{}} }

func (q *memQueue) wait(ctx context.Context) error {
	if q.block != nil {
		select {
		case <-q.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if q.fail.Load() {
		return fmt.Errorf("mem: %w", inbox.ErrUnavailable)
	}
	return nil
}

func (q *memQueue) Enqueue(ctx context.Context, runID int64, payload []byte) (inbox.EnqueueResult, error) {
	if err := q.wait(ctx); err != nil {
		return inbox.EnqueueResult{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.enqueues.Add(1)
	if r, ok := q.runs[runID]; ok {
		return inbox.EnqueueResult{RunID: runID, State: r.status.State, Duplicate: true}, nil
	}
	q.runs[runID] = &memRun{payload: bytes.Clone(payload), status: inbox.RunStatus{
		RunID: runID, State: inbox.StateQueued, ReceivedAt: time.Now().UTC()}}
	q.order = append(q.order, runID)
	return inbox.EnqueueResult{RunID: runID, State: inbox.StateQueued}, nil
}

func (q *memQueue) Status(ctx context.Context, runID int64) (inbox.RunStatus, error) {
	if err := q.wait(ctx); err != nil {
		return inbox.RunStatus{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	r, ok := q.runs[runID]
	if !ok {
		return inbox.RunStatus{}, fmt.Errorf("run %d: %w", runID, inbox.ErrNotFound)
	}
	return r.status, nil
}

func (q *memQueue) List(ctx context.Context, state inbox.State, limit int) ([]inbox.RunStatus, error) {
	if err := q.wait(ctx); err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lastList.state, q.lastList.limit = state, limit
	var out []inbox.RunStatus
	for _, id := range slices.Backward(q.order) {
		if r := q.runs[id]; (state == "" || r.status.State == state) && len(out) < limit {
			out = append(out, r.status)
		}
	}
	return out, nil
}

func (q *memQueue) Depth(ctx context.Context) (map[inbox.State]int, error) {
	if err := q.wait(ctx); err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	d := map[inbox.State]int{}
	for _, r := range q.runs {
		d[r.status.State]++
	}
	return d, nil
}

func (q *memQueue) Ping(ctx context.Context) error { return q.wait(ctx) }

func (q *memQueue) setState(runID int64, s inbox.State) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.runs[runID].status.State = s
}

func (q *memQueue) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.runs)
}

// newHandler returns a handler on q with two tokens, after mutate.
func newHandler(tb testing.TB, q webhook.Queue, mutate func(*webhook.Config)) *webhook.Handler {
	tb.Helper()
	cfg := webhook.Config{Queue: q, Parse: parseBolt, Tokens: []string{testToken, testToken2}}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := webhook.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// request is one request to the handler.
type request struct {
	method, target string
	body           []byte
	header         map[string]string
	noLength       bool // send the body without Content-Length
}

func do(h http.Handler, rq request) *httptest.ResponseRecorder {
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	if rq.target == "" {
		rq.target = "/webhooks/paradime"
	}
	var body io.Reader = bytes.NewReader(rq.body)
	if rq.noLength {
		body = io.MultiReader(body) // hides the length from httptest
	}
	r := httptest.NewRequest(rq.method, rq.target, body)
	if rq.noLength {
		r.ContentLength = -1
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// decodeBody decodes a JSON answer into a generic map.
func decodeBody(tb testing.TB, w *httptest.ResponseRecorder) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		tb.Fatalf("answer %d is not JSON: %v: %q", w.Code, err, w.Body.String())
	}
	return m
}

// scrape returns the /metrics text of h.
func scrape(tb testing.TB, h http.Handler) string {
	tb.Helper()
	w := do(h, request{method: http.MethodGet, target: "/metrics"})
	if w.Code != http.StatusOK {
		tb.Fatalf("/metrics: %d %s", w.Code, w.Body.String())
	}
	return w.Body.String()
}

// metricLine returns the value of one exposition line starting with series.
func metricValue(tb testing.TB, text, series string) string {
	tb.Helper()
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	tb.Fatalf("metrics: no %s in\n%s", series, text)
	return ""
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
