package webhook_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/webhook"
)

// TestIntakeAnswers checks every row of the answer table: status, exact body
// (or its reason), and whether anything reached the queue.
func TestIntakeAnswers(t *testing.T) {
	t.Parallel()
	completed := completedPayload(t, 63187)
	started := readTestdata(t, "started.json")
	big := completedPayload(t, 777)
	big = bytes.Replace(big, []byte(`"error_string": null`), []byte(`"error_string": "`+strings.Repeat("x", 4<<10)+`"`), 1)

	tests := []struct {
		name   string
		rq     request
		setup  func(h *webhook.Handler, q *memQueue)
		status int
		body   string // exact body, when set
		errHas string // a substring of the "error" reason, when set
		queued int    // runs in the queue afterwards
		header [2]string
	}{
		{name: "new completed run", rq: request{body: completed, header: bearer(testToken)},
			status: 202, body: `{"run_id":63187,"state":"queued","duplicate":false}`, queued: 1},
		{name: "token in the query", rq: request{target: "/webhooks/paradime?token=" + testToken, body: completed},
			status: 202, body: `{"run_id":63187,"state":"queued","duplicate":false}`, queued: 1},
		{name: "rotated second token", rq: request{body: completed, header: bearer(testToken2)},
			status: 202, queued: 1},
		{name: "lower-case bearer scheme", rq: request{body: completed, header: map[string]string{"Authorization": "bearer " + testToken}},
			status: 202, queued: 1},
		{name: "duplicate gives the current state", rq: request{body: completed, header: bearer(testToken)},
			setup: func(h *webhook.Handler, q *memQueue) {
				do(h, request{body: completed, header: bearer(testToken)})
				q.setState(63187, inbox.StateProcessing)
			},
			status: 200, body: `{"run_id":63187,"state":"processing","duplicate":true}`, queued: 1},
		{name: "started payload", rq: request{body: started, header: bearer(testToken)},
			status: 202, body: `{"state":"ignored"}`, queued: 0},
		{name: "not JSON", rq: request{body: []byte("hello"), header: bearer(testToken)},
			status: 400, errHas: "JSON object", queued: 0},
		{name: "truncated JSON", rq: request{body: completed[:len(completed)/2], header: bearer(testToken)},
			status: 400, errHas: "JSON object", queued: 0},
		{name: "empty body", rq: request{body: nil, header: bearer(testToken)},
			status: 400, errHas: "JSON object", queued: 0},
		{name: "JSON array", rq: request{body: []byte(`[1,2]`), header: bearer(testToken)},
			status: 400, errHas: "JSON object", queued: 0},
		{name: "JSON object, not a Bolt payload", rq: request{body: []byte(`{"hello":"world"}`), header: bearer(testToken)},
			status: 400, errHas: "not a Bolt payload", queued: 0},
		{name: "completed payload without api_url", rq: request{body: []byte(`{"id":5,"commands":[{"id":1}]}`), header: bearer(testToken)},
			status: 400, errHas: "api_url", queued: 0},
		{name: "no token", rq: request{body: completed},
			status: 401, queued: 0, header: [2]string{"WWW-Authenticate", `Bearer realm="boltfetch"`}},
		{name: "wrong token", rq: request{body: completed, header: bearer(testToken + "x")},
			status: 401, queued: 0},
		{name: "wrong token in the query", rq: request{target: "/webhooks/paradime?token=nope-nope-nope-nope", body: completed},
			status: 401, queued: 0},
		{name: "a wrong header wins over a right query", rq: request{target: "/webhooks/paradime?token=" + testToken, body: completed, header: bearer("wrong-wrong-wrong-wrong")},
			status: 401, queued: 0},
		{name: "basic scheme", rq: request{body: completed, header: map[string]string{"Authorization": "Basic " + testToken}},
			status: 401, queued: 0},
		{name: "GET", rq: request{method: http.MethodGet, header: bearer(testToken)},
			status: 405, queued: 0, header: [2]string{"Allow", "POST"}},
		{name: "PUT", rq: request{method: http.MethodPut, body: completed, header: bearer(testToken)},
			status: 405, queued: 0, header: [2]string{"Allow", "POST"}},
		{name: "over the size, declared", rq: request{body: big, header: bearer(testToken)},
			status: 413, queued: 0},
		{name: "over the size, chunked", rq: request{body: big, noLength: true, header: bearer(testToken)},
			status: 413, queued: 0},
		{name: "form urlencoded", rq: request{body: completed, header: map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/x-www-form-urlencoded"}},
			status: 415, queued: 0},
		{name: "multipart form", rq: request{body: completed, header: map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "multipart/form-data; boundary=xyz"}},
			status: 415, queued: 0},
		{name: "form with a broken parameter", rq: request{body: completed, header: map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "Application/X-WWW-Form-Urlencoded; ;;"}},
			status: 415, queued: 0},
		{name: "text/plain JSON is accepted", rq: request{body: completed, header: map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "text/plain"}},
			status: 202, queued: 1},
		{name: "json with charset is accepted", rq: request{body: completed, header: map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json; charset=utf-8"}},
			status: 202, queued: 1},
		{name: "queue unavailable", rq: request{body: completed, header: bearer(testToken)},
			setup:  func(h *webhook.Handler, q *memQueue) { q.fail.Store(true) },
			status: 503, queued: 0, header: [2]string{"Retry-After", "30"}},
		{name: "draining", rq: request{body: completed, header: bearer(testToken)},
			setup:  func(h *webhook.Handler, q *memQueue) { h.Drain() },
			status: 503, queued: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := newMemQueue()
			h := newHandler(t, q, func(c *webhook.Config) { c.MaxPayloadSize = 4 << 10 })
			if tt.setup != nil {
				tt.setup(h, q)
			}
			w := do(h, tt.rq)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body.String())
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			got := strings.TrimSpace(w.Body.String())
			if tt.body != "" && got != tt.body {
				t.Errorf("body %s, want %s", got, tt.body)
			}
			m := decodeBody(t, w)
			if tt.status >= 400 {
				reason, _ := m["error"].(string)
				if reason == "" || strings.Contains(reason, "\n") {
					t.Errorf("refusal without a one-line reason: %q", got)
				}
				if tt.errHas != "" && !strings.Contains(reason, tt.errHas) {
					t.Errorf("reason %q lacks %q", reason, tt.errHas)
				}
			}
			if tt.header[0] != "" && w.Header().Get(tt.header[0]) != tt.header[1] {
				t.Errorf("%s: %q, want %q", tt.header[0], w.Header().Get(tt.header[0]), tt.header[1])
			}
			if n := q.count(); n != tt.queued {
				t.Errorf("%d runs queued, want %d", n, tt.queued)
			}
		})
	}
}

