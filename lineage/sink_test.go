package lineage

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is an OpenLineage endpoint: it validates each event against the
// schemas, answers 503 to the first two attempts of every failEvery-th
// distinct body, and counts each run id and event type it accepted.
type receiver struct {
	t         *testing.T
	sch       *eventSchema
	failEvery int
	mu        sync.Mutex
	n         int
	got       map[string]int // runId+eventType → times accepted
	auth      []string
	attempts  map[string]int // body → attempts
	order     map[string]int // body → rank of first arrival
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	rc.mu.Lock()
	if rc.attempts == nil {
		rc.attempts, rc.order = map[string]int{}, map[string]int{}
	}
	if _, ok := rc.order[string(body)]; !ok {
		rc.n++
		rc.order[string(body)] = rc.n
	}
	rc.attempts[string(body)]++
	fail := rc.failEvery > 0 && rc.order[string(body)]%rc.failEvery == 0 && rc.attempts[string(body)] <= 2
	rc.auth = append(rc.auth, r.Header.Get("Authorization"))
	rc.mu.Unlock()
	if fail {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var lines [][]byte
	if r.URL.Path == "/batch" {
		var b struct {
			Events []jsonRaw `json:"events"`
		}
		if err := jsonUnmarshal(body, &b); err != nil {
			w.WriteHeader(400)
			return
		}
		for _, e := range b.Events {
			lines = append(lines, e)
		}
	} else {
		lines = [][]byte{body}
	}
	for _, l := range lines {
		if err := rc.sch.validate(l); err != nil {
			rc.t.Errorf("invalid event received: %v", err)
			w.WriteHeader(400)
			return
		}
	}
	rc.mu.Lock()
	for _, l := range lines {
		rc.got[runIDOf(rc.t, l)+" "+typeOf(rc.t, l)]++
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// TestHTTPExactlyOnce sends the demo run through 503s: every event arrives
// exactly once, valid, with the API key as Bearer; one event per POST and
// in batches.
func TestHTTPExactlyOnce(t *testing.T) {
	sch := loadSchema(t)
	want := &memSink{}
	demoExport(t, want)
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			rc := &receiver{t: t, sch: sch, failEvery: 3, got: map[string]int{}}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			cfg := HTTPConfig{URL: srv.URL + "/api/v1/lineage", APIKey: "sekret", RetryWaitMin: time.Millisecond, MaxRetryAfter: 10 * time.Millisecond, Concurrency: 3}
			if batch {
				cfg.BatchURL, cfg.BatchSize = srv.URL+"/batch", 7
			}
			sink, err := NewHTTPSink(cfg)
			if err != nil {
				t.Fatal(err)
			}
			demoExport(t, sink)
			for _, l := range want.lines() {
				k := runIDOf(t, l) + " " + typeOf(t, l)
				if rc.got[k] != 1 {
					t.Errorf("%s arrived %d times", k, rc.got[k])
				}
			}
			retried := 0
			for _, a := range rc.attempts {
				if a > 1 {
					retried++
				}
			}
			if retried == 0 {
				t.Error("no request was refused: the test injected no fault")
			}
			if len(rc.got) != len(want.lines()) {
				t.Errorf("%d distinct events arrived, want %d", len(rc.got), len(want.lines()))
			}
			for _, a := range rc.auth {
				if a != "Bearer sekret" {
					t.Fatalf("Authorization %q", a)
				}
			}
		})
	}
}

