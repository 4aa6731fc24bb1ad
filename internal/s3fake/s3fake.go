// Package s3fake runs an S3 protocol server (gofakes3, in memory) on
// loopback for tests, benchmarks and the demo, with request counting and
// fault injection. It is a test helper: production packages never import it.
package s3fake

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Credentials the fake accepts (it checks none); the SDK needs some.
const (
	AccessKeyID     = "boltfetch-test"
	SecretAccessKey = "boltfetch-test-secret"
	Region          = "us-east-1"
)

// Server is a running fake S3 endpoint.
type Server struct {
	// URL is the endpoint, such as http://127.0.0.1:40123.
	URL     string
	Backend gofakes3.Backend

	srv *http.Server
	ln  net.Listener

	contentGETs atomic.Int64
	heads       atomic.Int64
	puts        atomic.Int64

	mu       sync.Mutex
	failPart func(r *http.Request) bool
	getKeys  []string
}

// Start listens on a free loopback port and serves until Close.
func Start(buckets ...string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return Serve(ln, buckets...)
}

// Serve serves on ln until Close, with the given buckets created.
func Serve(ln net.Listener, buckets ...string) (*Server, error) {
	be := s3mem.New()
	for _, b := range buckets {
		if err := be.CreateBucket(b); err != nil {
			ln.Close()
			return nil, err
		}
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Backend: be, ln: ln}
	h := gofakes3.New(be, gofakes3.WithIntegrityCheck(true)).Server()
	s.srv = &http.Server{Handler: s.wrap(h)}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// BucketURL is the s3:// URL of bucket/prefix on this server (path style,
// custom endpoint), as boltfetch's --out takes it.
func (s *Server) BucketURL(bucket, prefix string) string { return BucketURL(s.URL, bucket, prefix) }

// BucketURL is the s3:// URL of bucket/prefix on the S3 endpoint at
// endpoint (path style).
func BucketURL(endpoint, bucket, prefix string) string {
	q := url.Values{"endpoint": {endpoint}, "region": {Region}, "use_path_style": {"true"}}
	p := ""
	if prefix != "" {
		p = "/" + strings.Trim(prefix, "/")
	}
	return "s3://" + bucket + p + "?" + q.Encode()
}

// Env returns the environment variables the AWS SDK needs to talk to the
// fake (static credentials; no shared config or instance metadata lookups).
func Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":           AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       SecretAccessKey,
		"AWS_REGION":                  Region,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
}

// SetEnv sets Env in this process (for TestMain and commands).
func SetEnv() {
	for k, v := range Env() {
		os.Setenv(k, v)
	}
}

// ContentGETs counts GET requests for objects (reads of content), not
// listings.
func (s *Server) ContentGETs() int64 { return s.contentGETs.Load() }

// GETKeys returns the keys read by GET (in path form, bucket excluded),
// since the last ResetCounts.
func (s *Server) GETKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.getKeys...)
}

// HEADs counts HEAD requests for objects (attribute reads).
func (s *Server) HEADs() int64 { return s.heads.Load() }

// PUTs counts PUT requests (whole objects and parts).
func (s *Server) PUTs() int64 { return s.puts.Load() }

// ResetCounts zeroes the request counters.
func (s *Server) ResetCounts() {
	s.contentGETs.Store(0)
	s.heads.Store(0)
	s.puts.Store(0)
	s.mu.Lock()
	s.getKeys = nil
	s.mu.Unlock()
}

// FailPUT makes every PUT (an object or a part of one) for which fail
// returns true answer 500 without being stored; nil stops the injection.
func (s *Server) FailPUT(fail func(r *http.Request) bool) {
	s.mu.Lock()
	s.failPart = fail
	s.mu.Unlock()
}

func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Path style: /bucket/key…; a key is present after the bucket.
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
		isObject := len(parts) == 2 && parts[1] != ""
		switch {
		case r.Method == http.MethodGet && isObject && !r.URL.Query().Has("uploadId"):
			s.contentGETs.Add(1)
			s.mu.Lock()
			s.getKeys = append(s.getKeys, parts[1])
			s.mu.Unlock()
		case r.Method == http.MethodHead && isObject:
			s.heads.Add(1)
		case r.Method == http.MethodPut:
			s.puts.Add(1)
			s.mu.Lock()
			fail := s.failPart
			s.mu.Unlock()
			if fail != nil && fail(r) {
				http.Error(w, fmt.Sprintf("<Error><Code>InternalError</Code><Message>injected</Message></Error>"), http.StatusInternalServerError)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
