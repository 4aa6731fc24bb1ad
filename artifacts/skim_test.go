package artifacts

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// TestQuoteIndex checks the word-at-a-time quote search against the
// obvious answer, for every length, quote position and start around the
// 8-byte and 32-byte boundaries.
func TestQuoteIndex(t *testing.T) {
	t.Parallel()
	for n := 0; n < 80; n++ {
		for q := -1; q < n; q++ {
			b := bytes.Repeat([]byte{0xa2}, n) // 0xa2 ^ '"' has its high bit set
			if q >= 0 {
				b[q] = '"'
			}
			for j := 0; j <= n; j++ {
				want := n
				if q >= j {
					want = q
				}
				if got := quoteIndex(b, j); got != want {
					t.Fatalf("n=%d quote at %d from %d: got %d, want %d", n, q, j, got, want)
				}
			}
		}
	}
}

// BenchmarkSkim measures the skimmer alone, skipping a whole generated
// manifest.
func BenchmarkSkim(b *testing.B) {
	data := generatedManifest(b, 10000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := newSkimmer(bytes.NewReader(data)).value(false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSkimNodes measures the skimmer as the manifest pass uses it:
// each node scanned for its members (blockMembers on depth 1, blockSkip
// below), the other sections skipped. BOLTFETCH_BENCH_MANIFEST names a
// bigger manifest; by default 10,000 nodes are generated.
func BenchmarkSkimNodes(b *testing.B) {
	data := generatedManifest(b, 10000)
	if p := os.Getenv("BOLTFETCH_BENCH_MANIFEST"); p != "" {
		var err error
		if data, err = os.ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		sk := newSkimmer(bytes.NewReader(data))
		var found [len(nodeMembers)]int
		nodes := 0
		err := topMembers(sk, func(name []byte) error {
			if string(name) != "nodes" {
				_, err := sk.scan(false, nil)
				return err
			}
			return skimMembers(context.Background(), sk, func([]byte) error {
				nodes++
				_, err := sk.scan(true, &found)
				return err
			})
		})
		if err != nil || nodes == 0 {
			b.Fatalf("%d nodes, %v", nodes, err)
		}
	}
}
