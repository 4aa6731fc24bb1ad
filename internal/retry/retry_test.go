package retry

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"5", 5 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"+3", 0, false},
		{"1.5", 0, false},
		{"5s", 0, false},
		{"soon", 0, false},
		{"99999999999999999999", time.Duration(maxSeconds) * time.Second, true}, // overflow: the longest wait, capped by the caller
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},                // a date in the past: retry now
		{now.Add(2 * time.Minute).Format(time.RFC850), 2 * time.Minute, true}, // obsolete forms are HTTP dates too
		{now.Add(3 * time.Minute).Format(time.ANSIC), 3 * time.Minute, true},
		{"Sun, 99 Nov 2026 08:49:37 GMT", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWaitHonoursRetryAfterOnlyOn429And503(t *testing.T) {
	t.Parallel()
	p := Policy{Min: 100 * time.Millisecond, Max: 2 * time.Second, MaxRetryAfter: 30 * time.Second, Random: func() float64 { return 0 }}
	h := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	tests := []struct {
		name   string
		n      int
		status int
		h      http.Header
		want   time.Duration
	}{
		{"429 seconds", 1, 429, h("3"), 3 * time.Second},
		{"503 date", 1, 503, h(now.Add(10 * time.Second).Format(http.TimeFormat)), 10 * time.Second},
		{"503 date capped", 1, 503, h(now.Add(time.Hour).Format(http.TimeFormat)), 30 * time.Second},
		{"429 seconds capped", 1, 429, h("86400"), 30 * time.Second},
		{"429 zero", 3, 429, h("0"), 0},
		{"429 garbage falls back to backoff", 1, 429, h("later"), 50 * time.Millisecond},
		{"500 ignores Retry-After", 1, 500, h("20"), 50 * time.Millisecond},
		{"transport error", 2, 0, nil, 100 * time.Millisecond},
		{"backoff capped", 30, 502, nil, time.Second},
	}
	for _, tt := range tests {
		if got := p.Wait(tt.n, tt.status, tt.h, now); got != tt.want {
			t.Errorf("%s: Wait = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	lo := Policy{Min: 100 * time.Millisecond, Max: 2 * time.Second, Random: func() float64 { return 0 }}
	hi := lo
	hi.Random = func() float64 { return 0.999999 }
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: 1600 * time.Millisecond, 6: 2 * time.Second, 5000: 2 * time.Second, math.MaxInt: 2 * time.Second, 0: 100 * time.Millisecond, -4: 100 * time.Millisecond} {
		if got := lo.Backoff(n); got != want/2 {
			t.Errorf("Backoff(%d) with no jitter = %v, want %v", n, got, want/2)
		}
		if got := hi.Backoff(n); got < want*99/100 || got > want {
			t.Errorf("Backoff(%d) with full jitter = %v, want about %v", n, got, want)
		}
	}
	// The zero Policy has working defaults.
	if got := (Policy{}).Backoff(1); got < DefaultMin/2 || got > DefaultMin {
		t.Errorf("zero Policy: Backoff(1) = %v", got)
	}
	if got := (Policy{}).CapRetryAfter(time.Hour); got != DefaultMaxRetryAfter {
		t.Errorf("zero Policy: CapRetryAfter(1h) = %v", got)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	for code := 100; code < 600; code++ {
		want := code == 408 || code == 429 || code == 500 || code == 502 || code == 503 || code == 504
		if Status(code) != want {
			t.Errorf("Status(%d) = %v", code, !want)
		}
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on a cancelled context: %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Error(err)
	}
}

// FuzzParseRetryAfter: any header value gives a non-negative wait, never a
// panic, and a value accepted once is accepted the same way again.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "1e9", "99999999999999999999999", " 1", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v with ok=false", v, d)
		}
		if c := (Policy{MaxRetryAfter: time.Minute}).CapRetryAfter(d); c < 0 || c > time.Minute {
			t.Fatalf("capped %v to %v", d, c)
		}
	})
}