// TestIntakeStoresPayloadByteExact: what the queue receives is the body as
// sent, not a re-encoding.
func TestIntakeStoresPayloadByteExact(t *testing.T) {
	t.Parallel()
	q := newMemQueue()
	h := newHandler(t, q, nil)
	body := completedPayload(t, 4242)
	body = append([]byte("  \n"), append(body, "\n\t "...)...)
	if w := do(h, request{body: body, header: bearer(testToken)}); w.Code != 202 {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
	if got := q.runs[4242].payload; !bytes.Equal(got, body) {
		t.Fatalf("stored payload differs from the body sent (%d vs %d bytes)", len(got), len(body))
	}
}

// TestDuplicateConcurrentMem: the same payload posted 20 times at once gives
// one 202 and nineteen 200s, against the in-memory queue. The same contract
// on the real inbox is in inbox_test.go.
func TestDuplicateConcurrentMem(t *testing.T) {
	t.Parallel()
	q := newMemQueue()
	h := newHandler(t, q, nil)
	accepted, dups := postConcurrently(t, h, completedPayload(t, 9001), 20)
	if accepted != 1 || dups != 19 {
		t.Fatalf("%d accepted and %d duplicates, want 1 and 19", accepted, dups)
	}
	if q.count() != 1 {
		t.Fatalf("%d runs queued", q.count())
	}
}

// postConcurrently posts body n times at once through a real server and
// counts the 202s and 200s; any other answer fails the test.
func postConcurrently(t *testing.T, h *webhook.Handler, body []byte, n int) (accepted, dups int) {
	t.Helper()
	srv := newTestServer(t, h)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/paradime", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			var ans struct {
				RunID     int64  `json:"run_id"`
				State     string `json:"state"`
				Duplicate bool   `json:"duplicate"`
			}
			err = decodeResponse(resp, &ans)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case resp.StatusCode == 202 && !ans.Duplicate && ans.State == "queued":
				accepted++
			case resp.StatusCode == 200 && ans.Duplicate && ans.State != "":
				dups++
			default:
				t.Errorf("answer %d %+v", resp.StatusCode, ans)
			}
		})
	}
	close(start)
	wg.Wait()
	return accepted, dups
}

