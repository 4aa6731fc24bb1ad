package sniff

import (
	"bytes"
	"compress/gzip"
	"testing"
	"unicode/utf16"
)

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	var b []byte
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xfeff}, units...)
	}
	for _, u := range units {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func TestEncoding(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(`{"a": 1}`))
	w.Close()
	doc := `{"nodes": {}}`
	for _, tt := range []struct {
		in   []byte
		want string
	}{
		{[]byte(doc), ""},
		{[]byte(" \n" + doc), ""},
		{[]byte("é"), ""},
		{[]byte("{"), ""},
		{nil, ""},
		{[]byte("\xef\xbb\xbf" + doc), "UTF-8 with BOM"},
		{utf16Bytes(doc, false, true), "UTF-16LE"},
		{utf16Bytes(doc, true, true), "UTF-16BE"},
		{utf16Bytes(doc, false, false), "UTF-16LE"},
		{utf16Bytes(doc, true, false), "UTF-16BE"},
		{utf16Bytes("\n"+doc, false, false), "UTF-16LE"},
		{[]byte{'{', 0, 0, 0, '"', 0, 0, 0}, "UTF-32LE"},
		{[]byte{0, 0, 0, '{'}, "UTF-32BE"},
		{[]byte{0xff, 0xfe, 0, 0, '{', 0, 0, 0}, "UTF-32LE"},
		{gz.Bytes(), "gzip"},
		{[]byte("PK\x03\x04rest"), "zip"},
		{[]byte{0x28, 0xb5, 0x2f, 0xfd, 1}, "zstd"},
	} {
		p := tt.in[:min(len(tt.in), PrefixLen)]
		if got := Encoding(p); got != tt.want {
			t.Errorf("Encoding(% x) = %q, want %q", p, got, tt.want)
		}
	}
}

func FuzzEncoding(f *testing.F) {
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte{0xff, 0xfe, '{', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got := Encoding(b)
		// Text that starts with printable ASCII is never misnamed.
		if len(b) >= 2 && b[0] >= 0x20 && b[0] < 0x7f && b[1] >= 0x20 && b[1] < 0x7f && got != "" && got != "bzip2" && got != "zip" {
			t.Fatalf("Encoding(%q) = %q", b, got)
		}
	})
}
