package lineage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/boltfetch/boltfetch/internal/safetext"
)

// Defaults of HTTPConfig.
const (
	DefaultConcurrency   = 4
	DefaultRetries       = 5
	DefaultMaxRetryAfter = 30 * time.Second
	DefaultHTTPTimeout   = 30 * time.Second
	DefaultBatchSize     = 100
)

// HTTPConfig configures an HTTPSink. Zero values mean the defaults.
type HTTPConfig struct {
	// URL receives one event per POST, as OpenLineage's HTTP transport and
	// Marquez's /api/v1/lineage expect. Required.
	URL string
	// BatchURL, when set, receives events in batches instead, as
	// {"events": [...]} (OpenMetadata's /api/v1/openlineage/lineage/batch).
	BatchURL string
	// BatchSize is the most events per batch. Default 100.
	BatchSize int
	// APIKey, when set, is sent as "Authorization: Bearer <key>".
	APIKey string
	// Concurrency is the most POSTs in flight at once. Default 4.
	Concurrency int
	// Retries is the most retries of a POST answered 429 or 5xx or that
	// failed in transport, with exponential backoff. Default 5; negative:
	// none.
	Retries int
	// MaxRetryAfter caps a Retry-After the endpoint asks for. Default 30 s.
	MaxRetryAfter time.Duration
	// Timeout bounds one attempt. Default 30 s.
	Timeout time.Duration
	// Client is the HTTP client used (its Timeout is replaced by Timeout).
	// Default: a new one.
	Client *http.Client
	// Logger receives retries and losses (nil: discarded).
	Logger *slog.Logger
	// RetryWaitMin is the first backoff. Default 500 ms (tests lower it).
	RetryWaitMin time.Duration
}

// HTTPSink POSTs events to an OpenLineage endpoint.
type HTTPSink struct {
	cfg  HTTPConfig
	rc   *retryablehttp.Client
	name string
}

// NewHTTPSink checks cfg and returns the sink.
func NewHTTPSink(cfg HTTPConfig) (*HTTPSink, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("lineage: endpoint %q is not an http(s) URL", redact(cfg.URL))
	}
	if cfg.BatchURL != "" {
		if b, err := url.Parse(cfg.BatchURL); err != nil || (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" {
			return nil, fmt.Errorf("lineage: batch endpoint %q is not an http(s) URL", redact(cfg.BatchURL))
		}
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultHTTPTimeout
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hc := &http.Client{}
	if cfg.Client != nil {
		c := *cfg.Client
		hc = &c
	}
	hc.Timeout = cfg.Timeout
	// Never follow a redirect: Go keeps the Authorization header on a
	// redirect to the same host or a subdomain, even from https to http.
	// A 3xx is then a delivery error.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	rc := retryablehttp.NewClient()
	rc.HTTPClient = hc
	rc.Logger = nil
	rc.RetryMax = cfg.Retries
	rc.RetryWaitMin = cfg.RetryWaitMin
	rc.RetryWaitMax = max(cfg.MaxRetryAfter, cfg.RetryWaitMin)
	rc.CheckRetry = retryablehttp.DefaultRetryPolicy
	// Without an error handler the library drops the last response, and
	// its status with it.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	maxAfter := cfg.MaxRetryAfter
	rc.Backoff = func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		// DefaultBackoff honours Retry-After without a bound: cap it.
		return min(retryablehttp.DefaultBackoff(lo, hi, attempt, resp), maxAfter)
	}
	name := redact(cfg.URL)
	if cfg.BatchURL != "" {
		name = redact(cfg.BatchURL)
	}
	return &HTTPSink{cfg: cfg, rc: rc, name: name}, nil
}

// redact drops a URL's query and userinfo.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// Open starts a block: its events are POSTed as they are added, by up to
// Concurrency workers; Add waits while they are all busy, so memory stays
// bounded whatever the number of events. The events of one run id always go
// to the same worker, so they arrive in the order they were made (START
// before COMPLETE); in batches, a batch goes to the worker of its first
// event.
func (s *HTTPSink) Open(ctx context.Context) (Block, error) {
	b := &httpBlock{s: s}
	b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for range s.cfg.Concurrency {
		jobs := make(chan httpJob, 1)
		b.jobs = append(b.jobs, jobs)
		b.wg.Add(1)
		go b.worker(jobs)
	}
	return b, nil
}

type httpJob struct {
	body []byte
	refs []EventRef
}

type httpBlock struct {
	s      *HTTPSink
	ctx    context.Context
	cancel context.CancelFunc
	jobs   []chan httpJob // one per worker
	wg     sync.WaitGroup
	batch  httpJob
	total  int
	closed bool

	mu   sync.Mutex
	lost lost
	down error // set once the endpoint is failing: the rest is not sent
}

