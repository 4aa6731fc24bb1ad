package fakebolt

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFaultStatusFirstN(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	s.SetFault(RouteField("boltResourceUrl"), Fault{FirstN: 2, Status: http.StatusTooManyRequests, RetryAfter: "3"})
	if resp, _ := post(t, s, CommandQuery(193439), nil); resp.StatusCode != 200 {
		t.Errorf("other root field faulted: %d", resp.StatusCode)
	}
	var got []int
	for range 3 {
		resp, _ := post(t, s, ResourceQuery(1205731), nil)
		got = append(got, resp.StatusCode)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "3" {
			t.Errorf("Retry-After %q, want 3", resp.Header.Get("Retry-After"))
		}
	}
	if diff := cmp.Diff([]int{429, 429, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	st := s.Stats()
	if st.FaultsInjected[RouteField("boltResourceUrl")] != 2 || st.Requests[RouteField("boltResourceUrl")] != 3 || st.Requests[RouteGraphQL] != 4 {
		t.Errorf("stats: faults %v requests %v", st.FaultsInjected, st.Requests)
	}
	// Clearing a fault.
	s.SetFault(RouteGraphQL, Fault{Status: 502})
	if resp, _ := post(t, s, CommandQuery(193439), nil); resp.StatusCode != 502 {
		t.Errorf("always-on fault: status %d, want 502", resp.StatusCode)
	}
	s.SetFault(RouteGraphQL, Fault{})
	if resp, _ := post(t, s, CommandQuery(193439), nil); resp.StatusCode != 200 {
		t.Errorf("cleared fault: status %d", resp.StatusCode)
	}
}

func TestFaultStatusOnDownload(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	u := resourceURL(t, s, 1205731)
	s.SetFault(RouteDownload, Fault{FirstN: 1, Status: http.StatusServiceUnavailable, RetryAfter: "1"})
	resp, body := get(t, u)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || !bytes.Contains(body, []byte("<Code>SlowDown</Code>")) {
		t.Errorf("status %d Retry-After %q body %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := get(t, u); resp.StatusCode != 200 {
		t.Errorf("after FirstN: status %d", resp.StatusCode)
	}
}

func TestFaultRateIsSeeded(t *testing.T) {
	t.Parallel()
	pattern := func(seed int64) []int {
		s := newServer(t, Options{Seed: seed})
		s.SetFault(RouteGraphQL, Fault{Rate: 0.4, Status: 504})
		var out []int
		for range 40 {
			resp, _ := post(t, s, CommandQuery(193439), nil)
			out = append(out, resp.StatusCode)
		}
		return out
	}
	a, b := pattern(7), pattern(7)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different faults (-first +second):\n%s", diff)
	}
	n := 0
	for _, c := range a {
		if c == 504 {
			n++
		}
	}
	if n == 0 || n == len(a) {
		t.Errorf("rate 0.4 faulted %d of %d requests", n, len(a))
	}
}

func TestFaultReset(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	s.SetFault(RouteGraphQL, Fault{FirstN: 1, Reset: true})
	body := bytes.NewReader([]byte(`{"query":"{ __typename }"}`))
	_, err := testClient.Post(s.APIURL(), "application/json", body)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reset: err %v, want a connection reset", err)
	}
	if resp, _ := post(t, s, CommandQuery(193439), nil); resp.StatusCode != 200 {
		t.Errorf("after the reset: status %d", resp.StatusCode)
	}
}

func TestFaultTruncate(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	data := bytes.Repeat([]byte("x"), 10000)
	s.AddRun(Run{ID: 5, Commands: []Command{{ID: 50, Resources: []Resource{{ID: 51, Path: "a.bin", Data: data}}}}})
	u := resourceURL(t, s, 51)
	s.SetFault(RouteDownload, Fault{FirstN: 1, Truncate: true})
	resp, err := testClient.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ContentLength != 10000 || len(got) != 5000 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Content-Length %d, read %d bytes, err %v; want 10000, 5000, unexpected EOF", resp.ContentLength, len(got), err)
	}
	if resp, body := get(t, u); resp.StatusCode != 200 || len(body) != 10000 {
		t.Errorf("after truncation: status %d, %d bytes", resp.StatusCode, len(body))
	}

	// The API route truncates too.
	s.SetFault(RouteGraphQL, Fault{FirstN: 1, Truncate: true})
	req, _ := http.NewRequest(http.MethodPost, s.APIURL(), bytes.NewReader([]byte(`{"query":`+jsonString(CommandQuery(193442))+`}`)))
	req.Header.Set("X-API-KEY", testKey)
	req.Header.Set("X-API-SECRET", testSecret)
	resp, err = testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated API answer: err %v, want unexpected EOF", err)
	}
}

