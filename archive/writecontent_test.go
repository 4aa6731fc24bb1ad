package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestWriteContentDigest checks that WriteContent reports the content's own
// size and SHA-256, compressed or not (compressed, the digest is computed
// once, for the metadata, and reused).
func TestWriteContentDigest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := bytes.Repeat([]byte("12:00:00  1 of 100 OK created sql table model analytics.orders\n"), 1000)
	sum := sha256.Sum256(data)
	for _, comp := range []string{"", CompressionZstd} {
		l, _ := newLocal(t)
		d, err := WriteContent(ctx, l, "c/stdout.log", comp, data, CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Bytes != int64(len(data)) || d.SHA256 != hex.EncodeToString(sum[:]) || d.Compression != comp {
			t.Errorf("compression %q: digest %+v, want %d bytes, sha256 %x", comp, d, len(data), sum)
		}
	}
}

// BenchmarkWriteContentZstd stores 1 MB of log compressed, as a follow-up
// with --compression zstd stores each command's stdout.
func BenchmarkWriteContentZstd(b *testing.B) {
	ctx := context.Background()
	l, _ := newLocal(b)
	data := bytes.Repeat([]byte("12:00:00  1 of 100 OK created sql table model analytics.orders\n"), 16000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := WriteContent(ctx, l, "c/stdout.log", CompressionZstd, data, CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
