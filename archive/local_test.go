package archive

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func newLocal(t *testing.T) (*Local, string) {
	t.Helper()
	dir := t.TempDir()
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}

// files lists every file under dir, relative, slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestLocalCommitAbort(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, dir := newLocal(t)

	w, err := l.Create(ctx, "a/b/c.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("half")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Stat(ctx, "a/b/c.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat before commit: %v, want not exist", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("after Abort the folder holds %v, want nothing", got)
	}

	d, err := WriteFile(ctx, l, "a/b/c.json", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Bytes != 5 || d.SHA256 != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("digest = %+v", d)
	}
	ok, err := Verify(ctx, l, "a/b/c.json", d)
	if err != nil || !ok {
		t.Fatalf("Verify = %v, %v; want true", ok, err)
	}
	if ok, _ := Verify(ctx, l, "a/b/c.json", Digest{Bytes: 5, SHA256: "00"}); ok {
		t.Fatal("Verify with a wrong sha256 = true")
	}
	if ok, _ := Verify(ctx, l, "a/b/missing", d); ok {
		t.Fatal("Verify of a missing key = true")
	}
	r, err := l.Open(ctx, "a/b/c.json")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(r)
	r.Close()
	if string(data) != "hello" {
		t.Fatalf("content = %q", data)
	}
	// Replacing a key on commit, and Abort after Commit is a no-op.
	w, _ = l.Create(ctx, "a/b/c.json")
	w.Write([]byte("bye"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got, want := files(t, dir), []string{"a/b/c.json"}; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("files = %v, want %v", got, want)
	}
}

func TestLocalCancelledContext(t *testing.T) {
	t.Parallel()
	l, dir := newLocal(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Create(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Create with a cancelled context = %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("folder holds %v", got)
	}
}

func TestLocalRefusesSymlinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, dir := newLocal(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "escape")); err != nil {
		t.Skipf("cannot create symlinks here: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("inside", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"escape/x.json", "link/x.json", "file/x.json"} {
		_, err := l.Create(ctx, key)
		var pe *PathError
		if !errors.As(err, &pe) {
			t.Errorf("Create(%q) = %v, want a *PathError", key, err)
		}
	}
	if _, err := l.Open(ctx, "escape/x.json"); err == nil {
		t.Error("Open through a symlink succeeded")
	}
	if got := files(t, outside); len(got) != 0 {
		t.Fatalf("files written outside the archive: %v", got)
	}
	for _, key := range []string{"../x", "/abs", "a//b", ".boltfetch-tmp-x"} {
		if _, err := l.Create(ctx, key); err == nil {
			t.Errorf("Create(%q) succeeded", key)
		}
	}
}
