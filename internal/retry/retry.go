// Package retry holds the one retry policy of boltfetch: which answers are
// transient, how long to wait between attempts (a jittered exponential
// backoff) and how a server's Retry-After header (delta-seconds or an HTTP
// date) is read and capped. The Paradime API client and the artifact
// downloader both use it.
package retry

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy is a jittered exponential backoff that yields to a server's
// Retry-After. Zero fields take the Default* values.
type Policy struct {
	// Min is the wait before the first retry (before jitter); each further
	// retry doubles it, up to Max.
	Min, Max time.Duration
	// MaxRetryAfter caps how long a server's Retry-After is honoured.
	MaxRetryAfter time.Duration
	// Random returns a number in [0, 1); nil uses math/rand/v2. Tests set it.
	Random func() float64
}

// Defaults of a zero Policy.
const (
	DefaultMin           = 100 * time.Millisecond
	DefaultMax           = 5 * time.Second
	DefaultMaxRetryAfter = 60 * time.Second
)

// Backoff returns the wait before retry n (n = 1 for the first retry): Min
// doubled n-1 times, capped at Max, with equal jitter (half fixed, half
// random), so that clients failing together do not retry together.
func (p Policy) Backoff(n int) time.Duration {
	lo, hi := p.Min, p.Max
	if lo <= 0 {
		lo = DefaultMin
	}
	if hi <= 0 {
		hi = DefaultMax
	}
	hi = max(hi, lo)
	wait := float64(lo) * math.Pow(2, float64(max(n, 1)-1))
	if wait > float64(hi) || math.IsInf(wait, 0) || math.IsNaN(wait) {
		wait = float64(hi)
	}
	random := p.Random
	if random == nil {
		random = rand.Float64
	}
	return time.Duration(wait/2 + random()*wait/2)
}

// Wait returns the wait before retry n after an answer with the given
// status and headers (status 0 and nil headers after a transport error): the
// server's Retry-After when it sent one with a 429 or a 503, capped at
// MaxRetryAfter; otherwise Backoff(n).
func (p Policy) Wait(n, status int, h http.Header, now time.Time) time.Duration {
	if ra, ok := After(status, h, now); ok {
		return p.CapRetryAfter(ra)
	}
	return p.Backoff(n)
}

// CapRetryAfter bounds a server's Retry-After by MaxRetryAfter.
func (p Policy) CapRetryAfter(d time.Duration) time.Duration {
	limit := p.MaxRetryAfter
	if limit <= 0 {
		limit = DefaultMaxRetryAfter
	}
	return min(max(d, 0), limit)
}

// After returns the Retry-After of an answer, uncapped, when the status is
// one that carries a meaningful one (429 Too Many Requests, 503 Service
// Unavailable) and the header parses.
func After(status int, h http.Header, now time.Time) (time.Duration, bool) {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0, false
	}
	return ParseRetryAfter(h.Get("Retry-After"), now)
}

// maxSeconds is the largest delta-seconds that fits a time.Duration.
const maxSeconds = int64(math.MaxInt64 / time.Second)

// ParseRetryAfter reads a Retry-After value (RFC 9110 10.2.3): delta-seconds
// or an HTTP date, relative to now. A date in the past is 0. It reports false
// for an empty or malformed value, including negative seconds. The result is
// uncapped (but never overflows): callers cap it with Policy.CapRetryAfter.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0, false
			}
		}
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > maxSeconds { // only overflow fails here
			secs = maxSeconds
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// Status reports whether an HTTP status is transient, worth another attempt
// of a read-only request: 408, 429, 500, 502, 503 and 504. A 500 is
// included: Paradime's API answers queries, which are read-only, and a
// GraphQL error that will fail again comes in a 200 with an errors array,
// which is never retried.
func Status(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Sleep waits d, or until ctx is done (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
