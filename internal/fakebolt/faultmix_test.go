package fakebolt

import (
	"net/http"
	"testing"
)

// TestFaultMix: a Mix fault gives each triggered request one of its faults,
// so one route sees several statuses (and Retry-After only with its own).
func TestFaultMix(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{Seed: 7})
	s.SetFault(RouteGraphQL, Fault{FirstN: 40, Mix: []Fault{
		{Status: http.StatusInternalServerError},
		{Status: http.StatusBadGateway},
		{Status: http.StatusTooManyRequests, RetryAfter: "2"},
	}})
	seen := map[int]int{}
	for range 40 {
		resp, _ := post(t, s, CommandQuery(193439), nil)
		seen[resp.StatusCode]++
		if ra := resp.Header.Get("Retry-After"); (ra == "2") != (resp.StatusCode == 429) {
			t.Errorf("status %d with Retry-After %q", resp.StatusCode, ra)
		}
	}
	for _, code := range []int{500, 502, 429} {
		if seen[code] == 0 {
			t.Errorf("no %d in 40 requests: %v", code, seen)
		}
	}
	if seen[200] != 0 {
		t.Errorf("%d requests were not faulted within FirstN", seen[200])
	}
	if resp, _ := post(t, s, CommandQuery(193439), nil); resp.StatusCode != 200 {
		t.Errorf("after FirstN: status %d", resp.StatusCode)
	}
	if got := s.Stats().FaultsInjected[RouteGraphQL]; got != 40 {
		t.Errorf("FaultsInjected = %d, want 40", got)
	}
}
