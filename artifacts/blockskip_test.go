package artifacts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// refDepth walks buf from 0 the way the byte loop reads JSON (strings with
// their escapes, brackets outside strings) and returns, for each index, the
// bracket depth before that byte and whether it is inside a string (an
// opening quote counts as inside).
func refDepth(buf []byte) (depth []int, inStr []bool) {
	depth, inStr = make([]int, len(buf)+1), make([]bool, len(buf)+1)
	d, in, esc := 0, false, false
	for i, c := range buf {
		depth[i], inStr[i] = d, in
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in:
		case c == '{' || c == '[':
			d++
		case c == '}' || c == ']':
			d--
		}
	}
	depth[len(buf)], inStr[len(buf)] = d, in
	return depth, inStr
}

// randomJSON is a random valid JSON value: nested objects and arrays whose
// strings (encoding/json escapes them) hold quotes, backslashes and
// brackets, some long enough to cross 64-byte blocks, and member names the
// skimmer looks for.
func randomJSON(rng *rand.Rand, depth int) any {
	names := []string{"depends_on", "model", "attached_node", "nodes", "a", `q"u{o}t[e]`, `back\slash`}
	str := func() string {
		if rng.IntN(10) == 0 {
			return names[rng.IntN(len(names))] // a member's name as a value
		}
		var sb strings.Builder
		n := rng.IntN(12)
		if rng.IntN(8) == 0 {
			n = 60 + rng.IntN(300)
		}
		for range n {
			sb.WriteByte(`ab"\{}[]:, x`[rng.IntN(12)])
		}
		return sb.String()
	}
	if depth <= 0 || rng.IntN(4) == 0 {
		switch rng.IntN(4) {
		case 0:
			return rng.IntN(1000)
		case 1:
			return nil
		default:
			return str()
		}
	}
	n := rng.IntN(6)
	if rng.IntN(2) == 0 {
		m := map[string]any{}
		for range n {
			k := str()
			if rng.IntN(2) == 0 {
				k = names[rng.IntN(len(names))]
			}
			m[k] = randomJSON(rng, depth-1)
		}
		return m
	}
	a := make([]any, n)
	for i := range a {
		a[i] = randomJSON(rng, depth-1)
	}
	return a
}

// TestBlockSkipReference: on random valid JSON, from every opening bracket
// and for every target depth below it, blockSkip returns where the byte
// walk says the depth comes down to the target, or else a block boundary
// outside any string with the depth there.
func TestBlockSkipReference(t *testing.T) {
	if !haveBlockMasks {
		t.Skip("no vector blockMasks on this machine")
	}
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for doc := 0; doc < 300; doc++ {
		v := map[string]any{"x": randomJSON(rng, 6), "y": randomJSON(rng, 6)}
		buf, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if rng.IntN(3) == 0 {
			buf = buf[:rng.IntN(len(buf)+1)] // a window ending anywhere
		}
		depth, inStr := refDepth(buf)
		for i, c := range buf {
			if inStr[i] || (c != '{' && c != '[') {
				continue
			}
			d := depth[i] + 1
			for target := 0; target < d; target++ {
				pos, got, done := blockSkip(buf, i+1, d, target)
				if done {
					// The first index after i+1 where the depth is target.
					want := -1
					for j := i + 1; j <= len(buf); j++ {
						if depth[j] < d && depth[j] == target && !inStr[j] {
							want = j
							break
						}
						if depth[j] < target {
							break
						}
					}
					if pos != want || got != target {
						t.Fatalf("doc %d, bracket at %d, depth %d -> %d: done at %d (depth %d), want %d", doc, i, d, target, pos, got, want)
					}
					continue
				}
				if pos != i+1 && ((pos-(i+1))%64 != 0 || inStr[pos] || depth[pos] != got) {
					t.Fatalf("doc %d, bracket at %d: stopped at %d, depth %d (reference: depth %d, in string %v)", doc, i, pos, got, depth[pos], inStr[pos])
				}
				if pos == i+1 && got != d {
					t.Fatalf("doc %d: no progress but depth %d, want %d", doc, got, d)
				}
				// Not done: the depth never reached target before the last
				// whole block.
				for j := i + 1; j < pos; j++ {
					if depth[j+1] == target && !inStr[j+1] && depth[j] > target {
						t.Fatalf("doc %d, bracket at %d: depth %d reached at %d, before %d", doc, i, target, j+1, pos)
					}
				}
			}
		}
	}
}

