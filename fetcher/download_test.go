package fetcher

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
)

func testDownloader(max int64) *downloader {
	return &downloader{
		http: NewDownloadClient(), maxSize: max, attempts: 4, idleTimeout: 2 * time.Second,
		backoff:      func(int) time.Duration { return time.Millisecond },
		loopbackHTTP: true, // the test servers are plain http on loopback
	}
}

func TestDownloadRetriesTruncation(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("0123456789"), 10000)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if calls.Add(1) <= 2 {
			w.Write(body[:len(body)/3]) // then the handler returns: a short body
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	st, dir := newStore(t)
	d, err := testDownloader(1<<20).fetch(context.Background(), st, "a/x.json", srv.URL+"/x.json?X-Amz-Signature=secret", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Bytes != int64(len(body)) || calls.Load() != 3 {
		t.Fatalf("digest %+v after %d calls", d, calls.Load())
	}
	got, _ := os.ReadFile(filepath.Join(dir, "a/x.json"))
	if !bytes.Equal(got, body) {
		t.Fatal("archived file differs")
	}
	if files := listFiles(t, dir); len(files) != 1 {
		t.Fatalf("files: %v", files)
	}
}

func TestDownloadFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		max      int64
		kind     string
		attempts int
	}{
		{"expired", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(403)
			io.WriteString(w, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
		}, 100, KindExpired, 1},
		{"not found is final", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, 100, KindStatus, 1},
		{"5xx is retried", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, 100, KindStatus, 4},
		{"content-length over the cap", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.Write(make([]byte, 1000))
		}, 100, KindTooLarge, 1},
		{"streamed body over the cap", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush() // chunked: no Content-Length
			for range 10 {
				w.Write(make([]byte, 50))
				w.(http.Flusher).Flush()
			}
		}, 100, KindTooLarge, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			st, dir := newStore(t)
			_, err := testDownloader(tt.max).fetch(context.Background(), st, "x.json", srv.URL+"/x.json?sig=topsecret", nil, nil, nil)
			var de *DownloadError
			if !errors.As(err, &de) || de.Kind != tt.kind || de.Attempts != tt.attempts {
				t.Fatalf("err = %#v, want kind %s after %d attempts", err, tt.kind, tt.attempts)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error shows the presigned query: %v", err)
			}
			if files := listFiles(t, dir); len(files) != 0 {
				t.Errorf("files left: %v", files)
			}
		})
	}
}

// TestDownloadNoCredentials: no Paradime header is sent, even through a
// redirect, and plain http is refused off loopback.
func TestDownloadNoCredentials(t *testing.T) {
	t.Parallel()
	var seen []http.Header
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Clone())
		io.WriteString(w, "ok")
	}))
	defer final.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Clone())
		http.Redirect(w, r, final.URL+"/y", http.StatusFound)
	}))
	defer redirect.Close()
	st, _ := newStore(t)
	if _, err := testDownloader(100).fetch(context.Background(), st, "x", redirect.URL+"/x", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("%d requests", len(seen))
	}
	for _, h := range seen {
		for _, name := range sensitiveHeaders {
			if h.Get(name) != "" {
				t.Errorf("download carried %s", name)
			}
		}
	}
	for _, u := range []string{"http://example.com/x", "ftp://127.0.0.1/x", "file:///etc/passwd"} {
		_, err := testDownloader(100).fetch(context.Background(), st, "x", u, nil, nil, nil)
		var de *DownloadError
		if !errors.As(err, &de) || de.Kind != KindBadURL {
			t.Errorf("fetch(%s) = %v, want a bad_url refusal", u, err)
		}
	}
}

// TestDownloadCancelLeavesNothing: cancelling mid-body leaves no file under
// the final name and no temp file.
func TestDownloadCancelLeavesNothing(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	}))
	defer srv.Close()
	st, dir := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := testDownloader(1<<20).fetch(ctx, st, "a/b.json", srv.URL+"/b.json", nil, nil, nil)
	var de *DownloadError
	if !errors.As(err, &de) || de.Kind != KindCanceled {
		t.Fatalf("err = %v, want canceled", err)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Fatalf("files left after cancel: %v", files)
	}
}

func TestDownloadIdleTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write(make([]byte, 10))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	st, _ := newStore(t)
	d := testDownloader(1 << 20)
	d.idleTimeout = 50 * time.Millisecond
	d.attempts = 2
	_, err := d.fetch(context.Background(), st, "x", srv.URL+"/x", nil, nil, nil)
	var de *DownloadError
	if !errors.As(err, &de) || de.Kind != KindTransport || !strings.Contains(err.Error(), "no data for") || de.Attempts != 2 {
		t.Fatalf("err = %v, want a stalled-body transport error after 2 attempts", err)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	got := client.RedactURL("https://user:pw@bucket.s3.amazonaws.com/a/b.json?X-Amz-Signature=abc&X-Amz-Credential=def#frag")
	if got != "https://bucket.s3.amazonaws.com/a/b.json" {
		t.Errorf("redactURL = %q", got)
	}
}

var _ archive.Store = (*archive.Local)(nil)
