package artifacts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/boltfetch/boltfetch/internal/safetext"
)

// seedFuzz adds the real test data and a few odd shapes to the corpus.
func seedFuzz(f *testing.F, file string, extra ...string) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "*", file))
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 64<<10 {
			b = b[:64<<10] // a truncated seed is a fine seed too
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// fuzzLimit keeps every fuzz input within a small byte budget, so a case
// cannot make the readers allocate without bound.
const fuzzLimit = 1 << 20

// FuzzRunResults: any bytes as run_results never panic, and a successful
// parse yields well-formed lists.
func FuzzRunResults(f *testing.F) {
	seedFuzz(f, "run_results.json",
		`{"results": [{"node": {"unique_id": "model.a.b"}, "status": 3, "skip": true, "error": null}]}`,
		`{"results": [{"unique_id": "x", "status": "fail", "failures": "many", "message": 7}]}`,
		`{"results": [{"unique_id": "x", "status": {"a": 1}, "failures": [1], "message": []}]}`,
		`{"results": [1, "two", null, [3]]}`, `{"results": "x"}`, `[]`, `"\u00e9"`,
		// Invalid UTF-8 in a status (a counts key) and an id: the JSON must
		// still decode back.
		"{\"results\": [{\"unique_id\": \"x\xff\", \"status\": \"sk\xffipped\"}, {\"unique_id\": \"model.p.a\", \"status\": \"error\", \"message\": \"\xfe\"}]}")
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Analyze(context.Background(), strings.NewReader(okManifest), bytes.NewReader(b), Options{MaxRunResultsBytes: fuzzLimit})
		checkFuzzResult(t, a, err)
	})
}

// FuzzManifest: any bytes as a manifest never panic.
func FuzzManifest(f *testing.F) {
	seedFuzz(f, "manifest.json",
		`{"nodes": {"test.a.b": {"attached_node": "model.a.c", "depends_on": {"nodes": ["model.a.c", 1, null]}}}, "parent_map": {"test.a.b": ["model.a.c"]}}`,
		`{"nodes": {"unit_test.a.m.t": {"model": "m", "depends_on": {"nodes": ["model.a.m"]}}}, "unit_tests": []}`,
		`{"nodes": {"a\"b": {"x": "\\\"", "y": [{"z": "]}"}]}}}`, `{"nodes": {"a": 1, "b": [], "c": "s"}}`,
		`{"nodes": {}, "parent_map": {"a": "b", "c": [[]]}}`, `{"nodes": {"a": {`, `{"nodes"`, `[`, ``)
	run := `{"results": [{"unique_id": "model.p.a", "status": "error"}, {"unique_id": "test.a.b", "status": "fail"}, {"unique_id": "model.a.c", "status": "skipped"}, {"unique_id": "a\"b", "status": "skipped"}]}`
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, opts := range []Options{{}, {Validate: true}, {MaxPendingBytes: -1}, {MaxNodeBytes: 64}} {
			opts.MaxManifestBytes = fuzzLimit
			// Through a plain reader (pending bytes) and a ReaderAt (offsets).
			a, err := Analyze(context.Background(), struct{ *bytes.Reader }{bytes.NewReader(b)}, strings.NewReader(run), opts)
			checkFuzzResult(t, a, err)
			a, err = Analyze(context.Background(), bytes.NewReader(b), strings.NewReader(run), opts)
			checkFuzzResult(t, a, err)
		}
	})
}

func checkFuzzResult(t *testing.T, a *Analysis, err error) {
	t.Helper()
	if err != nil {
		if a != nil {
			t.Fatal("analysis and error both returned")
		}
		if !strings.Contains(err.Error(), "at byte") {
			t.Fatalf("error without offset: %v", err)
		}
		return
	}
	if a.Failed == nil || a.Warned == nil || a.Skipped == nil || a.Counts == nil {
		t.Fatal("nil lists in a successful analysis")
	}
	for _, n := range a.Skipped {
		if n.CausedBy == nil {
			t.Fatal("nil caused_by")
		}
	}
	var buf bytes.Buffer
	if err := a.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	// Whatever the input: no raw control reaches a terminal or a comment,
	// and the JSON decodes back to an analysis that encodes the same.
	if r, ok := safetext.Clean(buf.String(), "\n\t"); !ok {
		t.Fatalf("writers let %U through", r)
	}
	var js, again bytes.Buffer
	if err := a.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Analysis
	if err := jsonv2.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("the analysis JSON does not decode back: %v", err)
	}
	if err := back.WriteJSON(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js.Bytes(), again.Bytes()) {
		t.Fatalf("the analysis JSON does not round-trip:\n%s\n%s", js.Bytes(), again.Bytes())
	}
	for _, n := range append(append([]Node{}, a.Failed...), a.Warned...) {
		if len(n.CompiledCode) > MaxCompiledCodeBytes {
			t.Fatalf("compiled code of %d bytes", len(n.CompiledCode))
		}
	}
	for _, n := range a.Skipped {
		if n.CompiledCode != "" || len(n.CausedBy) > MaxCausedBy || n.CausedByCount < len(n.CausedBy) {
			t.Fatalf("skipped node out of bounds: %+v", n)
		}
	}
}

// FuzzSkimmer: on valid JSON the skimmer finds exactly the value the
// jsontext decoder finds, and on any input it never panics or loops.
func FuzzSkimmer(f *testing.F) {
	for _, s := range []string{`{"a": [1, {"b": "c\\\"}"}], "d": null}`, `"x"`, `[[[]]]`, `-1.5e3`, `{"a":"\\\\"}`, `{`, `"\\`,
		`{"depends_on": ["` + strings.Repeat(`a\\\"\\\\`, 20) + `"], "x": "` + strings.Repeat(`\\`, 70) + `\""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sk := newSkimmer(&oneByteReader{b: b})
		v, err := sk.value(true)
		valid := jsontext.Value(b).IsValid()
		if err != nil {
			if valid {
				t.Fatalf("skimmer failed on valid JSON: %v", err)
			}
			return
		}
		got := append([]byte(nil), v...)
		if !valid {
			return
		}
		want := bytes.TrimSpace(b)
		if !bytes.Equal(got, want) {
			t.Fatalf("skimmer read %q, want %q", got, want)
		}
		if err := sk.end(); err != nil {
			t.Fatalf("end: %v", err)
		}
		// With a small cap, a kept value is either read whole or skipped
		// whole, and the skimmer ends up past it either way.
		sk = newSkimmer(&chunkReader{b: b, n: 3})
		sk.maxHold = 24
		v, err = sk.value(true)
		var big *heldTooBig
		switch {
		case errors.As(err, &big):
			if big.size != int64(len(want)) || big.size <= 24 {
				t.Fatalf("capped: heldTooBig %+v for a %d-byte value", big, len(want))
			}
		case err != nil:
			t.Fatalf("capped: %v", err)
		case !bytes.Equal(v, want):
			t.Fatalf("capped: read %q, want %q", v, want)
		}
		if err := sk.end(); err != nil {
			t.Fatalf("capped: end: %v", err)
		}
	})
}

// oneByteReader returns one byte per Read, to exercise window refills at
// every position.
type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}