// skimRecord skims doc with the skimmer fed in chunks of chunk bytes: the
// top-level value kept with the members it looks for, then each member of
// a top-level object on its own (scan with found, as for manifest nodes).
func skimRecord(doc []byte, chunk int, byteLoop bool) []string {
	var out []string
	sk := newSkimmer(&chunkReader{b: doc, n: chunk})
	sk.byteLoop = byteLoop
	var found [len(nodeMembers)]int
	v, err := sk.scan(true, &found)
	out = append(out, fmt.Sprintf("%q %v %v", v, found, err))
	sk = newSkimmer(&chunkReader{b: doc, n: chunk})
	sk.byteLoop = byteLoop
	err = topMembers(sk, func(name []byte) error {
		return skimMembers(context.Background(), sk, func(n []byte) error {
			v, err := sk.scan(true, &found)
			out = append(out, fmt.Sprintf("%q %q %v", n, v, found))
			return err
		})
	})
	return append(out, fmt.Sprint(err))
}

// TestSkimmerBlocksSame: the skimmer finds the same values and the same
// members with blockSkip as on its byte loop alone, whatever the read
// sizes (so that blocks stop at window ends anywhere), on random JSON and
// on every real manifest.
func TestSkimmerBlocksSame(t *testing.T) {
	if !haveBlockMasks {
		t.Skip("no vector blockMasks on this machine")
	}
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	var docs [][]byte
	for n := range 200 {
		v := map[string]any{"nodes": randomJSON(rng, 7), "x": randomJSON(rng, 5)}
		b, err := json.Marshal(v)
		if n%4 == 3 {
			b, err = json.MarshalIndent(v, "", strings.Repeat(" ", n%9)) // whitespace between tokens
		}
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "manifest.json"))
	if os.Getenv("BOLTFETCH_SHARED") != "" {
		dir, sources := sharedSources(t)
		for _, s := range sources {
			if strings.Contains(filepath.Base(s.file), "manifest") {
				paths = append(paths, filepath.Join(dir, s.file))
			}
		}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	t.Logf("%d documents, %d of them real manifests", len(docs), len(paths))
	for n, doc := range docs {
		for _, chunk := range []int{1 + rng.IntN(200), 4096 + rng.IntN(64), 1 << 20} {
			want, got := skimRecord(doc, chunk, true), skimRecord(doc, chunk, false)
			if len(want) != len(got) {
				t.Fatalf("document %d, chunk %d: %d records on the byte loop, %d with blocks", n, chunk, len(want), len(got))
			}
			for i := range want {
				if want[i] != got[i] {
					t.Fatalf("document %d, chunk %d, record %d:\nbyte loop %.300s\nblocks    %.300s", n, chunk, i, want[i], got[i])
				}
			}
		}
	}
}

// FuzzBlockSkip: on any bytes, the skimmer with blockSkip reads a valid
// JSON value as the byte loop does, and as jsontext delimits it.
func FuzzBlockSkip(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		b, _ := json.Marshal(randomJSON(rng, 6))
		f.Add(b)
	}
	f.Add([]byte(`{"a": "` + strings.Repeat(`\\\"`, 40) + `", "depends_on": [{"b": "]}"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !haveBlockMasks || !jsontext.Value(b).IsValid() {
			return
		}
		for _, chunk := range []int{7, 100, 1 << 16} {
			want, got := skimRecord(b, chunk, true), skimRecord(b, chunk, false)
			if fmt.Sprint(want) != fmt.Sprint(got) {
				t.Fatalf("chunk %d:\nbyte loop %.300v\nblocks    %.300v", chunk, want, got)
			}
		}
		sk := newSkimmer(&chunkReader{b: b, n: 100})
		v, err := sk.value(true)
		if err != nil || !bytes.Equal(v, bytes.TrimSpace(b)) {
			t.Fatalf("read %q, %v; want %q", v, err, bytes.TrimSpace(b))
		}
	})
}

// TestMemberLengths: isMemberLen, the filter before memberIndex, lets
// through the length of every member the skimmer looks for.
func TestMemberLengths(t *testing.T) {
	for k, m := range nodeMembers {
		if !isMemberLen(len(m)) {
			t.Errorf("isMemberLen(%d) is false for %q", len(m), m)
		}
		if got := memberIndex([]byte(m)); got != k {
			t.Errorf("memberIndex(%q) = %d, want %d", m, got, k)
		}
	}
}
