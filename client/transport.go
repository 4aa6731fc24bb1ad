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
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/boltfetch/boltfetch/internal/retry"
)

// callState follows one call across its attempts.
type callState struct {
	mu         sync.Mutex
	op         string
	attempts   int
	lastStatus int
	retryAfter time.Duration // from the last 429/503, uncapped
}

func (st *callState) snapshot() (attempts, lastStatus int, retryAfter time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.attempts, st.lastStatus, st.retryAfter
}

// attemptResult is what one attempt ended with.
type attemptResult struct {
	err    error       // nil on success; already typed
	retry  bool        // another attempt may succeed
	status int         // HTTP status, 0 when none came
	header http.Header // the answer's headers, for Retry-After
}

// call sends body to the bound endpoint and hands a 200/201 answer's body
// to decode, streaming, under the size cap. It retries what is transient
// (see retry.Status and permanent) with the shared retry.Policy, within the
// retry budget, MaxRetries and the call's context.
func (c *Client) call(ctx context.Context, st *callState, body []byte, decode func(io.Reader) error) error {
	for {
		res := c.attempt(ctx, st, body, decode)
		attempts, _, _ := st.snapshot()
		if res.err == nil {
			if attempts == 1 {
				c.budget.refund()
			}
			return nil
		}
		if ctx.Err() != nil {
			return c.stopped(ctx.Err(), st)
		}
		if !res.retry || attempts > c.cfg.MaxRetries {
			return res.err
		}
		now := time.Now()
		wait := c.policy.Wait(attempts, res.status, res.header, now)
		if ra, ok := retry.After(res.status, res.header, now); ok {
			if dl, ok := ctx.Deadline(); ok && dl.Sub(now) < wait {
				c.log.Warn("paradime retry skipped: Retry-After exceeds the call deadline", "host", c.host, "op", st.op, "attempt", attempts, "status", res.status, "retry_after", ra)
				return res.err
			}
		}
		why := slog.Int("status", res.status)
		if te := (*TransportError)(nil); errors.As(res.err, &te) {
			why = slog.String("error", te.Err.Error()) // the cause, already redacted
		}
		if !c.budget.take() {
			c.log.Warn("paradime retry budget exhausted; not retrying", "host", c.host, "op", st.op, "attempt", attempts, why)
			return res.err
		}
		c.log.Warn("paradime call will be retried", "host", c.host, "op", st.op, "attempt", attempts, why, "wait", wait)
		if err := retry.Sleep(ctx, wait); err != nil {
			return c.stopped(err, st)
		}
	}
}

// stopped is the error of a call whose own context ended: a
// *RateLimitError when it was waiting out a 429, else a *TransportError.
func (c *Client) stopped(err error, st *callState) error {
	attempts, last, retryAfter := st.snapshot()
	if last == http.StatusTooManyRequests {
		return &RateLimitError{Host: c.host, RetryAfter: retryAfter, Attempts: attempts}
	}
	return &TransportError{Host: c.host, Attempts: attempts, LastStatus: last, Err: &redactedError{msg: c.redact(err.Error()), err: err}}
}

// attempt is one POST, its body read within the attempt's deadline: a
// reset or a stall mid-body is a transport error, retried like a refused
// connection, while a body that arrived whole but does not decode is a
// *DecodeError, never retried.
func (c *Client) attempt(ctx context.Context, st *callState, body []byte, decode func(io.Reader) error) attemptResult {
	st.mu.Lock()
	st.attempts++
	attempt, op := st.attempts, st.op
	st.mu.Unlock()

	actx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return attemptResult{err: &DecodeError{Host: c.host, Err: errors.New("cannot build the request")}}
	}
	for k, vs := range c.headers {
		req.Header[k] = vs
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err // url.Error quotes the URL, token included
		}
		err = c.attemptTimeout(actx, ctx, err)
		c.log.Debug("paradime attempt failed", "host", c.host, "op", op, "attempt", attempt, "error", c.errString(err), "elapsed", time.Since(start))
		return c.transportResult(err, st)
	}
	defer resp.Body.Close()
	st.mu.Lock()
	st.lastStatus = resp.StatusCode
	st.retryAfter, _ = retry.After(resp.StatusCode, resp.Header, time.Now())
	st.mu.Unlock()
	res := attemptResult{status: resp.StatusCode, header: resp.Header}
	if resp.ContentLength > c.cfg.MaxBodyBytes {
		res.err = &BodyTooLargeError{Host: c.host, Limit: c.cfg.MaxBodyBytes}
		return res
	}
	cr := &cappedReader{r: resp.Body, left: c.cfg.MaxBodyBytes, host: c.host}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		// An error body is only quoted in part: read a bounded prefix.
		raw, rerr := io.ReadAll(io.LimitReader(cr, min(c.cfg.MaxBodyBytes, maxErrorBody)))
		c.log.Debug("paradime attempt", "host", c.host, "op", op, "attempt", attempt, "status", resp.StatusCode, "bytes", cr.n, "elapsed", time.Since(start))
		res.err = c.statusError(resp, raw, attempt)
		res.retry = retry.Status(resp.StatusCode)
		if rerr != nil && res.retry {
			return c.transportResult(c.attemptTimeout(actx, ctx, rerr), st)
		}
		return res
	}
	derr := decode(wholeBody(cr, resp.ContentLength))
	if cr.err == nil && derr == nil {
		// Let the connection be reused: read what the decoder left, if little.
		_, _ = io.Copy(io.Discard, io.LimitReader(cr, 4<<10))
	}
	switch {
	case cr.err != nil:
		err := c.attemptTimeout(actx, ctx, cr.err)
		c.log.Debug("paradime attempt failed reading the body", "host", c.host, "op", op, "attempt", attempt, "status", resp.StatusCode, "bytes", cr.n, "error", c.errString(err), "elapsed", time.Since(start))
		return c.transportResult(err, st)
	case derr != nil:
		res.err = derr
		return res
	}
	c.log.Debug("paradime attempt", "host", c.host, "op", op, "attempt", attempt, "status", resp.StatusCode, "bytes", cr.n, "elapsed", time.Since(start))
	return res
}

