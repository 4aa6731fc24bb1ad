package lineage

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/internal/sharedtest"
)

// sharedPairs lists the same-run manifest/run_results pairs SOURCES.tsv
// names.
func sharedPairs(t *testing.T) [][2]string {
	dir := sharedtest.Dir(t, "dbt-artifacts")
	f, err := os.Open(filepath.Join(dir, "SOURCES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var pairs [][2]string
	header := true
	for sc.Scan() {
		if header {
			header = false
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 13 || cols[4] != "manifest" || strings.TrimSpace(cols[12]) == "" {
			continue
		}
		m := filepath.Join(dir, cols[0])
		for _, p := range strings.Split(cols[12], "|") {
			p = strings.TrimSpace(p)
			rr := filepath.Join(filepath.Dir(m), p)
			if cross, ok := strings.CutPrefix(p, "CROSS-REPO:"); ok {
				rr = filepath.Join(dir, strings.TrimSpace(cross))
			}
			if _, err := os.Stat(rr); err == nil && strings.Contains(p, "run_results") {
				pairs = append(pairs, [2]string{m, rr})
			}
		}
	}
	if len(pairs) == 0 {
		t.Fatal("no same-run pairs found in SOURCES.tsv")
	}
	return pairs
}

// resultCounts counts, independently of the code under test, the results
// of a run_results with a unique_id, and how many were skipped.
func resultCounts(t *testing.T, path string) (total, skipped int) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rr struct {
		Results []struct {
			UniqueID string `json:"unique_id"`
			Status   any    `json:"status"`
			Skip     bool   `json:"skip"`
			Node     *struct {
				UniqueID string `json:"unique_id"`
			} `json:"node"`
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &rr); err != nil {
		t.Fatal(err)
	}
	for _, r := range rr.Results {
		id := r.UniqueID
		if id == "" && r.Node != nil {
			id = r.Node.UniqueID
		}
		if id == "" {
			continue
		}
		total++
		if r.Status == "skipped" || r.Skip {
			skipped++
		}
	}
	return total, skipped
}

// TestCorpusValidates exports every real same-run pair of shared/ and
// validates each event against the OpenLineage schemas; the number of node
// events must match run_results (START and an end per executed result, one
// ABORT per skipped one).
func TestCorpusValidates(t *testing.T) {
	sch := loadSchema(t)
	for _, p := range sharedPairs(t) {
		name := filepath.Base(filepath.Dir(p[0])) + "/" + filepath.Base(p[1])
		t.Run(name, func(t *testing.T) {
			sink := &memSink{}
			ex, err := New(Config{Now: fixedNow, Version: "test"}, sink)
			if err != nil {
				t.Fatal(err)
			}
			cmd := Command{ID: "7", Command: "dbt build", Status: "failed", StderrTail: "boom", Manifest: fileOpener(p[0]), RunResults: fileOpener(p[1])}
			if err := ex.Export(context.Background(), pairRun("failed"), []Command{cmd}); err != nil {
				t.Fatal(err)
			}
			lines := sink.lines()
			total, skipped := resultCounts(t, p[1])
			if want := 4 + 2*(total-skipped) + skipped; len(lines) != want {
				t.Errorf("%d events, want %d (%d results, %d skipped)", len(lines), want, total, skipped)
			}
			aborts := 0
			for i, l := range lines {
				if err := sch.validate(l); err != nil {
					t.Fatalf("event %d does not validate: %v\n%s", i, err, l)
				}
				if strings.Contains(string(l), `"eventType":"ABORT"`) {
					aborts++
				}
			}
			if aborts != skipped {
				t.Errorf("%d ABORT events, want %d", aborts, skipped)
			}
		})
	}
}
