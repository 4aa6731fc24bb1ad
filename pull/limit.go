package pull

import (
	"io"
	"net/http"
	"sync"
)

// RequestLimit is one limit on HTTP requests in flight, shared by every
// follow-up that uses a transport it wrapped: the API client's and the
// downloads'. A request holds its slot from the moment it is sent until its
// response body is closed or read to its end (or the request fails), so a
// streaming download counts for as long as it streams.
type RequestLimit struct {
	sem chan struct{}
}

// NewRequestLimit returns a limit of n requests in flight (at least 1).
func NewRequestLimit(n int) *RequestLimit {
	return &RequestLimit{sem: make(chan struct{}, max(n, 1))}
}

// Transport wraps base (http.DefaultTransport when nil) so that its
// requests take a slot of the limit.
func (l *RequestLimit) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &limitedTransport{l: l, base: base}
}

type limitedTransport struct {
	l    *RequestLimit
	base http.RoundTripper
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	select {
	case t.l.sem <- struct{}{}:
	case <-req.Context().Done():
		if req.Body != nil {
			req.Body.Close() // a RoundTripper must close the body, even on error
		}
		return nil, req.Context().Err()
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.Body == nil {
		<-t.l.sem
		return resp, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { <-t.l.sem }}
	return resp, nil
}

// releasingBody gives the slot back once, at EOF, on a read error or on
// Close.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.release)
	}
	return n, err
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
