package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Store is an archive: a flat space of keys holding immutable content. Every
// method checks its key with CheckKey. Implementations are safe for
// concurrent use.
type Store interface {
	// Create starts writing key. Nothing is visible under key until the
	// returned Writer is committed; a later Create of the same key replaces it
	// on commit.
	Create(ctx context.Context, key string) (Writer, error)
	// Open reads key. A missing key gives an error matching fs.ErrNotExist.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes key. A missing key gives an error matching
	// fs.ErrNotExist.
	Stat(ctx context.Context, key string) (Info, error)
	// Location describes where the store keeps its content, for reports: a
	// folder path or a bucket URL.
	Location() string
}

// WritableChecker is implemented by stores that can tell, before anything is
// fetched, that Create would refuse a key (see Local.CheckWritable).
type WritableChecker interface {
	CheckWritable(key string) error
}

// Writer receives the content of one key.
type Writer interface {
	io.Writer
	// Commit publishes what was written under the key, atomically.
	Commit() error
	// Abort discards what was written; nothing appears under the key. Abort
	// after Commit does nothing, so `defer w.Abort()` is the usual pattern.
	Abort() error
}

// Info describes one stored key.
type Info struct {
	Size int64
}

// Digest is the size and SHA-256 of some content, as archived and reported.
type Digest struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Hash reads key and returns its digest, streaming.
func Hash(ctx context.Context, s Store, key string) (Digest, error) {
	r, err := s.Open(ctx, key)
	if err != nil {
		return Digest{}, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, r})
	if err != nil {
		return Digest{}, fmt.Errorf("hash %s: %w", key, err)
	}
	return Digest{Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Verify reports whether key holds exactly the content described by want.
// It checks the size first, so a wrong-sized file is not read at all.
func Verify(ctx context.Context, s Store, key string, want Digest) (bool, error) {
	if want.SHA256 == "" {
		return false, nil
	}
	info, err := s.Stat(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.Size != want.Bytes {
		return false, nil
	}
	got, err := Hash(ctx, s, key)
	if err != nil {
		return false, err
	}
	return got == want, nil
}

// WriteFile stores data under key in one commit and returns its digest.
func WriteFile(ctx context.Context, s Store, key string, data []byte) (Digest, error) {
	w, err := s.Create(ctx, key)
	if err != nil {
		return Digest{}, err
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		return Digest{}, fmt.Errorf("write %s: %w", key, err)
	}
	if err := w.Commit(); err != nil {
		return Digest{}, err
	}
	sum := sha256.Sum256(data)
	return Digest{Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// ReadFile reads a whole key, refusing more than limit bytes. It is meant for
// small records such as command.json, never for artifacts.
func ReadFile(ctx context.Context, s Store, key string, limit int64) ([]byte, error) {
	r, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", key, limit)
	}
	return data, nil
}

// ctxReader stops a long read when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
