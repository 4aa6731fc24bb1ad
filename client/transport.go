package client

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// callState follows one call across its attempts. It travels in the
// request's context from Client.exec to the transport and the retry policy.
type callState struct {
	mu         sync.Mutex
	op         string
	attempts   int
	lastStatus int
	retryAfter time.Duration // from the last 429/503, uncapped
}

type callStateKey struct{}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	if st == nil {
		st = &callState{}
	}
	return st
}

func (st *callState) snapshot() (attempts, lastStatus int, retryAfter time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.attempts, st.lastStatus, st.retryAfter
}

// guardTransport is the innermost layer a bound Client sends through. It
// refuses any request not addressed to its one host, adds the credentials,
// bounds each attempt in time, and reads the whole body under a size cap so
// that a reset or a stall mid-body is an attempt error, which is retried.
type guardTransport struct {
	base     http.RoundTripper
	scheme   string
	hostport string // u.Host of the bound endpoint, exactly
	host     string // normalised, for errors and logs
	headers  http.Header
	maxBody  int64
	timeout  time.Duration
	log      *slog.Logger
	redact   func(error) string
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != t.scheme || req.URL.Host != t.hostport {
		// Only a redirect or a bug could get here; credentials stay home.
		return nil, &HostNotAllowedError{Host: req.URL.Hostname(), Flag: AllowHostFlag, Reason: "the request is not addressed to the bound endpoint"}
	}
	st := stateFrom(req.Context())
	st.mu.Lock()
	st.attempts++
	attempt, op := st.attempts, st.op
	st.mu.Unlock()

	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	defer cancel()
	out := req.Clone(ctx)
	for k, vs := range t.headers {
		out.Header[k] = vs
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		err = t.attemptTimeout(ctx, req, err)
		t.log.Debug("paradime attempt failed", "host", t.host, "op", op, "attempt", attempt, "error", t.redact(err), "elapsed", time.Since(start))
		return nil, err
	}
	st.mu.Lock()
	st.lastStatus = resp.StatusCode
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		st.retryAfter = ra
	} else {
		st.retryAfter = 0
	}
	st.mu.Unlock()
	defer resp.Body.Close()
	if resp.ContentLength > t.maxBody {
		return nil, &BodyTooLargeError{Host: t.host, Limit: t.maxBody}
	}
	body, err := readCapped(resp.Body, resp.ContentLength, t.maxBody)
	if err != nil {
		err = t.attemptTimeout(ctx, req, err)
		t.log.Debug("paradime attempt failed reading the body", "host", t.host, "op", op, "attempt", attempt, "status", resp.StatusCode, "error", t.redact(err), "elapsed", time.Since(start))
		return nil, err
	}
	if int64(len(body)) > t.maxBody {
		return nil, &BodyTooLargeError{Host: t.host, Limit: t.maxBody}
	}
	t.log.Debug("paradime attempt", "host", t.host, "op", op, "attempt", attempt, "status", resp.StatusCode, "bytes", len(body), "elapsed", time.Since(start))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Request = req
	return resp, nil
}

// attemptTimeout says so when an attempt failed on its own deadline rather
// than the call's, so the error does not read like the caller's timeout.
func (t *guardTransport) attemptTimeout(attemptCtx context.Context, req *http.Request, err error) error {
	if attemptCtx.Err() != nil && req.Context().Err() == nil {
		return fmt.Errorf("attempt timed out after %s (RequestTimeout): %w", t.timeout, err)
	}
	return err
}

// maxPrealloc bounds what an announced Content-Length may allocate before
// any byte arrives: the header is the server's word, the bytes are proof.
const maxPrealloc = 4 << 20

// readCapped reads a body of at most limit bytes (limit+1 tells it was
// longer), sizing the buffer once when the announced length is small.
func readCapped(r io.Reader, contentLength, limit int64) ([]byte, error) {
	lr := io.LimitReader(r, limit+1)
	if contentLength <= 0 {
		return io.ReadAll(lr)
	}
	// One spare byte so that reading to EOF needs no reallocation.
	buf := bytes.NewBuffer(make([]byte, 0, min(contentLength+1, maxPrealloc)))
	_, err := buf.ReadFrom(lr)
	return buf.Bytes(), err
}

// retryBudget is a token bucket shared by a Client and its WithEndpoint
// children: a retry takes one token; a call that needed no retry gives a
// tenth back.
type retryBudget struct {
	mu     sync.Mutex
	tokens float64
	max    float64
}

func newRetryBudget(n int) *retryBudget {
	return &retryBudget{tokens: float64(n), max: float64(n)}
}

func (b *retryBudget) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *retryBudget) refund() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = math.Min(b.max, b.tokens+0.1)
}

// retryableStatus lists the statuses worth another attempt. 500 is not one:
// GraphQL servers answer 500 to queries that will fail again.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// permanent reports transport errors that another attempt cannot fix.
func permanent(err error) bool {
	var tooLarge *BodyTooLargeError
	var hostErr *HostNotAllowedError
	var certErr *x509.CertificateInvalidError
	var unknownAuth x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case errors.As(err, &tooLarge), errors.As(err, &hostErr),
		errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostname):
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) && errors.Is(ue.Err, http.ErrSchemeMismatch) {
		return true
	}
	return false
}

// checkRetry is the retryablehttp CheckRetry policy. Its ctx is the call's
// own, so a call deadline or cancellation stops retrying at once, while an
// attempt timeout (the transport's inner deadline) is retried.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	st := stateFrom(ctx)
	attempts, _, retryAfter := st.snapshot()
	var why slog.Attr
	switch {
	case err != nil:
		if permanent(err) {
			return false, err
		}
		why = slog.String("error", c.errString(err))
	case retryableStatus(resp.StatusCode):
		why = slog.Int("status", resp.StatusCode)
		if retryAfter > 0 && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			wait := min(retryAfter, c.cfg.MaxRetryAfter)
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				c.log.Warn("paradime retry skipped: Retry-After exceeds the call deadline", "host", c.host, "op", st.op, "attempt", attempts, "status", resp.StatusCode, "retry_after", retryAfter)
				return false, nil
			}
		}
	default:
		if attempts == 1 {
			c.budget.refund()
		}
		return false, nil
	}
	if attempts > c.cfg.MaxRetries {
		return false, err
	}
	if !c.budget.take() {
		c.log.Warn("paradime retry budget exhausted; not retrying", "host", c.host, "op", st.op, "attempt", attempts, why)
		return false, err
	}
	c.log.Warn("paradime call will be retried", "host", c.host, "op", st.op, "attempt", attempts, why)
	return true, nil
}

// backoff is the retryablehttp Backoff: the server's Retry-After (on 429 and
// 503) capped at MaxRetryAfter, otherwise an exponential wait from min to
// max with equal jitter (half fixed, half random).
func (c *Client) backoff(minWait, maxWait time.Duration, attemptNum int, resp *http.Response) time.Duration {
	return backoffWait(minWait, maxWait, c.cfg.MaxRetryAfter, attemptNum, resp, time.Now(), rand.Float64)
}

func backoffWait(minWait, maxWait, maxRetryAfter time.Duration, attemptNum int, resp *http.Response, now time.Time, random func() float64) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return min(ra, maxRetryAfter)
		}
	}
	wait := float64(minWait) * math.Pow(2, float64(attemptNum))
	if wait > float64(maxWait) || math.IsInf(wait, 0) || math.IsNaN(wait) {
		wait = float64(maxWait)
	}
	return time.Duration(wait/2 + random()*wait/2)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(math.MaxInt64/time.Second) {
			secs = int64(math.MaxInt64 / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}
