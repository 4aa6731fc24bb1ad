package inbox

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUI serves River's UI over the inbox on both drivers: its page, and its
// job API listing a run by its id, never its payload.
func TestUI(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		ib := open(t, store(t))
		enqueue(t, ib, 63187, `{"api_url":"https://api.paradime.io/api/v1/SECRET-PATH-TOKEN/graphql"}`)
		h, err := ib.UI("/ui", nil)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/ui/", h)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		get := func(path string) (int, string) {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := get("/ui/"); code != 200 || !strings.Contains(strings.ToLower(body), "<html") {
			t.Errorf("GET /ui/: %d %.200q", code, body)
		}
		code, body := get("/ui/api/jobs?state=available&limit=10")
		if code != 200 || !strings.Contains(body, `run_id`) || !strings.Contains(body, `63187`) || !strings.Contains(body, `"kind":"boltfetch_follow_up"`) {
			t.Errorf("GET /ui/api/jobs: %d %.300q", code, body)
		}
		if strings.Contains(body, "SECRET-PATH-TOKEN") {
			t.Errorf("the UI's API shows the payload: %s", body)
		}
	})
}
