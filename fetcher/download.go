package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/retry"
)

// DownloadError is one failed download attempt, or the last of several.
type DownloadError struct {
	Kind       string
	URL        string // scheme, host and path only: never the presigned query
	StatusCode int
	RetryAfter time.Duration // the server's Retry-After, uncapped
	Attempts   int
	Err        error

	retryAfterSet bool // the server sent a usable Retry-After (it may be 0)
}

func (e *DownloadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "download %s: %s", e.URL, e.Kind)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

func (e *DownloadError) Unwrap() error { return e.Err }

// retryable reports whether another attempt at the same URL may succeed: a
// truncated body, a transport error, or a status that retry.Status, the one
// rule the API client follows too, calls transient.
func (e *DownloadError) retryable() bool {
	return e.Kind == KindTruncated || e.Kind == KindTransport ||
		(e.Kind == KindStatus && retry.Status(e.StatusCode))
}

// downloadBuffer is the buffer of one download: socket reads are gathered
// until half of it is full before the bytes are written on.
const downloadBuffer = 256 << 10

// sensitiveHeaders are never sent to an artifact host.
var sensitiveHeaders = []string{"Authorization", "X-Api-Key", "X-Api-Secret", "X-Paradime-Workspace", "Cookie", "Proxy-Authorization"}

// NewDownloadClient returns the HTTP client used for artifact downloads: it
// carries no credentials of any kind, follows at most 5 redirects and never
// to a scheme other than http(s), and strips any credential header a
// redirect could carry. There is no overall timeout (artifacts can be
// hundreds of MB); Fetch applies an idle timeout on the body instead.
func NewDownloadClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 60 * time.Second
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if err := checkDownloadURL(req.URL, loopbackHTTPAllowed(req.Context())); err != nil {
		return err
	}
	for _, h := range sensitiveHeaders {
		req.Header.Del(h)
	}
	return nil
}

// checkDownloadURL accepts https, and plain http to a loopback host only when
// loopbackHTTP is set, which Fetch does only when the API endpoint is itself
// on loopback (the fake Bolt API, the demo and local tests). Otherwise an API
// host could have local services (http://127.0.0.1:8500/...) archived as
// artifacts.
func checkDownloadURL(u *url.URL, loopbackHTTP bool) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopbackHTTP && client.IsLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http" && client.IsLoopbackHost(u.Hostname()):
		return &refusedURLError{fmt.Sprintf("refusing http URL to %s: plain http to loopback is only for an API endpoint on loopback, and artifacts are fetched over https only", u.Host)}
	}
	return &refusedURLError{fmt.Sprintf("refusing %s URL to %s: artifacts are fetched over https only", u.Scheme, u.Host)}
}

// refusedURLError is checkDownloadURL's refusal, also when a redirect meets
// it: a bad_url, not worth retrying.
type refusedURLError struct{ msg string }

func (e *refusedURLError) Error() string { return e.msg }

// allowLoopbackHTTP decides, from the normalised host of the bound API
// endpoint, whether artifact URLs may be plain http to loopback: only when
// the API itself is on loopback.
func allowLoopbackHTTP(apiHost string) bool {
	return apiHost != "" && client.IsLoopbackHost(apiHost)
}

// loopbackKey marks a download request's context as allowed plain http to
// loopback, so that checkRedirect applies the same rule as the first URL.
type loopbackKey struct{}

func loopbackHTTPAllowed(ctx context.Context) bool {
	ok, _ := ctx.Value(loopbackKey{}).(bool)
	return ok
}

// downloader streams artifacts into the archive.
type downloader struct {
	http        *http.Client
	maxSize     int64
	attempts    int           // per URL
	idleTimeout time.Duration // no byte for this long aborts an attempt
	backoff     func(attempt int) time.Duration
	// loopbackHTTP allows plain http to loopback hosts (see
	// checkDownloadURL): set only when the API endpoint is on loopback.
	loopbackHTTP bool
	// compression is Options.Compression.
	compression string
}

