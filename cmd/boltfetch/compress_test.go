package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/internal/sharedtest"
)

// TestZstdCorpus compresses every real artifact in shared/dbt-artifacts into
// a local archive as --compress zstd would, reads each back byte-exact, and
// checks that analyze on each compressed manifest/run_results pair prints
// the same JSON (and exit code) as on the plain pair. It logs the
// compression ratio of the corpus (quoted in the README).
func TestZstdCorpus(t *testing.T) {
	ctx := context.Background()
	src := sharedtest.Dir(t, "dbt-artifacts")
	out := t.TempDir()
	store, err := archive.NewLocal(out)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var files []string
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no artifacts under %s: %v", src, err)
	}
	var plain, packed int64
	for _, p := range files {
		rel, _ := filepath.Rel(src, p)
		key := filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		w, err := archive.CreateContent(ctx, store, key, archive.CompressionZstd, archive.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(w, f) // streamed, as a download is
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		d, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if d.Bytes != int64(len(data)) || d.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: digest %+v, want %d bytes %x", key, d, len(data), sum)
		}
		if ok, err := archive.Verify(ctx, store, key, d); !ok || err != nil {
			t.Fatalf("%s: Verify = %v, %v", key, ok, err)
		}
		r, comp, err := archive.OpenContent(ctx, store, key)
		if err != nil || comp != archive.CompressionZstd {
			t.Fatalf("%s: OpenContent = %q, %v", key, comp, err)
		}
		back, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("%s: round trip gave %d bytes, %v; want %d bytes back", key, len(back), err, len(data))
		}
		plain += d.Bytes
		packed += d.StoredBytes
	}
	t.Logf("zstd on %d real artifacts: %d → %d bytes, ratio %.1f×", len(files), plain, packed, float64(plain)/float64(packed))

	pairs := 0
	for _, p := range files {
		base := filepath.Base(p)
		if !strings.Contains(base, "run_results") {
			continue
		}
		m := filepath.Join(filepath.Dir(p), strings.Replace(base, "run_results", "manifest", 1))
		if _, err := os.Stat(m); err != nil {
			continue
		}
		relM, _ := filepath.Rel(src, m)
		relR, _ := filepath.Rel(src, p)
		codePlain, outPlain, _ := runCLI(t, "analyze", "--format", "json", "--manifest", m, "--run-results", p)
		// One named with .zst, one found as the sibling of its plain name.
		codeZ, outZ, errZ := runCLI(t, "analyze", "--format", "json",
			"--manifest", filepath.Join(out, relM)+archive.ZstdSuffix, "--run-results", filepath.Join(out, relR))
		if codePlain != codeZ || outPlain != outZ {
			t.Errorf("%s: analyze on the compressed pair differs (exit %d vs %d; stderr %q)", relR, codePlain, codeZ, errZ)
		}
		if codePlain == exitOK {
			pairs++
		}
	}
	if pairs == 0 {
		t.Fatal("no pair analysed")
	}
	t.Logf("analyze gave the same JSON on %d compressed pairs", pairs)
}