// The slow-body and latency tests assert lower bounds only: a loaded machine
// can make them slower, never faster, so they cannot flake.
func TestFaultSlowBodyAndLatency(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	data := bytes.Repeat([]byte("y"), 4000)
	s.AddRun(Run{ID: 5, Commands: []Command{{ID: 50, Resources: []Resource{{ID: 51, Path: "a.bin", Data: data}}}}})
	u := resourceURL(t, s, 51)

	s.SetFault(RouteDownload, Fault{FirstN: 1, SlowBytesPerSec: 20000}) // 4000 B at 20 kB/s: >= 200 ms
	start := time.Now()
	resp, body := get(t, u)
	if elapsed := time.Since(start); elapsed < 150*time.Millisecond || resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Errorf("slow body: %v, status %d, %d bytes", elapsed, resp.StatusCode, len(body))
	}

	s.SetFault(RouteGraphQL, Fault{FirstN: 1, Latency: 200 * time.Millisecond})
	start = time.Now()
	post(t, s, CommandQuery(193439), nil)
	if elapsed := time.Since(start); elapsed < 200*time.Millisecond {
		t.Errorf("latency fault: answered after %v", elapsed)
	}
}

func TestBandwidthAndLatencyOptions(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{BytesPerSec: 20000, Latency: 50 * time.Millisecond})
	data := bytes.Repeat([]byte("z"), 4000)
	s.AddRun(Run{ID: 5, Commands: []Command{{ID: 50, Resources: []Resource{{ID: 51, Path: "a.bin", Data: data}}}}})
	start := time.Now()
	u := resourceURL(t, s, 51) // >= 50 ms
	resp, body := get(t, u)    // >= 50 ms + 200 ms
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond || resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Errorf("latency+bandwidth: %v, status %d, %d bytes", elapsed, resp.StatusCode, len(body))
	}
}

func TestPeakConcurrency(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	u := resourceURL(t, s, 1205731)
	s.ResetStats()
	// Each download waits until all of them are in flight, so the peak is
	// exact whatever the scheduling.
	const n = 6
	var arrived sync.WaitGroup
	arrived.Add(n)
	release := make(chan struct{})
	s.setTestHook(func() { arrived.Done(); <-release })
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { get(t, u) })
	}
	arrived.Wait()
	close(release)
	wg.Wait()
	st := s.Stats()
	if st.PeakConcurrency[RouteDownload] != n || st.PeakOverall != n || st.Requests[RouteDownload] != n || len(st.Headers[RouteDownload]) != n {
		t.Errorf("peak %d overall %d requests %d headers %d, want %d each",
			st.PeakConcurrency[RouteDownload], st.PeakOverall, st.Requests[RouteDownload], len(st.Headers[RouteDownload]), n)
	}
}

func TestCloseWakesSleepers(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Latency: time.Hour})
	errc := make(chan error, 1)
	go func() {
		_, err := testClient.Post(s.APIURL(), "application/json", bytes.NewReader([]byte(`{"query":"{ __typename }"}`)))
		errc <- err
	}()
	for i := 0; i < 500 && s.Stats().Requests[RouteGraphQL] == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	s.Close()
	s.Close() // idempotent
	if err := <-errc; err == nil {
		t.Errorf("request sleeping through Close got an answer")
	}
	if err := s.Start(); err == nil {
		t.Errorf("Start after Close: no error")
	}
}