// TestHTTPDown: an endpoint that is down gives a DeliveryError naming the
// events lost, marked retryable, and is not hammered once it failed.
func TestHTTPDown(t *testing.T) {
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		w.Header().Set("Retry-After", "3600") // capped by MaxRetryAfter
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	sink, err := NewHTTPSink(HTTPConfig{URL: srv.URL + "/api/v1/lineage?token=hidden", Retries: 2, RetryWaitMin: time.Millisecond, MaxRetryAfter: 5 * time.Millisecond, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := New(Config{Now: fixedNow}, sink)
	start := time.Now()
	err = ex.Export(context.Background(), pairRun("succeeded"), []Command{{ID: "1", Command: "dbt run", Status: "succeeded"}})
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v: Retry-After not capped", time.Since(start))
	}
	var de *DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("error %v, want a DeliveryError", err)
	}
	if de.Count != 4 || de.Total != 4 || len(de.Lost) != 4 || !de.Retryable {
		t.Errorf("lost %d of %d (%d named), retryable %v; want all 4 named, retryable", de.Count, de.Total, len(de.Lost), de.Retryable)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 503 {
		t.Errorf("cause %v, want HTTP 503", de.Err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "START nightly (run ") || strings.Contains(msg, "hidden") {
		t.Errorf("error %q should name the lost events and not the URL's query", msg)
	}
	if calls > 3 {
		t.Errorf("%d requests: the endpoint was tried again after it failed", calls)
	}
}

// TestFileSinkConcurrentRuns appends many runs at once, from separate
// sinks as separate processes would: each run's events stay one block.
func TestFileSinkConcurrentRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	const runs = 8
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sink, err := NewFileSink(path)
			if err != nil {
				t.Error(err)
				return
			}
			ex, _ := New(Config{Now: fixedNow}, sink)
			r := pairRun("succeeded")
			r.ID = fmt.Sprint(i)
			var cmds []Command
			for c := range 50 {
				cmds = append(cmds, Command{ID: fmt.Sprint(c), Command: "dbt run", Status: "succeeded"})
			}
			if err := ex.Export(context.Background(), r, cmds); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var order []string // the Bolt run of each line
	for sc.Scan() {
		var ev Event
		if err := jsonUnmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("a torn line: %v", err)
		}
		order = append(order, boltRunOf(ev))
	}
	if len(order) != runs*(2+2*50) {
		t.Fatalf("%d lines, want %d", len(order), runs*(2+2*50))
	}
	for i := 0; i < len(order); i += 102 {
		for j := i; j < i+102; j++ {
			if order[j] != order[i] {
				t.Fatalf("line %d belongs to run %s inside the block of run %s: runs interleaved", j, order[j], order[i])
			}
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files in the folder, want only the target (spools removed)", len(entries))
	}
}

// boltRunOf is the root run of an event (itself for the run's own).
func boltRunOf(ev Event) string {
	if ev.Run.Facets != nil && ev.Run.Facets.Parent != nil && ev.Run.Facets.Parent.Root != nil {
		return ev.Run.Facets.Parent.Root.Run.RunID
	}
	return ev.Run.RunID
}

func TestTail(t *testing.T) {
	long := strings.Repeat("é", 5000) + "END"
	got, err := Tail(strings.NewReader(long), MaxErrorMessage)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > MaxErrorMessage || !strings.HasSuffix(got, "END") || !strings.HasPrefix(got, "…") || !bytes.Equal([]byte(got), bytes.ToValidUTF8([]byte(got), nil)) {
		t.Errorf("Tail: %d bytes, %q…%q", len(got), got[:10], got[len(got)-5:])
	}
	if got, _ := Tail(strings.NewReader("short"), MaxErrorMessage); got != "short" {
		t.Errorf("Tail of a short text: %q", got)
	}
}

// TestHTTPRunOrder: through 4 workers, each run's START arrives before its
// end event.
func TestHTTPRunOrder(t *testing.T) {
	var mu sync.Mutex
	first := map[string]string{} // run id → first event type received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev Event
		if err := jsonUnmarshal(body, &ev); err != nil {
			w.WriteHeader(400)
			return
		}
		time.Sleep(time.Duration(len(body)%3) * time.Millisecond) // uneven service times
		mu.Lock()
		if _, ok := first[ev.Run.RunID]; !ok {
			first[ev.Run.RunID] = ev.EventType
		}
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	sink, err := NewHTTPSink(HTTPConfig{URL: srv.URL, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	demoExport(t, sink)
	for id, typ := range first {
		if typ != "START" && typ != "ABORT" {
			t.Errorf("run %s: %s arrived first", id, typ)
		}
	}
	if len(first) == 0 {
		t.Fatal("nothing arrived")
	}
}

func TestClipHead(t *testing.T) {
	s := "Database Error in model x\n" + strings.Repeat("é", 4000)
	got := clipHead(s, MaxErrorMessage)
	if len(got) > MaxErrorMessage || !strings.HasPrefix(got, "Database Error") || !strings.HasSuffix(got, "…") || !utf8ValidString(got) {
		t.Errorf("clipHead: %d bytes, valid %v", len(got), utf8ValidString(got))
	}
	if clipHead("short", 10) != "short" {
		t.Error("a short message was cut")
	}
}