// maxErrorBody bounds what is read of a non-2xx answer.
const maxErrorBody = 1 << 20

// maxWholeBody is the largest answer read whole before it is decoded: a
// boltCommand answer with a few MB of stdout, as Paradime sends it (longer
// outputs come through boltCommandLogs, in pages). It bounds what a server
// can make each concurrent call hold on top of what streaming holds.
const maxWholeBody = 4 << 20

// wholeBody reads a body of known length, up to maxWholeBody, into one
// buffer of that size and returns it for decoding; it returns cr itself for
// any other body, which is then decoded as it streams. The decoder parses a
// *bytes.Buffer in place, whereas from a stream it copies the bytes into a
// buffer of its own that doubles until it holds the largest value: for a
// boltCommand answer, whose stdout is nearly all of it, that is up to twice
// the body in memory and as much again in copies and freshly zeroed pages,
// against exactly the body here. A read error is kept in cr.err, where the
// caller looks first.
func wholeBody(cr *cappedReader, length int64) io.Reader {
	if length <= 0 || length > maxWholeBody || length > cr.left {
		return cr
	}
	var b bytes.Buffer
	// MinRead more, so that ReadFrom does not grow the buffer to learn
	// that the body has ended.
	b.Grow(int(length) + bytes.MinRead)
	_, _ = b.ReadFrom(cr)
	return &b
}

// transportResult types an attempt's transport error; permanent ones (a
// body over the cap, a certificate refused) are not retried.
func (c *Client) transportResult(err error, st *callState) attemptResult {
	var tooLarge *BodyTooLargeError
	if errors.As(err, &tooLarge) {
		return attemptResult{err: tooLarge}
	}
	attempts, last, _ := st.snapshot()
	te := &TransportError{Host: c.host, Attempts: attempts, LastStatus: last, Err: &redactedError{msg: c.redact(err.Error()), err: err}}
	return attemptResult{err: te, retry: !permanent(err)}
}

// attemptTimeout says so when an attempt failed on its own deadline rather
// than the call's, so the error does not read like the caller's timeout.
func (c *Client) attemptTimeout(attemptCtx, callCtx context.Context, err error) error {
	if attemptCtx.Err() != nil && callCtx.Err() == nil {
		return &AttemptTimeoutError{Limit: c.cfg.RequestTimeout, Err: err}
	}
	return err
}

// AttemptTimeoutError reports one attempt that ran out of its own time
// (Config.RequestTimeout), body included. It is retried; after the last
// attempt it is the cause inside a *TransportError.
type AttemptTimeoutError struct {
	Limit time.Duration
	Err   error
}

func (e *AttemptTimeoutError) Error() string {
	return fmt.Sprintf("attempt timed out after %s: %v", e.Limit, e.Err)
}

func (e *AttemptTimeoutError) Unwrap() error { return e.Err }

// cappedReader reads a body up to a cap, and keeps the first read error
// (other than io.EOF) so that a failure of the connection is told from a
// body that does not decode.
type cappedReader struct {
	r    io.Reader
	left int64
	n    int64
	host string
	err  error
}

func (r *cappedReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.left <= 0 {
		// One byte more tells a body of exactly the cap from a longer one.
		var one [1]byte
		m, err := r.r.Read(one[:])
		if m > 0 {
			r.err = &BodyTooLargeError{Host: r.host, Limit: r.n}
			return 0, r.err
		}
		if err != nil && err != io.EOF {
			r.err = err
		}
		return 0, err
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	m, err := r.r.Read(p)
	r.n += int64(m)
	r.left -= int64(m)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return m, err
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

// permanent reports transport errors that another attempt cannot fix.
func permanent(err error) bool {
	var tooLarge *BodyTooLargeError
	var hostErr *HostNotAllowedError
	var certErr *x509.CertificateInvalidError
	var unknownAuth x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case errors.As(err, &tooLarge), errors.As(err, &hostErr),
		errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostname),
		errors.Is(err, http.ErrSchemeMismatch):
		return true
	}
	return false
}
