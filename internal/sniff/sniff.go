// Package sniff names the encoding of a file that should be UTF-8 JSON from
// its first bytes, so that a parser can say "this file is UTF-16LE" or "this
// file is gzip-compressed" instead of "invalid character 'ï'".
//
// The artifacts readers and the payload parser use it on the first bytes of
// their input, before any JSON error.
package sniff

import "bytes"

// PrefixLen is how many leading bytes Encoding needs to decide; fewer are
// fine at the end of a short file.
const PrefixLen = 4

// Encoding names the encoding or compression of a file that starts with
// prefix, when it is not plain UTF-8 text: "UTF-8 with BOM", "UTF-16LE",
// "UTF-16BE" (with or without a BOM), "UTF-32LE", "UTF-32BE", "gzip",
// "zstd", "bzip2", "xz" or "zip". It returns "" for anything else, including
// plain UTF-8 and text too short to tell.
func Encoding(prefix []byte) string {
	p := prefix
	switch {
	case bytes.HasPrefix(p, []byte{0x1f, 0x8b}):
		return "gzip"
	case bytes.HasPrefix(p, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	case bytes.HasPrefix(p, []byte("BZh")):
		return "bzip2"
	case bytes.HasPrefix(p, []byte{0xfd, '7', 'z', 'X'}):
		return "xz"
	case bytes.HasPrefix(p, []byte("PK\x03\x04")):
		return "zip"
	case bytes.HasPrefix(p, []byte{0xef, 0xbb, 0xbf}):
		return "UTF-8 with BOM"
	case bytes.HasPrefix(p, []byte{0xff, 0xfe, 0, 0}):
		return "UTF-32LE"
	case bytes.HasPrefix(p, []byte{0, 0, 0xfe, 0xff}):
		return "UTF-32BE"
	case bytes.HasPrefix(p, []byte{0xff, 0xfe}):
		return "UTF-16LE"
	case bytes.HasPrefix(p, []byte{0xfe, 0xff}):
		return "UTF-16BE"
	}
	if len(p) < 2 {
		return ""
	}
	// Without a BOM: JSON starts with an ASCII character, so its zero bytes
	// say the width and the order.
	if len(p) >= 4 {
		switch {
		case p[0] != 0 && p[1] == 0 && p[2] == 0 && p[3] == 0:
			return "UTF-32LE"
		case p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] != 0:
			return "UTF-32BE"
		}
	}
	switch {
	case p[0] != 0 && p[1] == 0:
		return "UTF-16LE"
	case p[0] == 0 && p[1] != 0:
		return "UTF-16BE"
	}
	return ""
}
