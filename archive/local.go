package archive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// tempPrefix starts the name of every file being written. Such files are
// never published under a key, and a Create never targets one.
const tempPrefix = ".boltfetch-tmp-"

// Local is a Store in a folder on the local disk. All access goes through an
// os.Root, so no key can reach outside the folder; on top of that, Create
// refuses a key whose existing folders include a symbolic link.
type Local struct {
	dir  string
	root *os.Root
	// rootDir is the folder open for the fast path of local_linux.go
	// (rootConn its descriptor), nil where there is none.
	rootDir  *os.File
	rootConn syscall.RawConn
}

// NewLocal opens (creating it if needed) the folder dir as a Store. Close it
// when done.
func NewLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("archive folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("archive folder: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("archive folder: %w", err)
	}
	l := &Local{dir: abs, root: root}
	l.rootDir, l.rootConn = openRootDir(root)
	return l, nil
}

// Close releases the folder.
func (l *Local) Close() error {
	if l.rootDir != nil {
		l.rootDir.Close()
	}
	return l.root.Close()
}

// Location returns the absolute folder path.
func (l *Local) Location() string { return l.dir }

// Path returns the local file path of key, for users who want to open it.
func (l *Local) Path(key string) string { return filepath.Join(l.dir, filepath.FromSlash(key)) }

// CheckWritable reports, without writing anything, whether Create would
// refuse key: not a clean key, a reserved name, or a symbolic link on the
// way. Callers use it to refuse a path before asking for its content.
func (l *Local) CheckWritable(key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if strings.HasPrefix(path.Base(key), tempPrefix) {
		return &PathError{Path: key, Reason: "reserved temp-file name"}
	}
	if isLockName(key) {
		return &PathError{Path: key, Reason: "reserved lock-file name"}
	}
	return l.checkNoSymlinks(key)
}

// Create implements Store: it writes a temp file beside the final name and
// renames it into place on Commit.
func (l *Local) Create(ctx context.Context, key string) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.CheckWritable(key); err != nil {
		return nil, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(key), tempPrefix+hex.EncodeToString(rnd[:]))
	f, handled, err := l.fastCreate(key, tmp)
	if !handled {
		if dir := path.Dir(key); dir != "." {
			if err := l.root.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("archive: create folder for %s: %w", key, err)
			}
		}
		f, err = l.root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("archive: create %s: %w", key, err)
	}
	return &localWriter{l: l, f: f, tmp: tmp, key: key}, nil
}

// checkNoSymlinks refuses key when the key itself or any existing folder on
// its way is a symbolic link, so no link planted in the archive can redirect
// a write, even inside the folder.
func (l *Local) checkNoSymlinks(key string) error {
	if l.fastNoSymlinks(key) {
		return nil
	}
	parts := strings.Split(key, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := l.root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("archive: %s: %w", key, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return &PathError{Path: key, Reason: "goes through a symbolic link in the archive (" + p + ")"}
		}
		if i < len(parts)-1 && !fi.IsDir() {
			return &PathError{Path: key, Reason: p + " is a file, not a folder"}
		}
	}
	return nil
}

// Open implements Store.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	if err := l.checkNoSymlinks(key); err != nil {
		return nil, err
	}
	f, err := l.root.Open(key)
	if err != nil {
		return nil, fmt.Errorf("archive: open: %w", err)
	}
	return f, nil
}

// Stat implements Store. Only regular files exist as keys.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	fi, err := l.root.Lstat(key)
	if err != nil {
		return Info{}, fmt.Errorf("archive: stat: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("archive: %s is not a regular file: %w", key, fs.ErrNotExist)
	}
	return Info{Size: fi.Size()}, nil
}

type localWriter struct {
	l        *Local
	f        *os.File
	tmp, key string
	mu       sync.Mutex
	done     bool
}

func (w *localWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *localWriter) Commit() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return errors.New("archive: writer already finished")
	}
	w.done = true
	// No fsync: after a crash a file may be short or empty under its final
	// name, but callers record each file's size and SHA-256 and verify them
	// before trusting an archived file (see Verify), so such a file is
	// fetched again. An fsync per artifact would cost more than it buys.
	err := w.f.Close()
	published := false
	if err == nil {
		// Re-check right before publishing: a link planted while we wrote
		// must not receive the file. The fast path does both at once.
		published, err = w.l.fastPublish(w.tmp, w.key)
	}
	if err == nil && !published {
		err = w.l.checkNoSymlinks(w.key)
		if err == nil {
			err = w.l.root.Rename(w.tmp, w.key)
		}
	}
	if err != nil {
		_ = w.l.root.Remove(w.tmp)
		return fmt.Errorf("archive: commit %s: %w", w.key, err)
	}
	return nil
}

func (w *localWriter) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.done = true
	_ = w.f.Close()
	if err := w.l.root.Remove(w.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("archive: discard temp file for %s: %w", w.key, err)
	}
	return nil
}