// TestIntakeMetrics: deliveries are counted by outcome and reason, acks are
// timed, the depth gauge asks the queue, and the follow-up observers record.
func TestIntakeMetrics(t *testing.T) {
	t.Parallel()
	q := newMemQueue()
	h := newHandler(t, q, nil)
	do(h, request{body: completedPayload(t, 1), header: bearer(testToken)})
	do(h, request{body: completedPayload(t, 1), header: bearer(testToken)})
	do(h, request{body: completedPayload(t, 2), header: bearer(testToken)})
	do(h, request{body: readTestdata(t, "started.json"), header: bearer(testToken)})
	do(h, request{body: []byte("junk"), header: bearer(testToken)})
	do(h, request{body: completedPayload(t, 3)})
	q.setState(2, inbox.StateFailed)
	h.Metrics().ObserveFollowUp(1500_000_000, webhook.ResultDone)
	h.Metrics().AddItemErrors("download", 3)

	text := scrape(t, h)
	for series, want := range map[string]string{
		`boltfetch_webhook_deliveries_total{outcome="accepted",reason=""}`:             "2",
		`boltfetch_webhook_deliveries_total{outcome="duplicate",reason=""}`:            "1",
		`boltfetch_webhook_deliveries_total{outcome="ignored",reason=""}`:              "1",
		`boltfetch_webhook_deliveries_total{outcome="rejected",reason="bad_payload"}`:  "1",
		`boltfetch_webhook_deliveries_total{outcome="rejected",reason="unauthorized"}`: "1",
		`boltfetch_webhook_deliveries_total{outcome="rejected",reason="too_large"}`:    "0",
		`boltfetch_webhook_ack_seconds_count`:                                          "3",
		`boltfetch_inbox_runs{state="queued"}`:                                         "1",
		`boltfetch_inbox_runs{state="failed"}`:                                         "1",
		`boltfetch_inbox_runs{state="done"}`:                                           "0",
		`boltfetch_inbox_up`:                                                           "1",
		`boltfetch_followup_duration_seconds_count{result="done"}`:                     "1",
		`boltfetch_followup_duration_seconds_sum{result="done"}`:                       "1.5",
		`boltfetch_followup_item_errors_total{stage="download"}`:                       "3",
	} {
		if got := metricValue(t, text, series); got != want {
			t.Errorf("%s = %s, want %s", series, got, want)
		}
	}
}

// TestDepthScrapeBounded: a queue that hangs does not hang the scrape; the
// depth is reported down and the other metrics still come.
func TestDepthScrapeBounded(t *testing.T) {
	t.Parallel()
	q := newMemQueue()
	q.block = make(chan struct{}) // never closed: every queue call waits for its context
	h := newHandler(t, q, func(c *webhook.Config) { c.ProbeTimeout = 50_000_000 })
	text := scrape(t, h)
	if got := metricValue(t, text, "boltfetch_inbox_up"); got != "0" {
		t.Errorf("boltfetch_inbox_up = %s, want 0", got)
	}
	if strings.Contains(text, "boltfetch_inbox_runs{") {
		t.Error("depth reported for a queue that did not answer")
	}
	metricValue(t, text, `boltfetch_webhook_deliveries_total{outcome="accepted",reason=""}`)
}

// TestRefusalReasonIsOneShortLine: a parser's long, multi-line error reaches
// the sender as one line of at most 300 bytes, valid UTF-8.
func TestRefusalReasonIsOneShortLine(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é\n", 400)
	h := newHandler(t, newMemQueue(), func(c *webhook.Config) {
		c.Parse = func([]byte) (int64, bool, error) { return 0, false, errors.New(long) }
	})
	w := do(h, request{body: []byte(`{}`), header: bearer(testToken)})
	reason, _ := decodeBody(t, w)["error"].(string)
	if w.Code != 400 || strings.ContainsAny(reason, "\n\r") || len(reason) > 300+len("…") || !utf8.ValidString(reason) || strings.ContainsRune(reason, utf8.RuneError) {
		t.Fatalf("%d %q", w.Code, reason)
	}
}
