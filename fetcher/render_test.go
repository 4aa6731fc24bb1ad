package fetcher

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/boltfetch/boltfetch/internal/demodata"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestReportGolden renders the demo run's report in the three formats and
// compares them with hand-checked golden files. What varies between runs
// (the archive's temp folder, the duration) is fixed first.
func TestReportGolden(t *testing.T) {
	t.Parallel()
	run := demodata.Run()
	srv := startFake(t, fakebolt.Options{}, run)
	st, _ := newStore(t)
	rep := fetch(t, payloadOf(t, srv, run.ID), fastOpts(newClient(t), st))
	rep.Archive.Location = "ARCHIVE"
	rep.Summary.DurationMS = 1234
	rep.Run.APIHost = "127.0.0.1:PORT"

	// The analysis is embedded, with the contract's keys.
	build := rep.Commands[3]
	if build.Analysis == nil {
		t.Fatal("no analysis for the dbt build command")
	}
	var an struct {
		Failed  []struct{ UniqueID, Status, Message string } `json:"failed"`
		Skipped []struct {
			UniqueID string   `json:"unique_id"`
			CausedBy []string `json:"caused_by"`
		} `json:"skipped"`
	}
	raw, _ := json.Marshal(build.Analysis)
	if err := json.Unmarshal(raw, &an); err != nil {
		t.Fatal(err)
	}
	if len(an.Failed) != 1 || len(an.Skipped) != 13 {
		t.Fatalf("analysis: %d failed, %d skipped; want 1 and 13", len(an.Failed), len(an.Skipped))
	}
	for _, s := range an.Skipped {
		if len(s.CausedBy) != 1 || s.CausedBy[0] != "model.capstone_monthly.stg_dim_time" {
			t.Errorf("%s caused_by %v", s.UniqueID, s.CausedBy)
		}
	}
	if s := rep.Summary; s.Analyses != 2 || s.NodesFailed != 1 || s.NodesSkipped != 13 {
		t.Errorf("summary = %+v", s)
	}

	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"demo.txt", func(b *bytes.Buffer) error { return rep.WriteText(b) }},
		{"demo.md", func(b *bytes.Buffer) error { return rep.WriteMarkdown(b) }},
		{"demo.json", func(b *bytes.Buffer) error { return rep.WriteJSON(b) }},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", f.name+".golden")
		if *update {
			if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./fetcher -run Golden -update)", err)
		}
		if diff := cmp.Diff(string(want), b.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", f.name, diff)
		}
	}
}