// contentType is the media type an artifact is stored with, from its name.
func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".json"):
		return "application/json"
	case strings.HasSuffix(key, ".log"), strings.HasSuffix(key, ".txt"):
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// fetch downloads rawURL into key with up to d.attempts attempts. Each
// attempt writes a fresh temp file that is committed only when complete, so a
// failure or a cancel leaves nothing under key.
//
// tee, when not nil, receives the bytes of each attempt as they arrive; it is
// told when an attempt fails.
func (d *downloader) fetch(ctx context.Context, store archive.Store, key, rawURL string, tee *streamTee, onBytes func(int64), onTotal func(int64)) (archive.Digest, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return archive.Digest{}, &DownloadError{Kind: KindBadURL, URL: "(unparsable URL)", Err: errors.New("the API returned an unparsable URL")}
	}
	if err := checkDownloadURL(u, d.loopbackHTTP); err != nil {
		return archive.Digest{}, &DownloadError{Kind: KindBadURL, URL: client.RedactURL(rawURL), Err: err}
	}
	var last *DownloadError
	for attempt := 1; attempt <= d.attempts; attempt++ {
		if attempt > 1 {
			// The one retry policy: the server's Retry-After (seconds or
			// a date, on 429/503) when it sent one, capped; else backoff.
			wait := d.backoff(attempt - 1)
			if last.retryAfterSet {
				wait = downloadRetry.CapRetryAfter(last.RetryAfter)
			}
			if err := retry.Sleep(ctx, wait); err != nil {
				return archive.Digest{}, &DownloadError{Kind: KindCanceled, URL: client.RedactURL(rawURL), Attempts: attempt - 1, Err: err}
			}
		}
		dg, err := d.once(ctx, store, key, rawURL, tee, onBytes, onTotal)
		if err == nil {
			return dg, nil
		}
		if tee != nil {
			tee.attemptFailed()
		}
		var de *DownloadError
		if !errors.As(err, &de) {
			return archive.Digest{}, err
		}
		de.Attempts = attempt
		last = de
		if ctx.Err() != nil {
			de.Kind = KindCanceled
			return archive.Digest{}, de
		}
		if !de.retryable() {
			return archive.Digest{}, de
		}
	}
	return archive.Digest{}, last
}

