package client

import (
	"testing"

	"github.com/boltfetch/boltfetch/internal/safetext"
)

// TestExcerptIsSafe: an excerpt of a server's answer holds no raw control
// of any kind (C0, C1 such as CSI U+009B, bidi) nor invalid UTF-8, cut or not.
func TestExcerptIsSafe(t *testing.T) {
	t.Parallel()
	for _, h := range safetext.Hostile {
		for _, n := range []int{300, 7} {
			got := excerpt(h, n)
			if bad, ok := safetext.Clean(got, ""); !ok {
				t.Errorf("excerpt(%q, %d) = %q: raw %q", h, n, got, bad)
			}
		}
	}
}
