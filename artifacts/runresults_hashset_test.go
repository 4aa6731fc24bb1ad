package artifacts

import (
	"math/rand/v2"
	"testing"
)

// TestHashSet checks hashSet against a map, through several doublings, with
// the hash 0 and hashes that share their low bits.
func TestHashSet(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	s := newHashSet(0)
	want := map[uint64]bool{}
	for range 20000 {
		var h uint64
		switch rng.IntN(4) {
		case 0:
			h = uint64(rng.IntN(8)) // 0 and small collisions
		case 1:
			h = uint64(rng.IntN(64)) << 40 // same low bits
		default:
			h = rng.Uint64()
		}
		if got := s.add(h); got != !want[h] {
			t.Fatalf("add(%#x) = %v, want %v", h, got, !want[h])
		}
		want[h] = true
	}
	if n := s.n + map[bool]int{true: 1}[s.hasZero]; n != len(want) {
		t.Fatalf("%d hashes held, want %d", n, len(want))
	}
}