// once is one download attempt.
func (d *downloader) once(ctx context.Context, store archive.Store, key, rawURL string, tee *streamTee, onBytes func(int64), onTotal func(int64)) (archive.Digest, error) {
	safe := client.RedactURL(rawURL)
	fail := func(kind string, status int, err error) (archive.Digest, error) {
		return archive.Digest{}, &DownloadError{Kind: kind, URL: safe, StatusCode: status, Err: err}
	}
	// The idle timer cancels the attempt when the body stalls.
	actx, cancel := context.WithCancelCause(context.WithValue(ctx, loopbackKey{}, d.loopbackHTTP))
	defer cancel(nil)
	idle := time.AfterFunc(d.idleTimeout, func() { cancel(fmt.Errorf("no data for %s", d.idleTimeout)) })
	defer idle.Stop()

	// The temp file comes first: an archive that cannot take the file
	// refuses it before any byte is asked for.
	w, err := archive.CreateContent(ctx, store, key, d.compression, archive.CreateOptions{ContentType: contentType(key)})
	if err != nil {
		var pe *archive.PathError
		if errors.As(err, &pe) {
			return archive.Digest{}, err
		}
		return fail(KindArchive, 0, err)
	}
	defer w.Abort()

	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fail(KindBadURL, 0, errors.New("cannot build the request"))
	}
	req.Header.Set("User-Agent", "boltfetch")
	resp, err := d.http.Do(req)
	if err != nil {
		if re := (*refusedURLError)(nil); errors.As(err, &re) {
			return fail(KindBadURL, 0, fmt.Errorf("redirect: %w", re))
		}
		return fail(KindTransport, 0, scrubErr(actx, err))
	}
	defer resp.Body.Close()
	idle.Reset(d.idleTimeout)

	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusForbidden:
		return fail(KindExpired, resp.StatusCode, errors.New(s3Message(resp.Body)))
	default:
		de := &DownloadError{Kind: KindStatus, URL: safe, StatusCode: resp.StatusCode}
		de.RetryAfter, de.retryAfterSet = retry.After(resp.StatusCode, resp.Header, time.Now())
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return archive.Digest{}, de
	}
	if resp.ContentLength > d.maxSize {
		return fail(KindTooLarge, 0, fmt.Errorf("Content-Length %d is over the artifact size cap of %d bytes", resp.ContentLength, d.maxSize))
	}
	if onTotal != nil && resp.ContentLength >= 0 {
		onTotal(resp.ContentLength)
	}

	// Reads from a socket return what has arrived, often a few KB; they are
	// gathered into large writes, so the file, the hash and the analysis
	// each see a few hundred large writes rather than thousands of small
	// ones. The buffer comes from the tee's free list (getChunk); with a tee
	// it is handed over whole once written (w hashes and counts the
	// content): the analysis reads it without a copy, and the download
	// takes a fresh one.
	bp := getChunk()
	defer func() { putChunk(bp) }()
	buf := *bp
	var n int64
	for done := false; !done; {
		m := 0
		var rerr error
		for m < len(buf)/2 && rerr == nil {
			var k int
			k, rerr = resp.Body.Read(buf[m:])
			if k > 0 {
				idle.Reset(d.idleTimeout)
				m += k
				if onBytes != nil {
					onBytes(int64(k))
				}
			}
		}
		if m > 0 {
			n += int64(m)
			if n > d.maxSize {
				return fail(KindTooLarge, 0, fmt.Errorf("body is over the artifact size cap of %d bytes", d.maxSize))
			}
			if _, werr := w.Write(buf[:m]); werr != nil {
				return fail(KindArchive, 0, werr)
			}
			if tee != nil {
				tee.hand(bp, m)
				bp = getChunk()
				buf = *bp
			}
		}
		switch {
		case rerr == io.EOF:
			done = true
		case rerr == nil:
		case errors.Is(rerr, io.ErrUnexpectedEOF):
			return fail(KindTruncated, 0, fmt.Errorf("body ended after %d of %d bytes", n, resp.ContentLength))
		default:
			return fail(KindTransport, 0, scrubErr(actx, rerr))
		}
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fail(KindTruncated, 0, fmt.Errorf("got %d of %d bytes", n, resp.ContentLength))
	}
	dg, err := w.Commit()
	if err != nil {
		return fail(KindArchive, 0, err)
	}
	return dg, nil
}

// scrubErr drops the URL that net/http puts in its errors (it would carry the
// presigned query) and says why a cancelled attempt stopped.
func scrubErr(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// s3Message pulls the human part out of an S3-style XML error body.
func s3Message(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, 4096))
	s := string(b)
	code, msg := between(s, "<Code>", "</Code>"), between(s, "<Message>", "</Message>")
	switch {
	case code != "" && msg != "":
		return code + ": " + msg
	case code != "":
		return code
	}
	return "access denied (the presigned URL has probably expired)"
}

func between(s, open, close string) string {
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	j := strings.Index(s, close)
	if j < 0 || j > 200 {
		return ""
	}
	return s[:j]
}

// downloadRetry is the download side of the one retry policy
// (internal/retry): jittered exponential from 100ms to 5s, and a server's
// Retry-After honoured up to 30s.
var downloadRetry = retry.Policy{Min: 100 * time.Millisecond, Max: 5 * time.Second, MaxRetryAfter: 30 * time.Second}

// defaultBackoff is downloadRetry's backoff before retry n.
func defaultBackoff(n int) time.Duration { return downloadRetry.Backoff(n) }
