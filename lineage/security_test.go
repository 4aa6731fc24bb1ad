package lineage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

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
