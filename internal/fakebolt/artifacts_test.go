package fakebolt

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDownload(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	resp, body := get(t, resourceURL(t, s, 1205761))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if want := `{"resource":1205761,"path":"target/run_results.json"}`; string(body) != want {
		t.Errorf("body %s, want %s", body, want)
	}
	if resp.ContentLength != int64(len(body)) || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Length %d Content-Type %q", resp.ContentLength, resp.Header.Get("Content-Type"))
	}
	st := s.Stats()
	if st.Requests[RouteDownload] != 1 {
		t.Errorf("download count %d, want 1", st.Requests[RouteDownload])
	}
	if !st.HeaderSeen(RouteGraphQL, "X-API-KEY") {
		t.Errorf("HeaderSeen misses the API key on graphql")
	}
	for _, h := range []string{"X-API-KEY", "X-API-SECRET", "Authorization", "X-Paradime-Workspace"} {
		if st.HeaderSeen(RouteDownload, h) {
			t.Errorf("download carried %s", h)
		}
	}
}

func TestDownloadFromFile(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	file := filepath.Join(t.TempDir(), "manifest.json")
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s.AddRun(Run{ID: 5, Commands: []Command{{ID: 50, Resources: []Resource{{ID: 51, Path: "target/manifest.json", File: file}}}}})
	resp, body := get(t, resourceURL(t, s, 51))
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(data)) || !bytes.Equal(body, data) {
		t.Errorf("status %d, Content-Length %d, %d bytes; want 200 and %d bytes", resp.StatusCode, resp.ContentLength, len(body), len(data))
	}
}

func TestDownloadRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	good := resourceURL(t, s, 1205731)
	u, _ := url.Parse(good)
	tamper := func(key, value string) string {
		v := *u
		q := v.Query()
		q.Set(key, value)
		v.RawQuery = q.Encode()
		return v.String()
	}
	otherPath := *u
	otherPath.Path = "/artifacts/1205739/target/run_results.json"
	tests := []struct {
		name, url string
		status    int
		code      string
	}{
		{"bad signature", tamper("X-Amz-Signature", strings.Repeat("0", 64)), 403, "SignatureDoesNotMatch"},
		{"longer lifetime", tamper("X-Amz-Expires", "999999"), 403, "SignatureDoesNotMatch"},
		{"signature of another resource", otherPath.String(), 403, "SignatureDoesNotMatch"},
		{"no query", s.URL() + u.Path, 403, "AccessDenied"},
		{"unknown resource", s.URL() + "/artifacts/1/x.json?" + u.RawQuery, 404, "NoSuchKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, tt.url)
			if resp.StatusCode != tt.status || !bytes.Contains(body, []byte("<Code>"+tt.code+"</Code>")) {
				t.Errorf("status %d body %s, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
		})
	}
	if resp, _ := get(t, good); resp.StatusCode != 200 {
		t.Errorf("untampered URL: status %d", resp.StatusCode)
	}
}

// clock is a settable time source for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestURLExpiry(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := newServer(t, Options{URLTTL: 90 * time.Second, Now: c.Now})
	u := resourceURL(t, s, 1205731)
	if !strings.Contains(u, "X-Amz-Expires=90") || !strings.Contains(u, "X-Amz-Date=20260102T030405Z") {
		t.Errorf("url query does not carry the date and lifetime: %s", u)
	}
	c.Add(89 * time.Second)
	if resp, _ := get(t, u); resp.StatusCode != 200 {
		t.Fatalf("before expiry: status %d", resp.StatusCode)
	}
	c.Add(2 * time.Second)
	resp, body := get(t, u)
	if resp.StatusCode != 403 || !bytes.HasPrefix(body, []byte("<?xml")) ||
		!bytes.Contains(body, []byte("<Code>AccessDenied</Code><Message>Request has expired</Message>")) {
		t.Errorf("after expiry: status %d body %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, resourceURL(t, s, 1205731)); resp.StatusCode != 200 {
		t.Errorf("fresh URL after expiry: status %d", resp.StatusCode)
	}
}

func TestURLExpiryRealClock(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{URLTTL: time.Millisecond})
	u := resourceURL(t, s, 1205731)
	time.Sleep(5 * time.Millisecond) // only has to outlast the TTL: cannot flake
	if resp, body := get(t, u); resp.StatusCode != 403 || !bytes.Contains(body, []byte("Request has expired")) {
		t.Errorf("sub-second TTL: status %d body %s", resp.StatusCode, body)
	}
}

func TestExpireOnFirstUse(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{ExpireOnFirstUse: true})
	first := resourceURL(t, s, 1205731)
	if resp, body := get(t, first); resp.StatusCode != 403 || !bytes.Contains(body, []byte("Request has expired")) {
		t.Fatalf("first fetch of first URL: status %d body %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, resourceURL(t, s, 1205731)); resp.StatusCode != 200 {
		t.Errorf("refreshed URL: status %d, want 200", resp.StatusCode)
	}
	if resp, _ := get(t, first); resp.StatusCode != 200 {
		t.Errorf("second fetch of first URL: status %d, want 200", resp.StatusCode)
	}
	// Each resource gets its own first expiry.
	if resp, _ := get(t, resourceURL(t, s, 1205739)); resp.StatusCode != 403 {
		t.Errorf("first URL of another resource: status %d, want 403", resp.StatusCode)
	}
}

func TestHandlerMountedInHTTPTest(t *testing.T) {
	t.Parallel()
	s := New(Options{APIKey: testKey, APISecret: testSecret})
	defer s.Close()
	s.AddRun(SeedRun())
	ts := httptest.NewTLSServer(s.Handler())
	defer ts.Close()
	s.SetURL(ts.URL)
	if s.APIURL() != ts.URL+"/api/v1/"+s.opts.EndpointToken+"/graphql" {
		t.Errorf("APIURL %q not on %s", s.APIURL(), ts.URL)
	}
	body := strings.NewReader(`{"query":` + jsonString(ResourceQuery(1205731)) + `}`)
	req, _ := http.NewRequest(http.MethodPost, s.APIURL(), body)
	req.Header.Set("X-API-KEY", testKey)
	req.Header.Set("X-API-SECRET", testSecret)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"url":"`+ts.URL+`/artifacts/1205731/`)) {
		t.Errorf("status %d body %s: want an https URL on the test server", resp.StatusCode, b)
	}
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestHEADAndPrune(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	u := resourceURL(t, s, 1205731)
	resp, err := testClient.Head(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(`{"resource":1205731,"path":"target/manifest.json"}`)) {
		t.Errorf("HEAD: status %d Content-Length %d", resp.StatusCode, resp.ContentLength)
	}

	// A URL forgotten by pruning is still verified from its query string.
	now := time.Now()
	s.urlMu.Lock()
	for i := range maxIssuedURLs {
		s.issued[jsonInt(int64(i))] = &issuedURL{expires: now.Add(time.Hour)}
	}
	s.pruneIssuedLocked(now)
	n := len(s.issued)
	clear(s.issued)
	s.urlMu.Unlock()
	if n >= maxIssuedURLs/2 {
		t.Errorf("%d URLs kept after pruning, want < %d", n, maxIssuedURLs/2)
	}
	if resp, _ := get(t, u); resp.StatusCode != 200 {
		t.Errorf("forgotten URL: status %d, want 200", resp.StatusCode)
	}
}
