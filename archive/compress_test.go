package archive_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/boltfetch/boltfetch/archive"
)

func TestOpenFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := archive.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	data := bytes.Repeat([]byte("select 1;\n"), 1000)
	if _, err := archive.WriteContent(ctx, l, "a/run.log", archive.CompressionZstd, data, archive.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.WriteFile(ctx, l, "a/plain.log", data); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, opened string
		compressed   bool
	}{
		{"a/run.log", "a/run.log.zst", true},
		{"a/run.log.zst", "a/run.log.zst", true},
		{"a/plain.log", "a/plain.log", false},
	} {
		r, opened, comp, err := archive.OpenFile(filepath.Join(dir, tt.path))
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) || comp != tt.compressed || opened != filepath.Join(dir, tt.opened) {
			t.Errorf("%s: opened %s (compressed %v), %d bytes, %v", tt.path, opened, comp, len(got), err)
		}
	}
	if _, _, _, err := archive.OpenFile(filepath.Join(dir, "a/missing.log")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json.zst"), []byte("not zstd at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _, _, err := archive.OpenFile(filepath.Join(dir, "bad.json.zst"))
	if err == nil {
		_, err = io.ReadAll(r)
		r.Close()
	}
	if err == nil {
		t.Error("a file that is not zstd decompressed without error")
	}
	if _, err := archive.CreateContent(ctx, l, "x", "gzip", archive.CreateOptions{}); err == nil {
		t.Error("an unknown compression was accepted")
	}
}

// FuzzZstdReader feeds arbitrary bytes to the decompressor that analyze
// uses on .zst files: errors, never a panic or unbounded memory.
func FuzzZstdReader(f *testing.F) {
	var buf bytes.Buffer
	ctx := context.Background()
	dir := f.TempDir()
	l, _ := archive.NewLocal(dir)
	archive.WriteContent(ctx, l, "s", archive.CompressionZstd, []byte(`{"nodes": {}}`), archive.CreateOptions{})
	seed, _ := os.ReadFile(filepath.Join(dir, "s.zst"))
	l.Close()
	f.Add(seed)
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := archive.NewZstdReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		defer r.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<20))
	})
}
