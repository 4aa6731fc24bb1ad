package lineage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FileSink appends events to an NDJSON file, one event per line. A run's
// events are spooled to a temporary file beside the target, then appended
// as one block under an exclusive lock, so that concurrent runs (and
// processes) never interleave their lines. Nothing is written anywhere else.
type FileSink struct {
	path string
}

// NewFileSink returns a sink appending to path. Its folder must exist.
func NewFileSink(path string) (*FileSink, error) {
	if path == "" {
		return nil, errors.New("lineage: no file named")
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("lineage: the folder of %s: %w", path, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("lineage: %s is not a folder", dir)
	}
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("lineage: %s is not a regular file", path)
	}
	return &FileSink{path: path}, nil
}

// Path is the target file.
func (s *FileSink) Path() string { return s.path }

// Open starts a block spooled to a temporary file beside the target.
func (s *FileSink) Open(ctx context.Context) (Block, error) {
	tmp, err := os.CreateTemp(filepath.Dir(s.path), "."+filepath.Base(s.path)+".boltfetch-tmp-*")
	if err != nil {
		return nil, fmt.Errorf("lineage: spool for %s: %w", s.path, err)
	}
	return &fileBlock{sink: s, tmp: tmp, w: bufio.NewWriterSize(tmp, 64<<10)}, nil
}

type fileBlock struct {
	sink  *FileSink
	tmp   *os.File
	w     *bufio.Writer
	total int
	done  bool
}

func (b *fileBlock) Add(ctx context.Context, ref EventRef, line []byte) error {
	if b.done {
		return errors.New("lineage: block already closed")
	}
	b.total++
	if _, err := b.w.Write(line); err != nil {
		return fmt.Errorf("lineage: spool for %s: %w", b.sink.path, err)
	}
	if err := b.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("lineage: spool for %s: %w", b.sink.path, err)
	}
	return nil
}

func (b *fileBlock) Close(ctx context.Context) error {
	if b.done {
		return nil
	}
	b.done = true
	defer b.discard()
	fail := func(err error) error {
		return &DeliveryError{Sink: b.sink.path, Count: b.total, Total: b.total, Err: err}
	}
	if err := b.w.Flush(); err != nil {
		return fail(fmt.Errorf("spool: %w", err))
	}
	if _, err := b.tmp.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("spool: %w", err))
	}
	f, err := os.OpenFile(b.sink.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return fail(fmt.Errorf("lock: %w", err))
	}
	defer unlockFile(f)
	// A partly appended block would leave a torn line: on a write error the
	// file is cut back to where the block began.
	start, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fail(err)
	}
	if _, err := io.Copy(f, b.tmp); err != nil {
		_ = f.Truncate(start)
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	return nil
}

func (b *fileBlock) Abort() {
	if !b.done {
		b.done = true
		b.discard()
	}
}

func (b *fileBlock) discard() {
	b.tmp.Close()
	os.Remove(b.tmp.Name())
}
