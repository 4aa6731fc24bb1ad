package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/webhook"
)

// pingQueue counts the pings of a memQueue and holds each one until gate
// is closed.
type pingQueue struct {
	*memQueue
	pings atomic.Int64
	mu    sync.Mutex
	gate  chan struct{}
}

func (q *pingQueue) Ping(ctx context.Context) error {
	q.pings.Add(1)
	q.mu.Lock()
	gate := q.gate
	q.mu.Unlock()
	select {
	case <-gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return q.memQueue.Ping(ctx)
}

// TestReadyzFloodPingsOnce: /readyz needs no auth, and the inbox's SQLite
// has one connection, so a flood of probes must not become a flood of
// pings: an answer is reused for a second, and while a ping runs the others
// reuse the last answer instead of queueing behind it.
func TestReadyzFloodPingsOnce(t *testing.T) {
	t.Parallel()
	open := make(chan struct{})
	close(open)
	q := &pingQueue{memQueue: newMemQueue(), gate: open}
	h := newHandler(t, q, nil)
	readyz := func() int { return do(h, request{method: http.MethodGet, target: "/readyz"}).Code }
	flood := func(want int) {
		t.Helper()
		var wg sync.WaitGroup
		var bad atomic.Int64
		for range 50 {
			wg.Go(func() {
				if readyz() != want {
					bad.Add(1)
				}
			})
		}
		wg.Wait()
		if bad.Load() != 0 {
			t.Fatalf("%d of 50 probes did not answer %d", bad.Load(), want)
		}
	}

	flood(200)
	if n := q.pings.Load(); n != 1 {
		t.Fatalf("50 probes in a burst cost %d pings, want 1", n)
	}

	// A second later a probe pings again; hold that ping and flood: the
	// flood answers at once from the last answer and adds no ping.
	time.Sleep(1100 * time.Millisecond)
	q.mu.Lock()
	q.gate = make(chan struct{})
	q.mu.Unlock()
	q.fail.Store(true)
	slow := make(chan int, 1)
	go func() { slow <- readyz() }()
	for q.pings.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	flood(200)
	if n := q.pings.Load(); n != 2 {
		t.Fatalf("probes during a ping cost %d pings, want 2 in all", n)
	}
	q.mu.Lock()
	close(q.gate)
	q.mu.Unlock()
	if code := <-slow; code != 503 {
		t.Fatalf("the probe that pinged a failing queue: %d, want 503", code)
	}
	if readyz() != 503 || q.pings.Load() != 2 {
		t.Fatalf("the failed answer is not reused: %d pings", q.pings.Load())
	}
}

// TestUIRefusesCrossOrigin: a browser attaches the UI's Basic credentials
// to a cross-site form post, so the UI refuses cross-origin writes (CSRF)
// whatever the credentials, and still serves same-origin ones and reads.
func TestUIRefusesCrossOrigin(t *testing.T) {
	t.Parallel()
	var reached atomic.Int64
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusTeapot)
	})
	h := newHandler(t, newMemQueue(), func(c *webhook.Config) { c.UI = ui })
	for _, tt := range []struct {
		name, method string
		header       map[string]string
		status       int
	}{
		{"cross-site fetch metadata", http.MethodPost, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site other origin", http.MethodPost, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"foreign Origin", http.MethodPost, map[string]string{"Origin": "https://evil.example"}, 403},
		{"foreign Origin, delete", http.MethodDelete, map[string]string{"Origin": "https://evil.example"}, 403},
		{"same-origin fetch metadata", http.MethodPost, map[string]string{"Sec-Fetch-Site": "same-origin"}, 418},
		{"same Origin", http.MethodPost, map[string]string{"Origin": "http://bolt.internal:8080"}, 418},
		{"not a browser", http.MethodPost, nil, 418},
		{"cross-site read", http.MethodGet, map[string]string{"Sec-Fetch-Site": "cross-site"}, 418},
	} {
		r := httptest.NewRequest(tt.method, "http://bolt.internal:8080/ui/api/jobs/cancel",
			strings.NewReader(`{"job_ids":["1"]}`))
		r.Header.Set("Content-Type", "text/plain")
		r.SetBasicAuth(webhook.DefaultUIUser, testToken)
		for k, v := range tt.header {
			r.Header.Set(k, v)
		}
		before := reached.Load()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.status)
		}
		if tt.status == 403 && reached.Load() != before {
			t.Errorf("%s: the UI was reached", tt.name)
		}
	}
}
