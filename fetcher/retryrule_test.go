package fetcher

import (
	"net/http"
	"testing"

	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
	"github.com/boltfetch/boltfetch/internal/retry"
)

// TestStatusRuleIsRetryStatus: a download attempt, and an item error in the
// report, call a status transient exactly when retry.Status does, the rule
// the API client follows: one rule, not three.
func TestStatusRuleIsRetryStatus(t *testing.T) {
	t.Parallel()
	for code := 100; code < 600; code++ {
		want := retry.Status(code)
		if got := (&DownloadError{Kind: KindStatus, StatusCode: code}).retryable(); got != want {
			t.Errorf("download status %d: retryable = %v, retry.Status = %v", code, got, want)
		}
		if got := (ItemError{Kind: KindStatus, StatusCode: code}).Retryable(); got != want {
			t.Errorf("item status %d: Retryable = %v, retry.Status = %v", code, got, want)
		}
	}
}

// TestDownloadStatusRetries: against the fake, a download answered 500 once
// is tried again and archived; one answered 501 (not transient) is tried
// once and reported with its status, permanent.
func TestDownloadStatusRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status   int
		complete bool
	}{{http.StatusInternalServerError, true}, {http.StatusNotImplemented, false}} {
		run := demodata.Run()
		srv := startFake(t, fakebolt.Options{}, run)
		srv.SetFault(fakebolt.RouteDownload, fakebolt.Fault{FirstN: 1, Status: tc.status})
		st, _ := newStore(t)
		rep := fetch(t, payloadOf(t, srv, run.ID), fastOpts(newClient(t), st))
		if rep.Summary.Complete != tc.complete {
			t.Fatalf("%d: complete = %v, errors %+v", tc.status, rep.Summary.Complete, rep.Errors)
		}
		stats := srv.Stats()
		if n := stats.FaultsInjected[fakebolt.RouteDownload]; n != 1 {
			t.Fatalf("%d: %d faults injected, want 1", tc.status, n)
		}
		if tc.complete {
			continue
		}
		if len(rep.Errors) != 1 {
			t.Fatalf("%d: errors = %+v, want one", tc.status, rep.Errors)
		}
		e := rep.Errors[0]
		if e.Stage != StageDownload || e.Kind != KindStatus || e.StatusCode != tc.status || e.Retryable() {
			t.Errorf("%d: error = %+v, want a permanent status error", tc.status, e)
		}
		// Every artifact was asked for once: the 501 was not tried again.
		artifacts := 0
		for _, c := range run.Commands {
			artifacts += len(c.Resources)
		}
		if n := stats.Requests[fakebolt.RouteDownload]; n != artifacts {
			t.Errorf("%d: %d downloads for %d artifacts: the refused one was retried", tc.status, n, artifacts)
		}
	}
}
