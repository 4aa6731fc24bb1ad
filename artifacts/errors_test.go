package artifacts

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	okManifest   = `{"metadata": {"invocation_id": "i"}, "nodes": {"model.p.a": {"resource_type": "model", "depends_on": {"nodes": []}}}, "parent_map": {}}`
	okRunResults = `{"metadata": {"invocation_id": "i"}, "results": [{"unique_id": "model.p.a", "status": "error", "message": "boom"}]}`
)

func TestBadInputErrors(t *testing.T) {
	tests := []struct {
		name                 string
		manifest, runResults string
		wantFile             string // "manifest" or "run_results"
		wantErr              error
		wantOffset           int64 // -1: do not check
		wantText             string
	}{
		{"empty manifest", "", okRunResults, "manifest", ErrEmpty, 0, "empty"},
		{"blank manifest", "  \n\t ", okRunResults, "manifest", ErrEmpty, -1, "empty"},
		{"empty run_results", okManifest, "", "run_results", ErrEmpty, 0, "empty"},
		{"truncated manifest", okManifest[:60], okRunResults, "manifest", ErrTruncated, 60, "truncated"},
		{"truncated run_results", okManifest, okRunResults[:70], "run_results", ErrTruncated, -1, "truncated"},
		{"truncated inside a string", `{"nodes": {"model.p.a": {"name": "abc`, okRunResults, "manifest", ErrTruncated, -1, "truncated"},
		{"manifest not JSON", "<html>502 Bad Gateway</html>", okRunResults, "manifest", ErrNotJSON, 0, "not valid JSON"},
		{"run_results not JSON", okManifest, "PK\x03\x04zipdata", "run_results", ErrEncoding, 0, "zip-compressed"},
		{"run_results not JSON (text)", okManifest, "hello", "run_results", ErrNotJSON, 0, "not valid JSON"},
		{"manifest garbage after a key", `{"nodes": x}`, okRunResults, "manifest", ErrNotJSON, 10, "not valid JSON"},
		{"run_results given as manifest", okRunResults, okRunResults, "manifest", ErrWrongArtifact, -1, "this is a run_results"},
		{"manifest given as run_results", okManifest, okManifest, "run_results", ErrWrongArtifact, -1, "this is a manifest"},
		{"manifest is an array", `[1, 2]`, okRunResults, "manifest", ErrWrongArtifact, -1, "JSON array"},
		{"run_results is a string", okManifest, `"hello"`, "run_results", ErrWrongArtifact, -1, "JSON string"},
		{"manifest without nodes", `{"metadata": {}}`, okRunResults, "manifest", ErrWrongArtifact, -1, `no "nodes"`},
		{"run_results without results", okManifest, `{"metadata": {}}`, "run_results", ErrWrongArtifact, -1, `no "results"`},
		{"two values", okManifest + " {}", okRunResults, "manifest", ErrWrongArtifact, -1, "more than one"},
		{"results not an array", okManifest, `{"results": {}}`, "run_results", ErrWrongArtifact, -1, "not an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Analyze(context.Background(), strings.NewReader(tt.manifest), strings.NewReader(tt.runResults), Options{})
			if err == nil {
				t.Fatal("no error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.File != tt.wantFile {
				t.Errorf("File = %q, want %q (error: %v)", pe.File, tt.wantFile, err)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not match %v", err, tt.wantErr)
			}
			if tt.wantOffset >= 0 && pe.Offset != tt.wantOffset {
				t.Errorf("Offset = %d, want %d (error: %v)", pe.Offset, tt.wantOffset, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), "at byte") {
				t.Errorf("error %q should say %q and the byte offset", err, tt.wantText)
			}
		})
	}
}

func TestBothFilesBad(t *testing.T) {
	t.Parallel()
	_, err := Analyze(context.Background(), strings.NewReader(""), strings.NewReader("nope"), Options{})
	if !errors.Is(err, ErrEmpty) || !errors.Is(err, ErrNotJSON) {
		t.Errorf("want both errors joined, got %v", err)
	}
}

func TestAnalyzeFilesErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m := write("manifest.json", okManifest)
	r := write("run_results.json", okRunResults)
	zero := write("zero.json", "")
	big := write("big.json", okManifest)

	if _, err := AnalyzeFiles(context.Background(), m, r, Options{}); err != nil {
		t.Fatalf("good pair: %v", err)
	}
	_, err := AnalyzeFiles(context.Background(), m, zero, Options{})
	if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), zero) {
		t.Errorf("0-byte file: %v", err)
	}
	_, err = AnalyzeFiles(context.Background(), filepath.Join(dir, "missing.json"), r, Options{})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	_, err = AnalyzeFiles(context.Background(), big, r, Options{MaxManifestBytes: 10})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), big) {
		t.Errorf("too large: %v", err)
	}
	// A limit reached while streaming (no size known up front).
	_, err = Analyze(context.Background(), strings.NewReader(okManifest), strings.NewReader(okRunResults), Options{MaxRunResultsBytes: 20})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("streaming limit: %v", err)
	}
	_, err = AnalyzeFiles(context.Background(), dir, r, Options{})
	if err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Analyze(ctx, strings.NewReader(okManifest), strings.NewReader(okRunResults), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// TestEncodingNamed: an artifact in UTF-16, UTF-32, with a BOM or compressed
// fails with an *EncodingError naming it, at byte 0, for either file.
func TestEncodingNamed(t *testing.T) {
	t.Parallel()
	m, r := []byte(okManifest), []byte(okRunResults)
	utf16le := func(b []byte) []byte {
		out := []byte{0xff, 0xfe}
		for _, c := range string(b) {
			out = append(out, byte(c), byte(c>>8))
		}
		return out
	}
	utf16beNoBOM := func(b []byte) []byte {
		var out []byte
		for _, c := range string(b) {
			out = append(out, byte(c>>8), byte(c))
		}
		return out
	}
	for _, tt := range []struct {
		name string
		conv func([]byte) []byte
		want string
	}{
		{"bom", func(b []byte) []byte { return append([]byte("\xef\xbb\xbf"), b...) }, "UTF-8 with BOM"},
		{"utf16le", utf16le, "UTF-16LE"},
		{"utf16be", utf16beNoBOM, "UTF-16BE"},
		{"gzip", func(b []byte) []byte {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			return buf.Bytes()
		}, "gzip"},
	} {
		for _, which := range []string{"manifest", "run_results"} {
			mb, rb := m, r
			if which == "manifest" {
				mb = tt.conv(m)
			} else {
				rb = tt.conv(r)
			}
			_, err := Analyze(context.Background(), bytes.NewReader(mb), bytes.NewReader(rb), Options{})
			var pe *ParseError
			var ee *EncodingError
			if !errors.As(err, &pe) || !errors.As(err, &ee) || !errors.Is(err, ErrEncoding) {
				t.Errorf("%s %s: err = %v, want an *EncodingError in a *ParseError", tt.name, which, err)
				continue
			}
			if pe.File != which || pe.Offset != 0 || ee.Encoding != tt.want || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s %s: %v (file %q, offset %d, encoding %q)", tt.name, which, err, pe.File, pe.Offset, ee.Encoding)
			}
		}
	}
}
