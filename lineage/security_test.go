package lineage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/internal/safetext"
)

// TestHTTPRefusalRedactsKey: an endpoint that echoes the request in its
// refusal must not leak the API key into the StatusError (and so into the
// report, River's last_error, /runs and the logs), nor controls.
func TestHTTPRefusalRedactsKey(t *testing.T) {
	t.Parallel()
	const key = "ol-key-0123456789abcdef"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("bad request; you sent " + r.Header.Get("Authorization") + " " + strings.Join(safetext.Hostile, " ")))
	}))
	defer srv.Close()
	sink, err := NewHTTPSink(HTTPConfig{URL: srv.URL, APIKey: key, Retries: -1, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := New(Config{Now: fixedNow}, sink)
	err = ex.Export(context.Background(), pairRun("succeeded"), []Command{{ID: "1", Command: "dbt run", Status: "succeeded"}})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 400 {
		t.Fatalf("error %v, want HTTP 400", err)
	}
	if strings.Contains(err.Error(), key) || !strings.Contains(se.Body, "Bearer [REDACTED]") {
		t.Errorf("the key leaks: body %q", se.Body)
	}
	if bad, ok := safetext.Clean(se.Body, ""); !ok {
		t.Errorf("raw %q in the excerpt %q", bad, se.Body)
	}
}

// TestHTTPNoRedirect: the client does not follow a redirect (Go would carry
// the Authorization header to the same host or a subdomain); a 3xx is a
// delivery error and the key goes nowhere else.
func TestHTTPNoRedirect(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/lineage", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sink, err := NewHTTPSink(HTTPConfig{URL: srv.URL + "/api/v1/lineage", APIKey: "ol-key-0123456789abcdef",
		Retries: 2, RetryWaitMin: time.Millisecond, MaxRetryAfter: 5 * time.Millisecond, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := New(Config{Now: fixedNow}, sink)
	err = ex.Export(context.Background(), pairRun("succeeded"), []Command{{ID: "1", Command: "dbt run", Status: "succeeded"}})
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect was followed %d times", n)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusTemporaryRedirect {
		t.Fatalf("error %v, want HTTP 307", err)
	}
	var de *DeliveryError
	if !errors.As(err, &de) || de.Retryable {
		t.Errorf("a redirect is not retryable: %v", err)
	}
}
