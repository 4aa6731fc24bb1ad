package fetcher

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

// TestCheckDownloadURLLoopback: plain http to loopback is allowed only when
// the API endpoint is itself on loopback; https is always allowed.
func TestCheckDownloadURLLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"127.0.0.1": true, "localhost": true, "::1": true, "127.0.0.2": true,
		"api.paradime.io": false, "example.com": false, "10.0.0.1": false, "": false,
	} {
		if got := allowLoopbackHTTP(host); got != want {
			t.Errorf("allowLoopbackHTTP(%q) = %v, want %v", host, got, want)
		}
	}
	for _, tt := range []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"http://127.0.0.1:8500/v1/kv/x", true, true},
		{"http://localhost/x", true, true},
		{"http://[::1]/x", true, true},
		{"http://127.0.0.1:8500/v1/kv/x", false, false},
		{"http://localhost/x", false, false},
		{"http://[::1]/x", false, false},
		{"http://example.com/x", true, false},
		{"https://127.0.0.1/x", false, true},
		{"https://bucket.s3.amazonaws.com/x", false, true},
	} {
		u, _ := url.Parse(tt.url)
		if err := checkDownloadURL(u, tt.loopback); (err == nil) != tt.ok {
			t.Errorf("checkDownloadURL(%s, loopback %v) = %v, want ok %v", tt.url, tt.loopback, err, tt.ok)
		}
	}
}

// TestDownloadLoopbackRefused: a downloader not allowed loopback http
// refuses it, as the first URL and through a redirect, before any request
// reaches the loopback service.
func TestDownloadLoopbackRefused(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "local secret")
	}))
	defer local.Close()
	redirect := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, local.URL+"/v1/kv/x", http.StatusFound)
	}))
	defer redirect.Close()
	st, dir := newStore(t)
	d := testDownloader(100)
	d.loopbackHTTP = false
	d.http = redirect.Client()
	d.http.CheckRedirect = checkRedirect
	for _, u := range []string{local.URL + "/v1/kv/x", redirect.URL + "/x"} {
		_, err := d.fetch(context.Background(), st, "x", u, nil, nil, nil)
		var de *DownloadError
		if !errors.As(err, &de) || de.Kind != KindBadURL || de.Attempts > 1 {
			t.Errorf("fetch(%s) = %v, want one bad_url refusal", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback service was asked %d times", n)
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Errorf("archived: %v", files)
	}
	// The same downloader allowed loopback http follows both.
	d.loopbackHTTP = true
	for _, u := range []string{local.URL + "/v1/kv/x", redirect.URL + "/x"} {
		if _, err := d.fetch(context.Background(), st, "x", u, nil, nil, nil); err != nil {
			t.Errorf("fetch(%s) with loopback allowed: %v", u, err)
		}
	}
}

// TestFetchLoopbackDownloadNeedsLoopbackAPI: with the API on loopback (the
// fake) plain http artifact URLs to loopback are followed; with the same API
// served over https under an allowed non-loopback name, the URLs it gives
// (plain http to 127.0.0.1) are refused as bad_url and nothing is asked of
// the loopback service, while the logs still come.
func TestFetchLoopbackDownloadNeedsLoopbackAPI(t *testing.T) {
	t.Parallel()
	run := fakebolt.Run{ID: 1, Status: "succeeded", ScheduleName: "s", Workspace: fakebolt.Workspace{Name: "w"},
		Commands: []fakebolt.Command{{ID: 10, Command: "dbt run", Status: "succeeded", ReturnCode: 0, Stdout: "out\n", Stderr: "err\n",
			Resources: []fakebolt.Resource{{ID: 100, Path: "target/a.json", Data: []byte("{}")}}}}}
	srv := startFake(t, fakebolt.Options{}, run)
	payload := payloadOf(t, srv, 1)

	t.Run("loopback API", func(t *testing.T) {
		st, _ := newStore(t)
		opts := fastOpts(newClient(t), st)
		opts.Artifacts = []string{"*"}
		rep := fetch(t, payload, opts)
		if !rep.Summary.Complete || rep.Summary.ArtifactsArchived != 1 {
			t.Fatalf("summary %+v, errors %+v", rep.Summary, rep.Errors)
		}
	})

	t.Run("non-loopback API", func(t *testing.T) {
		// example.com is a name the httptest certificate holds. The
		// front end hands the fake a plain-http loopback Host, so the URLs
		// it presigns are http://127.0.0.1:<port>/...
		plain := strings.TrimPrefix(srv.URL(), "http://")
		front := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := r.Clone(r.Context())
			r2.TLS, r2.Host = nil, plain
			srv.Handler().ServeHTTP(w, r2)
		}))
		defer front.Close()
		tr := front.Client().Transport.(*http.Transport).Clone()
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, front.Listener.Addr().String())
		}
		c := newClient(t, func(cfg *client.Config) {
			cfg.AllowHosts = []string{"example.com"}
			cfg.HTTPClient = &http.Client{Transport: tr}
		})
		p := bytes.ReplaceAll(payload, []byte(srv.URL()), []byte("https://example.com"))
		if bytes.Equal(p, payload) {
			t.Fatalf("api_url %s not found in the payload", srv.URL())
		}
		before := srv.Stats().Requests[fakebolt.RouteDownload]
		st, dir := newStore(t)
		opts := fastOpts(c, st)
		opts.Artifacts = []string{"*"}
		rep := fetch(t, p, opts)
		if rep.Run.APIHost != "example.com" {
			t.Fatalf("api host %q", rep.Run.APIHost)
		}
		if len(rep.Errors) != 1 || rep.Errors[0].Kind != KindBadURL || rep.Errors[0].Stage != "download" {
			t.Fatalf("errors %+v, want one bad_url download refusal", rep.Errors)
		}
		if rep.Commands[0].Logs == nil {
			t.Errorf("the logs did not come through the https API")
		}
		if n := srv.Stats().Requests[fakebolt.RouteDownload] - before; n != 0 {
			t.Errorf("the loopback service was asked %d times", n)
		}
		for _, f := range listFiles(t, dir) {
			if strings.HasSuffix(f, "target/a.json") {
				t.Errorf("archived %s", f)
			}
		}
	})
}
