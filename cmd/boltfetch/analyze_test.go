package main

import (
	"bytes"
	"encoding/json"
	"github.com/boltfetch/boltfetch/artifacts"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdataPair is a real pair kept in the artifacts package's testdata.
func testdataPair(t *testing.T) (string, string) {
	t.Helper()
	dir := filepath.Join("..", "..", "artifacts", "testdata", "gtip")
	return filepath.Join(dir, "manifest.json"), filepath.Join(dir, "run_results.json")
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &iostreams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

func TestAnalyzeFormats(t *testing.T) {
	t.Parallel()
	m, r := testdataPair(t)
	tests := []struct {
		format string
		want   string
	}{
		{"", "FAILED (1)"},
		{"text", "because model.capstone_monthly.stg_dim_time failed (13)"},
		{"markdown", "**Skipped (13)**"},
		{"json", `"caused_by": [`},
	}
	for _, tt := range tests {
		args := []string{"analyze", "--manifest", m, "--run-results", r}
		if tt.format != "" {
			args = append(args, "--format", tt.format)
		}
		code, out, errOut := runCLI(t, args...)
		if code != exitOK {
			t.Errorf("format %q: exit %d, stderr %q", tt.format, code, errOut)
		}
		if !strings.Contains(out, tt.want) {
			t.Errorf("format %q: output lacks %q:\n%s", tt.format, tt.want, out)
		}
	}
	_, out, _ := runCLI(t, "analyze", "--manifest", m, "--run-results", r, "--format", "json")
	var doc struct {
		Failed, Warned, Skipped []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json output: %v", err)
	}
	if len(doc.Failed) != 1 || doc.Warned == nil || len(doc.Skipped) != 13 {
		t.Errorf("json: %d failed, warned %v, %d skipped", len(doc.Failed), doc.Warned, len(doc.Skipped))
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	t.Parallel()
	m, r := testdataPair(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.json")
	trunc := filepath.Join(dir, "trunc.json")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trunc, b[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{"no flags", []string{"analyze"}, []string{"--manifest and --run-results are required"}},
		{"bad format", []string{"analyze", "--manifest", m, "--run-results", r, "--format", "xml"}, []string{`"xml"`}},
		{"unknown flag", []string{"analyze", "--nope"}, []string{"unknown flag"}},
		{"stray argument", []string{"analyze", "--manifest", m, "--run-results", r, "extra"}, []string{"extra"}},
		{"missing file", []string{"analyze", "--manifest", filepath.Join(dir, "none.json"), "--run-results", r}, []string{"none.json", "no such file"}},
		{"empty run_results", []string{"analyze", "--manifest", m, "--run-results", empty}, []string{empty, "at byte 0", "empty"}},
		{"truncated manifest", []string{"analyze", "--manifest", trunc, "--run-results", r}, []string{trunc, "at byte 1000", "truncated"}},
		{"swapped files", []string{"analyze", "--manifest", r, "--run-results", m}, []string{"swap the two files"}},
		{"too large", []string{"analyze", "--manifest", m, "--run-results", r, "--max-manifest-size", "1MiB"}, []string{"larger than the configured limit", "raise --max-manifest-size"}},
		{"bad input wins over --fail-on-dbt-failure", []string{"analyze", "--manifest", trunc, "--run-results", r, "--fail-on-dbt-failure"}, []string{"truncated"}},
		{"negative limit", []string{"analyze", "--manifest", m, "--run-results", r, "--max-run-results-size", "-1"}, []string{"positive"}},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, tt.args...)
		if code != exitBadInput {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tt.name, code, exitBadInput, errOut)
		}
		if out != "" {
			t.Errorf("%s: stdout should be empty, got %q", tt.name, out)
		}
		for _, w := range tt.wantErr {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr %q lacks %q", tt.name, errOut, w)
			}
		}
	}
}

// TestAnalyzeFlags checks flag parsing apart from the work, through runF.
func TestAnalyzeFlags(t *testing.T) {
	t.Parallel()
	var io iostreams
	var got *analyzeOptions
	cmd := newAnalyzeCmd(&io, func(o *analyzeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--manifest", "m", "--run-results", "r", "--format", "markdown", "--max-manifest-size", "10MiB", "--max-run-results-size", "5MB", "--max-node-size", "1MiB", "--validate"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("runF not called")
	}
	want := artifacts.Options{MaxManifestBytes: 10 << 20, MaxRunResultsBytes: 5e6, MaxNodeBytes: 1 << 20, Validate: true}
	if got.Manifest != "m" || got.RunResults != "r" || got.Format != "markdown" || got.Limits != want {
		t.Errorf("parsed %+v, want manifest m, run-results r, markdown, limits %+v", *got, want)
	}
}

// TestAnalyzeFlagDefaults checks that the flags' defaults are the package's.
func TestAnalyzeFlagDefaults(t *testing.T) {
	t.Parallel()
	var io iostreams
	var got *analyzeOptions
	cmd := newAnalyzeCmd(&io, func(o *analyzeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--manifest", "m", "--run-results", "r"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Limits.MaxNodeBytes != artifacts.DefaultMaxNodeBytes {
		t.Errorf("default --max-node-size %d, want %d", got.Limits.MaxNodeBytes, artifacts.DefaultMaxNodeBytes)
	}
	if got.Limits.MaxManifestBytes != artifacts.DefaultMaxManifestBytes || got.Limits.MaxRunResultsBytes != artifacts.DefaultMaxRunResultsBytes {
		t.Errorf("default limits %d/%d, want %d/%d", got.Limits.MaxManifestBytes, got.Limits.MaxRunResultsBytes, artifacts.DefaultMaxManifestBytes, artifacts.DefaultMaxRunResultsBytes)
	}
}

// TestAnalyzeFailOnDBTFailure: --fail-on-dbt-failure exits 3 when a node
// failed and the analysis succeeded, 0 when nothing failed; without it, 0.
func TestAnalyzeFailOnDBTFailure(t *testing.T) {
	t.Parallel()
	m, r := testdataPair(t)
	dir := t.TempDir()
	okM, okR := filepath.Join(dir, "m.json"), filepath.Join(dir, "r.json")
	if err := os.WriteFile(okM, []byte(`{"metadata": {"invocation_id": "i"}, "nodes": {"model.p.a": {"depends_on": {"nodes": []}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(okR, []byte(`{"metadata": {"invocation_id": "i"}, "results": [{"unique_id": "model.p.a", "status": "success"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want int
	}{
		{"failed node, flag", []string{"analyze", "--manifest", m, "--run-results", r, "--fail-on-dbt-failure", "--format", "json"}, exitDBTFailed},
		{"failed node, no flag", []string{"analyze", "--manifest", m, "--run-results", r}, exitOK},
		{"nothing failed, flag", []string{"analyze", "--manifest", okM, "--run-results", okR, "--fail-on-dbt-failure"}, exitOK},
	} {
		code, out, errOut := runCLI(t, tt.args...)
		if code != tt.want {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tt.name, code, tt.want, errOut)
		}
		if out == "" {
			t.Errorf("%s: no analysis written", tt.name)
		}
		if code == exitDBTFailed && !strings.Contains(errOut, "1 node(s) failed") {
			t.Errorf("%s: stderr %q does not say why", tt.name, errOut)
		}
	}
}

// TestAnalyzeOversizedWording: the library reports an oversized node as
// data; the CLI words it with its flag.
func TestAnalyzeOversizedWording(t *testing.T) {
	t.Parallel()
	m, r := testdataPair(t)
	code, out, errOut := runCLI(t, "analyze", "--manifest", m, "--run-results", r, "--max-node-size", "2KiB")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "is over --max-node-size (2048 bytes)") || !strings.Contains(errOut, "raise --max-node-size") {
		t.Errorf("stderr does not name the flag: %q", errOut)
	}
	if strings.Contains(out, "--max-node-size") {
		t.Errorf("the analysis itself names a CLI flag:\n%s", out)
	}
}
