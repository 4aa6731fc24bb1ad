package fakebolt

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

const (
	testKey    = "key-123"
	testSecret = "secret-456"
)

// newServer starts a fake with the seed run (artifacts filled) and closes it
// at the end of the test.
func newServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey, opts.APISecret = testKey, testSecret
	}
	s := New(opts)
	run := SeedRun()
	for i := range run.Commands {
		for j := range run.Commands[i].Resources {
			r := &run.Commands[i].Resources[j]
			r.Data = []byte(`{"resource":` + jsonInt(r.ID) + `,"path":"` + r.Path + `"}`)
		}
	}
	s.AddRun(run)
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

var testClient = &http.Client{Timeout: 20 * time.Second}

// gqlResponse is a decoded GraphQL answer.
type gqlResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message string `json:"message"`
		Path    []any  `json:"path"`
	} `json:"errors"`
}

// post sends a GraphQL document with the test key pair; header adds or
// overrides headers (an empty value removes one).
func post(t *testing.T, s *Server, query string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, err := http.NewRequest(http.MethodPost, s.APIURL(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", testKey)
	req.Header.Set("X-API-SECRET", testSecret)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("POST graphql: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read graphql response: %v", err)
	}
	return resp, b
}

// query runs a document that must succeed at the HTTP level and decodes it.
func query(t *testing.T, s *Server, q string) gqlResponse {
	t.Helper()
	resp, body := post(t, s, q, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var out gqlResponse
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return out
}

// field decodes data.<name> into v, failing on GraphQL errors.
func field(t *testing.T, r gqlResponse, name string, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("GraphQL errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data[name], v); err != nil {
		t.Fatalf("decode data.%s: %v", name, err)
	}
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := testClient.Get(url)
	if err != nil {
		t.Fatalf("GET artifact: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read artifact: %v", err)
	}
	return resp, b
}

// resourceURL asks the fake for a presigned URL of resource id.
func resourceURL(t *testing.T, s *Server, id int64) string {
	t.Helper()
	var got struct {
		OK  bool    `json:"ok"`
		URL *string `json:"url"`
	}
	field(t, query(t, s, ResourceQuery(id)), "boltResourceUrl", &got)
	if !got.OK || got.URL == nil {
		t.Fatalf("boltResourceUrl(%d) = %+v, want ok with a url", id, got)
	}
	return *got.URL
}
