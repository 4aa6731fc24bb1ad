package artifacts

import (
	"bytes"
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
