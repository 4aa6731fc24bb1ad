package fetcher

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// transientMix is a quarter of requests failing with every transient kind
// the retry policy covers: 500, 502, 503 (with a Retry-After date already
// past), 429 (Retry-After 0) and connection resets.
func transientMix() fakebolt.Fault {
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	return fakebolt.Fault{Rate: 0.25, Mix: []fakebolt.Fault{
		{Status: http.StatusInternalServerError},
		{Status: http.StatusBadGateway},
		{Status: http.StatusServiceUnavailable, RetryAfter: past},
		{Status: http.StatusTooManyRequests, RetryAfter: "0"},
		{Reset: true},
	}}
}

// TestFetchReliabilityTransientMix: with 25% of API calls and downloads
// failing with a mix of 500/502/503/429/resets, and every presigned URL
// expired on first use, the follow-up of a run of real dbt artifacts is
// complete and byte-exact.
func TestFetchReliabilityTransientMix(t *testing.T) {
	t.Parallel()
	run, srv, _ := startDemo(t, fakebolt.Options{ExpireOnFirstUse: true, Seed: 25})
	srv.SetFault(fakebolt.RouteGraphQL, transientMix())
	srv.SetFault(fakebolt.RouteDownload, transientMix())
	followUpsComplete(t, srv, run, newClient(t))
	stats := srv.Stats()
	if stats.FaultsInjected[fakebolt.RouteGraphQL] < 4 || stats.FaultsInjected[fakebolt.RouteDownload] < 4 {
		t.Errorf("too few faults injected (%v, requests %v): the test proves little", stats.FaultsInjected, stats.Requests)
	}
}

// TestDownloadRetryAfterDate: the downloader reads Retry-After as the one
// parser does, an HTTP date included (it used to read only seconds).
func TestDownloadRetryAfterDate(t *testing.T) {
	t.Parallel()
	when := time.Now().Add(90 * time.Second).UTC()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", when.Format(http.TimeFormat))
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	d := testDownloader(1 << 20)
	d.attempts = 1
	st, _ := newStore(t)
	_, err := d.fetch(context.Background(), st, "a/x.json", srv.URL+"/x.json", nil, nil, nil)
	var de *DownloadError
	if !errors.As(err, &de) || de.StatusCode != 503 || !de.retryAfterSet {
		t.Fatalf("got %v", err)
	}
	if de.RetryAfter < 85*time.Second || de.RetryAfter > 91*time.Second {
		t.Errorf("RetryAfter = %v, want about 90s from the date", de.RetryAfter)
	}
	if got := downloadRetry.CapRetryAfter(de.RetryAfter); got != 30*time.Second {
		t.Errorf("the wait is capped at %v, want 30s", got)
	}
}