func (b *httpBlock) Add(ctx context.Context, ref EventRef, line []byte) error {
	if b.closed {
		return errors.New("lineage: block already closed")
	}
	b.total++
	if b.s.cfg.BatchURL == "" {
		return b.queue(ctx, httpJob{body: bytes.Clone(line), refs: []EventRef{ref}})
	}
	if len(b.batch.refs) == 0 {
		b.batch.body = append(b.batch.body[:0], `{"events":[`...)
	} else {
		b.batch.body = append(b.batch.body, ',')
	}
	b.batch.body = append(b.batch.body, line...)
	b.batch.refs = append(b.batch.refs, ref)
	if len(b.batch.refs) >= b.s.cfg.BatchSize {
		return b.flush(ctx)
	}
	return nil
}

func (b *httpBlock) flush(ctx context.Context) error {
	if len(b.batch.refs) == 0 {
		return nil
	}
	j := httpJob{body: append(b.batch.body, ']', '}'), refs: b.batch.refs}
	b.batch = httpJob{}
	return b.queue(ctx, j)
}

func (b *httpBlock) queue(ctx context.Context, j httpJob) error {
	b.mu.Lock()
	down := b.down
	if down != nil {
		b.lost.add(down, true, j.refs...)
	}
	b.mu.Unlock()
	if down != nil {
		return nil
	}
	h := fnv.New32a()
	h.Write([]byte(j.refs[0].RunID))
	select {
	case b.jobs[h.Sum32()%uint32(len(b.jobs))] <- j:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		b.lost.add(ctx.Err(), true, j.refs...)
		b.mu.Unlock()
		return ctx.Err()
	}
}

func (b *httpBlock) worker(jobs chan httpJob) {
	defer b.wg.Done()
	for j := range jobs {
		b.mu.Lock()
		down := b.down
		b.mu.Unlock()
		if down != nil {
			b.mu.Lock()
			b.lost.add(down, true, j.refs...)
			b.mu.Unlock()
			continue
		}
		retryable, err := b.post(j)
		if err == nil {
			continue
		}
		b.s.cfg.Logger.Warn("lineage: events not delivered", "endpoint", b.s.name, "events", len(j.refs), "error", err)
		b.mu.Lock()
		b.lost.add(err, retryable, j.refs...)
		if retryable && b.down == nil {
			b.down = fmt.Errorf("not sent: the endpoint was failing (%w)", err)
		}
		b.mu.Unlock()
	}
}

// post sends one body with retries; it reports whether a failure is worth
// retrying later (the endpoint down, 429, 5xx).
func (b *httpBlock) post(j httpJob) (bool, error) {
	target := b.s.cfg.URL
	if b.s.cfg.BatchURL != "" {
		target = b.s.cfg.BatchURL
	}
	req, err := retryablehttp.NewRequestWithContext(b.ctx, http.MethodPost, target, j.body)
	if err != nil {
		return false, fmt.Errorf("build the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if b.s.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+b.s.cfg.APIKey)
	}
	resp, err := b.s.rc.Do(req)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil && resp == nil {
		// The url.Error names the URL; ours is redacted.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, fmt.Errorf("POST %s: %w", b.s.name, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return false, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return retryable, &StatusError{URL: b.s.name, Status: resp.StatusCode, Body: b.s.excerpt(snippet)}
}

// excerpt makes the start of a refusal fit for reports, job errors and logs:
// an endpoint that echoes the request must not leak the API key, nor drive a
// terminal.
func (s *HTTPSink) excerpt(b []byte) string {
	text := string(bytes.TrimSpace(b))
	if len(s.cfg.APIKey) >= 4 {
		text = strings.ReplaceAll(text, s.cfg.APIKey, "[REDACTED]")
	}
	return safetext.Line(text)
}

// StatusError is an endpoint's refusal.
type StatusError struct {
	URL    string
	Status int
	// Body is the start of the answer (its first 512 bytes), with the API key
	// replaced by "[REDACTED]" and controls escaped.
	Body string
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("POST %s: HTTP %d", e.URL, e.Status)
	}
	return fmt.Sprintf("POST %s: HTTP %d: %s", e.URL, e.Status, e.Body)
}

func (b *httpBlock) Close(ctx context.Context) error {
	if b.closed {
		return nil
	}
	b.closed = true
	ferr := b.flush(ctx)
	for _, c := range b.jobs {
		close(c)
	}
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		b.cancel() // in-flight POSTs end; their events are lost
		<-done
	}
	b.cancel()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.lost.err(b.s.name, b.total); err != nil {
		return err
	}
	return ferr
}

func (b *httpBlock) Abort() {
	if b.closed {
		return
	}
	b.closed = true
	b.cancel()
	for _, c := range b.jobs {
		close(c)
	}
	b.wg.Wait()
}
