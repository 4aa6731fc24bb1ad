package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/webhook"
)

// FuzzIntake sends random bodies and headers through the intake handler with
// an in-memory queue that fails for some run ids. The handler never panics,
// never answers a 5xx other than the queue's 503, answers JSON always, and
// what it stores is the body byte for byte, under the run id it answered.
func FuzzIntake(f *testing.F) {
	completed := completedPayload(f, 63187)
	started := readTestdata(f, "started.json")
	seeds := []struct {
		body                []byte
		method, ct, auth, q string
	}{
		{completed, "POST", "application/json", "Bearer " + testToken, ""},
		{completed, "POST", "", "", "token=" + testToken},
		{started, "POST", "text/plain", "Bearer " + testToken2, ""},
		{[]byte(`{"id":"12","commands":[]}`), "POST", "", "Bearer " + testToken, ""},
		{[]byte(`{"id":13,"commands":[{"id":1}],"api_url":"x"}`), "POST", "", "Bearer " + testToken, ""},
		{[]byte(`{"id":1e400}`), "POST", "", "Bearer " + testToken, ""},
		{[]byte("junk"), "POST", "multipart/form-data; boundary=x", "Bearer " + testToken, ""},
		{completed, "GET", "application/json", "Basic " + testToken, "token=%zz"},
		{completed, "POST", "a/b; c=\"", "bearer  " + testToken + " ", "token=" + testToken + "&token=x"},
	}
	for _, s := range seeds {
		f.Add(s.body, s.method, s.ct, s.auth, s.q)
	}
	f.Fuzz(func(t *testing.T, body []byte, method, ct, auth, query string) {
		q := &failingQueue{memQueue: newMemQueue()}
		h, err := webhook.New(webhook.Config{Queue: q, Parse: parseBolt, Tokens: []string{testToken, testToken2}, MaxPayloadSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/paradime", bytes.NewReader(body))
		if m := []byte(method); len(m) > 0 && len(m) < 20 && bytes.IndexFunc(m, func(c rune) bool { return c <= ' ' || c >= 0x7f }) < 0 {
			r.Method = method
		}
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", ct)
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		switch {
		case w.Code == http.StatusServiceUnavailable && !q.failed:
			t.Fatalf("503 without a queue failure: %s", w.Body.String())
		case w.Code >= 500 && w.Code != http.StatusServiceUnavailable:
			t.Fatalf("answer %d: %s", w.Code, w.Body.String())
		case !json.Valid(w.Body.Bytes()):
			t.Fatalf("answer %d is not JSON: %q", w.Code, w.Body.String())
		}
		if w.Code == 200 || (w.Code == 202 && q.count() == 1) {
			var ans struct {
				RunID int64 `json:"run_id"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &ans)
			run, ok := q.runs[ans.RunID]
			if !ok || !bytes.Equal(run.payload, body) {
				t.Fatalf("answer %d for run %d, but the queue holds %v", w.Code, ans.RunID, ok)
			}
		} else if q.count() != 0 {
			t.Fatalf("answer %d, yet %d runs queued", w.Code, q.count())
		}
	})
}

// failingQueue fails the enqueue of every run id divisible by 3, as a
// database that comes and goes.
type failingQueue struct {
	*memQueue
	failed bool
}

func (q *failingQueue) Enqueue(ctx context.Context, runID int64, payload []byte) (inbox.EnqueueResult, error) {
	if runID%3 == 0 {
		q.failed = true
		return inbox.EnqueueResult{}, fmt.Errorf("fuzz: %w", inbox.ErrUnavailable)
	}
	return q.memQueue.Enqueue(ctx, runID, payload)
}
