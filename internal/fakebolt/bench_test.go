package fakebolt

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// BenchmarkDownload measures the artifact route over loopback (1 MiB from
// memory), the fake's ceiling when it serves the fetcher benchmark.
func BenchmarkDownload(b *testing.B) {
	s := New(Options{APIKey: testKey, APISecret: testSecret})
	defer s.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	s.AddRun(Run{ID: 1, Commands: []Command{{ID: 2, Resources: []Resource{{ID: 3, Path: "target/manifest.json", Data: data}}}}})
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	u := benchResourceURL(b, s, 3)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		resp, err := http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != int64(len(data)) {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
}

// BenchmarkBoltCommand measures one authenticated boltCommand round trip.
func BenchmarkBoltCommand(b *testing.B) {
	s := New(Options{APIKey: testKey, APISecret: testSecret})
	defer s.Close()
	s.AddRun(SeedRun())
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"query": CommandQuery(193442)})
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, s.APIURL(), bytes.NewReader(body))
		req.Header.Set("X-API-KEY", testKey)
		req.Header.Set("X-API-SECRET", testSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func benchResourceURL(b *testing.B, s *Server, id int64) string {
	body, _ := json.Marshal(map[string]string{"query": ResourceQuery(id)})
	req, _ := http.NewRequest(http.MethodPost, s.APIURL(), bytes.NewReader(body))
	req.Header.Set("X-API-KEY", testKey)
	req.Header.Set("X-API-SECRET", testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			BoltResourceURL struct{ URL string } `json:"boltResourceUrl"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Data.BoltResourceURL.URL == "" {
		b.Fatalf("boltResourceUrl: %v", err)
	}
	return out.Data.BoltResourceURL.URL
}
