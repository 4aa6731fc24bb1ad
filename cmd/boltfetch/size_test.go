package main

import (
	"fmt"
	"testing"
)

// FuzzParseSize: any text is a size from 1 byte to 4 EiB or an error, never
// a negative, zero or overflowed number; an accepted size reads back the
// same in bytes.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"2GiB", "500MB", "1048576", "1.5 KiB", "NaN", "-1", "1e30GiB", "Inf", "0", "4194304TiB", "9223372036854775807", "0.1b", " 3 kb "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("parseSize(%q) = %d with error %v", s, n, err)
			}
			return
		}
		if n < 1 || n > maxSize {
			t.Fatalf("parseSize(%q) = %d, out of 1..%d", s, n, int64(maxSize))
		}
		if back, err := parseSize(fmt.Sprintf("%dB", n)); err != nil || back != n {
			t.Fatalf("parseSize(%q) = %d, but %dB reads %d, %v", s, n, n, back, err)
		}
	})
}
