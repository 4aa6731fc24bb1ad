package artifacts

import (
	"bytes"
	"context"
	"encoding/json"

	"flag"
	jsonv2 "github.com/go-json-experiment/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden checks the analysis of real pairs against hand-checked golden
// files, in the three output formats.
func TestGolden(t *testing.T) {
	for _, name := range []string{"gtip", "openlineage-fail", "adinsight360"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", name)
			a, err := AnalyzeFiles(context.Background(), filepath.Join(dir, "manifest.json"), filepath.Join(dir, "run_results.json"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var js, txt, md bytes.Buffer
			if err := a.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			if err := a.WriteText(&txt); err != nil {
				t.Fatal(err)
			}
			if err := a.WriteMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			for ext, got := range map[string][]byte{"json": js.Bytes(), "txt": txt.Bytes(), "md": md.Bytes()} {
				path := filepath.Join(dir, "analysis.golden."+ext)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
				}
			}
		})
	}
}

// TestGoldenFacts pins the hand-checked facts of each real pair, so that an
// -update cannot silently bless a wrong analysis.
func TestGoldenFacts(t *testing.T) {
	tests := []struct {
		dir                   string
		failed                []string
		skipped               int
		cause                 string // caused_by of every skipped node
		messagePart           string
		warnings              int
		manifestV, runResultV string
	}{
		{"gtip", []string{"model.capstone_monthly.stg_dim_time"}, 13, "model.capstone_monthly.stg_dim_time", "brent_monthly was not found", 0, "v12", "v6"},
		{"openlineage-fail", []string{"model.dbt_bigquery_test.test_second_parallel_dbt_model"}, 1, "model.dbt_bigquery_test.test_second_parallel_dbt_model", `identifier "bork"`, 1, "v2", "v2"},
		{"adinsight360", []string{"model.adinsight.stg_reddit_posts"}, 1, "model.adinsight.stg_reddit_posts", "TO_TIMESTAMP_NTZ", 0, "v12", "v6"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", tt.dir)
			a, err := AnalyzeFiles(context.Background(), filepath.Join(dir, "manifest.json"), filepath.Join(dir, "run_results.json"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, n := range a.Failed {
				failed = append(failed, n.UniqueID)
				if !bytes.Contains([]byte(n.Message), []byte(tt.messagePart)) {
					t.Errorf("message of %s = %q, want it to contain %q", n.UniqueID, n.Message, tt.messagePart)
				}
				if n.OriginalFilePath == "" || n.CompiledCode == "" || n.ResourceType != "model" {
					t.Errorf("failed node lacks manifest detail: %+v", n)
				}
			}
			if diff := cmp.Diff(tt.failed, failed); diff != "" {
				t.Errorf("failed (-want +got):\n%s", diff)
			}
			if len(a.Skipped) != tt.skipped {
				t.Errorf("got %d skipped, want %d", len(a.Skipped), tt.skipped)
			}
			for _, n := range a.Skipped {
				if diff := cmp.Diff([]string{tt.cause}, n.CausedBy); diff != "" {
					t.Errorf("caused_by of %s (-want +got):\n%s", n.UniqueID, diff)
				}
			}
			if !a.SameInvocation {
				t.Error("same_invocation = false, want true")
			}
			if len(a.Warnings) != tt.warnings {
				t.Errorf("warnings = %q, want %d", a.Warnings, tt.warnings)
			}
			if a.ManifestSchemaVersion != tt.manifestV || a.RunResultsSchemaVersion != tt.runResultV {
				t.Errorf("schema versions %s/%s, want %s/%s", a.ManifestSchemaVersion, a.RunResultsSchemaVersion, tt.manifestV, tt.runResultV)
			}
		})
	}
}

// TestGoldenRoundTrip: every golden analysis decodes back from its JSON, with
// json v2 and encoding/json, into an analysis that encodes to the same bytes
// and equals the one analysed.
func TestGoldenRoundTrip(t *testing.T) {
	for _, name := range []string{"gtip", "openlineage-fail", "adinsight360"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("testdata", name)
			want, err := AnalyzeFiles(context.Background(), filepath.Join(dir, "manifest.json"), filepath.Join(dir, "run_results.json"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			golden, err := os.ReadFile(filepath.Join(dir, "analysis.golden.json"))
			if err != nil {
				t.Fatal(err)
			}
			var v2, v1 Analysis
			if err := jsonv2.Unmarshal(golden, &v2); err != nil {
				t.Fatalf("json v2: %v", err)
			}
			if err := json.Unmarshal(golden, &v1); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			for which, got := range map[string]*Analysis{"json v2": &v2, "encoding/json": &v1} {
				if got.Version != AnalysisVersion {
					t.Errorf("%s: version %d", which, got.Version)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: decoded analysis differs (-analysed +decoded):\n%s", which, diff)
				}
				var again bytes.Buffer
				if err := got.WriteJSON(&again); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again.Bytes(), golden) {
					t.Errorf("%s: re-encoded JSON differs from the golden file", which)
				}
			}
			// Embedded in another value, as the fetcher's report does.
			type report struct {
				Analysis *Analysis `json:"analysis"`
			}
			b, err := json.Marshal(report{want})
			if err != nil {
				t.Fatal(err)
			}
			var back report
			if err := jsonv2.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, back.Analysis); diff != "" {
				t.Errorf("embedded: (-analysed +decoded):\n%s", diff)
			}
		})
	}
}
