package artifacts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// bigNodeManifest is a manifest whose node model.p.big, downstream of the
// failing model.p.a and upstream of model.p.c, holds a compiled_code string
// of size bytes (with escapes, so that refills land on them).
func bigNodeManifest(size int, parentMap bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"metadata": {"invocation_id": "i"}, "nodes": {`)
	b.WriteString(`"model.p.a": {"resource_type": "model", "depends_on": {"nodes": []}}, `)
	b.WriteString(`"model.p.big": {"resource_type": "model", "name": "big", "depends_on": {"nodes": ["model.p.a"]}, "compiled_code": "`)
	chunk := `select 1 -- \"quoted\" \\ back\\\\slashes` + strings.Repeat("x", 57)
	for b.Len() < size {
		b.WriteString(chunk)
	}
	b.WriteString(`", "attached_node": null}, `)
	b.WriteString(`"model.p.c": {"resource_type": "model", "depends_on": {"nodes": ["model.p.big"]}}}`)
	if parentMap {
		b.WriteString(`, "parent_map": {"model.p.a": [], "model.p.big": ["model.p.a"], "model.p.c": ["model.p.big"]}`)
	}
	b.WriteString(`}`)
	return b.Bytes()
}

const bigNodeRunResults = `{"metadata": {"invocation_id": "i"}, "results": [
	{"unique_id": "model.p.a", "status": "error", "message": "boom"},
	{"unique_id": "model.p.big", "status": "skipped"},
	{"unique_id": "model.p.c", "status": "skipped"}]}`

// TestOversizedNode: a node over MaxNodeBytes is skipped without being held
// (the pass holds about MaxNodeBytes, not the node), counted as defined, and
// named in a warning that says causes through it may be missing.
func TestOversizedNode(t *testing.T) {
	const (
		limit = 64 << 10
		size  = 4 << 20
	)
	for _, parentMap := range []bool{false, true} {
		data := bigNodeManifest(size, parentMap)
		for _, asFile := range []bool{false, true} {
			name := fmt.Sprintf("parent_map=%v/readerAt=%v", parentMap, asFile)
			var r io.Reader = bytes.NewReader(data)
			if !asFile {
				r = struct{ io.Reader }{r}
			}
			opts := Options{MaxNodeBytes: limit}
			a, err := Analyze(context.Background(), r, strings.NewReader(bigNodeRunResults), opts)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var warning string
			for _, w := range a.Warnings {
				if strings.Contains(w, "model.p.big") {
					warning = w
				}
			}
			if !strings.Contains(warning, "bytes held per value") || !strings.Contains(warning, "may be missing") || strings.Contains(warning, "--") {
				t.Errorf("%s: no warning naming the oversized node (in library words): %q", name, a.Warnings)
			}
			if len(a.Oversized) != 1 || a.Oversized[0].What != "node" || a.Oversized[0].ID != "model.p.big" || a.Oversized[0].Limit != limit {
				t.Errorf("%s: Oversized = %+v", name, a.Oversized)
			}
			if len(a.Skipped) != 2 {
				t.Fatalf("%s: skipped = %+v", name, a.Skipped)
			}
			big, c := a.Skipped[0], a.Skipped[1]
			if big.UniqueID != "model.p.big" || !big.InManifest || big.CompiledCode != "" {
				t.Errorf("%s: oversized node reported as %+v", name, big)
			}
			// Its edges are lost, unless parent_map gives them: caused_by
			// may then miss causes, but never names a wrong one.
			want := "[]"
			if parentMap {
				want = "[model.p.a]"
			}
			if got := fmt.Sprint(big.CausedBy); got != want {
				t.Errorf("%s: caused_by of the oversized node = %s, want %s", name, got, want)
			}
			if got := fmt.Sprint(c.CausedBy); got != want {
				t.Errorf("%s: caused_by downstream of the oversized node = %s, want %s", name, got, want)
			}

			// Memory: the skimmer's window stays near the cap, nowhere near
			// the node.
			set := newReportedSet()
			close(set.done)
			r = bytes.NewReader(data)
			if !asFile {
				r = struct{ io.Reader }{r}
			}
			m, err := readManifest(context.Background(), r, "manifest", opts.withDefaults(), set)
			if err != nil {
				t.Fatal(err)
			}
			if bound := limit + skimChunk; m.window > bound {
				t.Errorf("%s: the skimmer's window grew to %d bytes for a %d-byte node, want at most %d", name, m.window, size, bound)
			}
			if len(m.oversized) != 1 || m.oversized[0].ID != "model.p.big" || m.oversized[0].Size < size-1024 || m.oversized[0].Limit != limit {
				t.Errorf("%s: oversized = %+v", name, m.oversized)
			}
		}
	}
}

// TestOversizedNodeFitsDefault: the same node under the default cap is read
// whole, with its details and edges.
func TestOversizedNodeFitsDefault(t *testing.T) {
	a, err := Analyze(context.Background(), bytes.NewReader(bigNodeManifest(1<<20, false)), strings.NewReader(bigNodeRunResults), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range a.Warnings {
		if strings.Contains(w, "held per value") {
			t.Errorf("unexpected warning %q", w)
		}
	}
	if big := a.Skipped[0]; len(a.Oversized) != 0 || big.CompiledCode != "" || fmt.Sprint(big.CausedBy) != "[model.p.a]" || fmt.Sprint(a.Skipped[1].CausedBy) != "[model.p.a]" {
		t.Errorf("node under the cap not read whole: caused_by %v, %v", big.CausedBy, a.Skipped[1].CausedBy)
	}
}

// TestOversizedOtherValues: a parent_map entry and metadata over the cap
// are skipped with a warning; a member name over it is ErrTooLarge.
func TestOversizedOtherValues(t *testing.T) {
	long := strings.Repeat("y", 8<<10)
	opts := Options{MaxNodeBytes: 1 << 10}
	m := `{"metadata": {"invocation_id": "i", "x": "` + long + `"}, "nodes": {"model.p.a": {}, "model.p.c": {"depends_on": {"nodes": ["model.p.a"]}}}, ` +
		`"parent_map": {"model.p.c": ["model.p.a", "` + long + `"]}}`
	run := `{"metadata": {"invocation_id": "i"}, "results": [{"unique_id": "model.p.a", "status": "error"}, {"unique_id": "model.p.c", "status": "skipped"}]}`
	a, err := Analyze(context.Background(), strings.NewReader(m), strings.NewReader(run), opts)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(a.Warnings, "\n")
	if !strings.Contains(all, "parent_map entr") || !strings.Contains(all, "model.p.c") || !strings.Contains(all, "metadata is over") {
		t.Errorf("warnings = %q", a.Warnings)
	}
	// The parents of model.p.c come from depends_on instead.
	if len(a.Skipped) != 1 || fmt.Sprint(a.Skipped[0].CausedBy) != "[model.p.a]" {
		t.Errorf("skipped = %+v", a.Skipped)
	}

	_, err = Analyze(context.Background(), strings.NewReader(`{"nodes": {"`+long+`": {}}}`), strings.NewReader(run), opts)
	var pe *ParseError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &pe) || pe.Offset != 11 || !strings.Contains(err.Error(), "member name") {
		t.Errorf("long member name: %v", err)
	}
}

// TestSkimmerHoldsNoLongString: a long string that is skipped, or that is
// part of a kept value over the cap, is not held in the window, whatever
// its escapes and wherever the reads cut it.
func TestSkimmerHoldsNoLongString(t *testing.T) {
	const size = 1 << 20
	var body strings.Builder
	for i := 0; body.Len() < size; i++ {
		body.WriteString(strings.Repeat(`\\`, i%7)) // even runs
		body.WriteString(`\"`)
		body.WriteString(strings.Repeat("z", i%97))
		body.WriteString(`\u00e9\n`)
	}
	str := `"` + body.String() + `"`
	for _, in := range []string{
		str,
		`{"a": ` + str + `, "b": [1, ` + str + `]}`,
		`[` + str + `, {"depends_on": {"nodes": ["x"]}}]`,
	} {
		for _, chunk := range []int{1, 7, 4093, 1 << 16} {
			for _, keep := range []bool{false, true} {
				sk := newSkimmer(&chunkReader{b: []byte(in), n: chunk})
				sk.maxHold = 32 << 10
				v, err := sk.value(keep)
				var big *heldTooBig
				switch {
				case !keep && err != nil:
					t.Fatalf("chunk %d: %v", chunk, err)
				case keep && !errors.As(err, &big):
					t.Fatalf("chunk %d, keep: %v, %d bytes, want a heldTooBig", chunk, err, len(v))
				case keep && (big.off != 0 || big.size != int64(len(in))):
					t.Fatalf("chunk %d: heldTooBig %+v, want size %d", chunk, big, len(in))
				}
				if err := sk.end(); err != nil {
					t.Fatalf("chunk %d: end: %v", chunk, err)
				}
				if bound := sk.maxHold + skimChunk; cap(sk.buf) > bound {
					t.Errorf("chunk %d keep=%v: window grew to %d for a %d-byte value, want at most %d", chunk, keep, cap(sk.buf), len(in), bound)
				}
			}
		}
		// Without a cap, a kept value is read whole and right.
		sk := newSkimmer(&chunkReader{b: []byte(in), n: 4093})
		if v, err := sk.value(true); err != nil || string(v) != in {
			t.Fatalf("kept without a cap: %v, %d bytes, want %d", err, len(v), len(in))
		}
	}
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestBareWords: a bare word where a value is expected is ErrNotJSON at
// its offset, not a JSON null or a node without edges; real literals pass.
func TestBareWords(t *testing.T) {
	for _, tt := range []struct {
		manifest string
		offset   int64
	}{
		{`not json`, 0},
		{`  nope`, 2},
		{`nul`, 0},
		{`nullx`, 0},
		{`[nope]`, 0},
		{`{"nodes": {"a": nope}}`, 16},
		{`{"nodes": {"a": tru}}`, 16},
		{`{"nodes": {"a": falsey}}`, 16},
		{`{"nodes": {"a": 1.}}`, 16},
		{`{"nodes": {"a": -}}`, 16},
		{`{"nodes": {"a": 01}}`, 16},
		{`{"nodes": {"a": 1e}}`, 16},
		{`{"nodes": {"a": 1"x"}}`, 16},
		{`{"nodes": {}, "parent_map": {"a": yes}}`, 34},
		{`{"generated_at": now, "nodes": {}}`, 17},
	} {
		_, err := Analyze(context.Background(), strings.NewReader(tt.manifest), strings.NewReader(okRunResults), Options{})
		var pe *ParseError
		if !errors.Is(err, ErrNotJSON) || !errors.As(err, &pe) || pe.File != "manifest" || pe.Offset != tt.offset || !strings.Contains(err.Error(), "not valid JSON") {
			t.Errorf("%s: %v, want ErrNotJSON at byte %d", tt.manifest, err, tt.offset)
		}
	}
	ok := `{"nodes": {"a": 1, "b": -0.5e+3, "c": true, "d": null, "e": false, "f": 0, "g": 12E-2, "h": {}}, "generated_at": null}`
	if _, err := Analyze(context.Background(), strings.NewReader(ok), strings.NewReader(okRunResults), Options{}); err != nil {
		t.Errorf("valid literals: %v", err)
	}
}

// TestBigReportedNodeDetail: a reported node bigger than bigDetail is
// decoded by the reader, a smaller one by the graph builder; both bring
// their details, and a node listed twice keeps the detail of its last
// entry whichever way each entry went.
func TestBigReportedNodeDetail(t *testing.T) {
	t.Parallel()
	node := func(id, path string, codeBytes int) string {
		return fmt.Sprintf(`{"unique_id": %q, "resource_type": "model", "original_file_path": %q, "compiled_code": %q, "depends_on": {"nodes": []}}`,
			id, path, strings.Repeat("s", codeBytes))
	}
	m := `{"metadata": {"invocation_id": "i"}, "nodes": {` +
		`"model.p.big": ` + node("model.p.big", "big.sql", 3*bigDetail) + `, ` +
		`"model.p.small": ` + node("model.p.small", "small.sql", 10) + `, ` +
		`"model.p.twice": ` + node("model.p.twice", "first.sql", 3*bigDetail) + `, ` +
		`"model.p.twice": ` + node("model.p.twice", "second.sql", 10) + `, ` +
		`"model.p.again": ` + node("model.p.again", "first.sql", 10) + `, ` +
		`"model.p.again": ` + node("model.p.again", "second.sql", 3*bigDetail) + `}}`
	want := map[string]string{"model.p.big": "big.sql", "model.p.small": "small.sql", "model.p.twice": "second.sql", "model.p.again": "second.sql"}
	// A complete set: every node is decoded as it is met, none waits.
	set := newReportedSet()
	for id := range want {
		set.add(id, classFailed)
	}
	close(set.done)
	for _, stream := range []bool{false, true} {
		var r io.Reader = strings.NewReader(m)
		if stream {
			r = struct{ io.Reader }{r}
		}
		md, err := readManifest(context.Background(), r, "manifest", Options{}.withDefaults(), set)
		if err != nil {
			t.Fatal(err)
		}
		for id, path := range want {
			d := md.details[set.hash(id)]
			if d == nil || d.OriginalFilePath != path || d.CompiledCode == "" || len(d.CompiledCode) > MaxCompiledCodeBytes {
				t.Errorf("stream=%v: %s: detail %+v, want path %s", stream, id, d, path)
			}
		}
	}
	// Through Analyze, run_results read alongside.
	run := `{"metadata": {"invocation_id": "i"}, "results": [{"unique_id": "model.p.big", "status": "error"}, {"unique_id": "model.p.small", "status": "error"}]}`
	a, err := Analyze(context.Background(), strings.NewReader(m), strings.NewReader(run), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range a.Failed {
		if n.OriginalFilePath != want[n.UniqueID] || n.CompiledCode == "" || len(n.CompiledCode) > MaxCompiledCodeBytes {
			t.Errorf("%s: path %q, %d bytes of code", n.UniqueID, n.OriginalFilePath, len(n.CompiledCode))
		}
	}
	if len(a.Failed) != 2 {
		t.Errorf("%d failed, want 2", len(a.Failed))
	}
}
