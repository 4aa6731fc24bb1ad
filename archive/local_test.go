package archive

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func newLocal(t testing.TB) (*Local, string) {
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

// TestLocalRefusesLinksPlantedWhileWriting plants a symbolic link, while a
// file is being written, at each place on its way (a folder, the file's own
// name): the commit must refuse it and nothing may land outside the archive.
// Deep keys take the fast path of local_linux.go, whose every refusal must
// match the os.Root walk's.
func TestLocalRefusesLinksPlantedWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, plant := range []string{"a", "a/b", "a/b/c", "a/b/c/d.json"} {
		t.Run(plant, func(t *testing.T) {
			t.Parallel()
			l, dir := newLocal(t)
			outside := t.TempDir()
			if _, err := WriteFile(ctx, l, "a/b/c/first.json", []byte("first")); err != nil {
				t.Fatal(err)
			}
			w, err := l.Create(ctx, "a/b/c/d.json")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("content")); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(dir, filepath.FromSlash(plant))
			if plant != "a/b/c/d.json" {
				// The real folder moves outside; a link to it takes its place.
				moved := filepath.Join(outside, "moved")
				if err := os.Rename(target, moved); err != nil {
					t.Fatal(err)
				}
				target, plant = moved, plant+" (moved)"
				if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(plant, " (moved)")))); err != nil {
					t.Skipf("cannot create symlinks here: %v", err)
				}
			} else if err := os.Symlink(filepath.Join(outside, "x"), target); err != nil {
				t.Skipf("cannot create symlinks here: %v", err)
			}
			err = w.Commit()
			if err == nil {
				t.Fatalf("Commit with a link planted at %s succeeded", plant)
			}
			for _, f := range files(t, outside) {
				if strings.HasSuffix(f, "d.json") {
					t.Fatalf("the file was published outside the archive: %s", f)
				}
			}
			// Create refuses the key too, now that the link is there.
			if _, err := l.Create(ctx, "a/b/c/d.json"); err == nil {
				t.Fatalf("Create through the link planted at %s succeeded", plant)
			}
		})
	}
}

// BenchmarkLocalCreateCommit writes a small file seven names deep, as a
// follow-up writes each artifact and each command.json: the check, the
// create and the commit, each of which walks the key.
//
//	go test ./archive -run '^$' -bench LocalCreateCommit
func BenchmarkLocalCreateCommit(b *testing.B) {
	ctx := context.Background()
	l, _ := newLocal(b)
	const key = "ws/bench/7/commands/1000/target/manifest.json"
	data := []byte("{}\n")
	for b.Loop() {
		if err := l.CheckWritable(key); err != nil {
			b.Fatal(err)
		}
		if _, err := WriteFile(ctx, l, key, data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLocalAfterClose checks that a closed Local refuses to write rather
// than use a descriptor that may now name another file.
func TestLocalAfterClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFile(ctx, l, "a/first.json", []byte("1")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := l.Create(ctx, "a/second.json"); err == nil {
		t.Fatal("Create after Close succeeded")
	}
	if got := files(t, dir); len(got) != 1 {
		t.Fatalf("folder holds %v, want only a/first.json", got)
	}
}
