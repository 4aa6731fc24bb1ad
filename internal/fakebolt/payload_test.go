package fakebolt

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/internal/sharedtest"
	"github.com/google/go-cmp/cmp"
)

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// TestTestdataMatchesShared keeps the top-level testdata/paradime copies
// honest: byte for byte what shared/paradime holds.
func TestTestdataMatchesShared(t *testing.T) {
	t.Parallel()
	dir := sharedtest.Dir(t, "paradime")
	for _, name := range []string{"completed.json", "started.json"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(sharedtest.Fixture(t, "paradime/"+name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/paradime/%s differs from shared/paradime/%s", name, name)
		}
	}
}

// TestCompletedPayloadReproducesSeed: the seed run's payload is Paradime's
// published example, byte-identical in every value but api_url.
func TestCompletedPayloadReproducesSeed(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	b, err := s.CompletedPayload(63187)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, b)
	}
	if got["api_url"] != s.APIURL() {
		t.Errorf("api_url %v, want %s", got["api_url"], s.APIURL())
	}
	want := readJSON(t, sharedtest.Fixture(t, "paradime/completed.json"))
	want["api_url"] = s.APIURL()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payload differs from the published example (-want +got):\n%s", diff)
	}
	if _, err := s.CompletedPayload(1); err == nil {
		t.Errorf("payload of an unknown run: no error")
	}
}

// TestStartedPayloadShape compares key sets with the started example.
func TestStartedPayloadShape(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	b, err := s.StartedPayload(63187)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := readJSON(t, sharedtest.Fixture(t, "paradime/started.json"))
	if diff := cmp.Diff(keyPaths(want, ""), keyPaths(got, "")); diff != "" {
		t.Errorf("started payload keys (-example +got):\n%s", diff)
	}
}

// TestPayloadQueriesRun: every api_query and resource_query of a generated
// payload runs against the fake and its URLs download.
func TestPayloadQueriesRun(t *testing.T) {
	t.Parallel()
	s := newServer(t, Options{})
	run := SeedRun()
	run.ID = 100
	for i := range run.Commands {
		run.Commands[i].ID += 1000
		for j := range run.Commands[i].Resources {
			run.Commands[i].Resources[j].ID += 1000
			run.Commands[i].Resources[j].Data = []byte("artifact")
		}
	}
	s.AddRun(run)
	b, err := s.CompletedPayload(100)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Commands []struct {
			APIQuery  string `json:"api_query"`
			Resources []struct {
				Query string `json:"resource_query"`
			} `json:"json_resources"`
		} `json:"commands"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	downloads := 0
	for _, c := range p.Commands {
		if r := query(t, s, c.APIQuery); len(r.Errors) > 0 || string(r.Data["boltCommand"]) == "null" {
			t.Errorf("api_query failed: %+v", r.Errors)
		}
		for _, res := range c.Resources {
			var u struct{ URL string }
			field(t, query(t, s, res.Query), "boltResourceUrl", &u)
			if resp, body := get(t, u.URL); resp.StatusCode != 200 || !bytes.Equal(body, []byte("artifact")) {
				t.Errorf("download: status %d body %q", resp.StatusCode, body)
			}
			downloads++
		}
	}
	if downloads != 4 {
		t.Errorf("%d downloads, want 4", downloads)
	}
}

// keyPaths lists every object key path in v (array elements merged as []).
func keyPaths(v any, prefix string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			out = append(out, prefix+"."+k)
			out = append(out, keyPaths(e, prefix+"."+k)...)
		}
	case []any:
		for _, e := range v {
			out = append(out, keyPaths(e, prefix+"[]")...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestQueryFormatsMatchSeed(t *testing.T) {
	t.Parallel()
	seed := readJSON(t, sharedtest.Fixture(t, "paradime/completed.json"))
	for _, c := range seed["commands"].([]any) {
		c := c.(map[string]any)
		if got := CommandQuery(int64(c["id"].(float64))); got != c["api_query"] {
			t.Errorf("CommandQuery = %q, want %q", got, c["api_query"])
		}
		for _, r := range c["json_resources"].([]any) {
			r := r.(map[string]any)
			if got := ResourceQuery(int64(r["id"].(float64))); got != r["resource_query"] {
				t.Errorf("ResourceQuery = %q, want %q", got, r["resource_query"])
			}
		}
	}
	if !strings.Contains(CommandQuery(1), "boltCommand(commandId: 1)") {
		t.Error("CommandQuery does not embed its id")
	}
}
