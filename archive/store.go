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
	// Size is the number of bytes stored under the key (for a compressed
	// object, its compressed size).
	Size int64
	// Tag is the store's version tag of the stored object: an ETag or a
	// generation number, which changes whenever the object is rewritten. It
	// is "" for stores without one (Local), which Verify then reads in full.
	Tag string
}

// TagCommitter is implemented by writers of stores with version tags: Commit
// publishes the content and returns what the store then says of it, so the
// tag can be recorded next to the digest. Use Commit rather than calling it.
type TagCommitter interface {
	CommitInfo() (Info, error)
}

// Commit commits w and returns the Info of the committed object when the
// store reports one (TagCommitter), else a zero Info.
func Commit(w Writer) (Info, error) {
	if tc, ok := w.(TagCommitter); ok {
		return tc.CommitInfo()
	}
	return Info{}, w.Commit()
}

// CreateOptions describe an object being created, for stores that keep such
// descriptions (object storage); other stores ignore them.
type CreateOptions struct {
	// ContentType is the media type; "" lets the store choose.
	ContentType string
	// ContentEncoding is the encoding of the stored bytes, such as "zstd".
	ContentEncoding string
	// Metadata is stored beside the object (keys in lower case).
	Metadata map[string]string
}

// OptionsCreator is implemented by stores that keep CreateOptions.
type OptionsCreator interface {
	CreateWithOptions(ctx context.Context, key string, opts CreateOptions) (Writer, error)
}

// CreateWithOptions starts writing key with opts when s keeps them, and as
// Create does otherwise.
func CreateWithOptions(ctx context.Context, s Store, key string, opts CreateOptions) (Writer, error) {
	if oc, ok := s.(OptionsCreator); ok {
		return oc.CreateWithOptions(ctx, key, opts)
	}
	return s.Create(ctx, key)
}

// Digest is the size and SHA-256 of some content, as archived and reported.
// Bytes and SHA256 always describe the content itself, before any
// compression.
type Digest struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	// Tag is the store's version tag of the stored object right after it was
	// written ("" for stores without tags). Verify trusts a matching tag and
	// stored size without reading the content.
	Tag string `json:"tag,omitempty"`
	// Compression is how the content is stored: "" as is, or CompressionZstd
	// (under the key plus ZstdSuffix).
	Compression string `json:"compression,omitempty"`
	// StoredBytes is the size of the stored object when compressed.
	StoredBytes int64 `json:"stored_bytes,omitempty"`
}

// storedSize is the size the stored object of d has.
func (d Digest) storedSize() int64 {
	if d.Compression != "" {
		return d.StoredBytes
	}
	return d.Bytes
}

// sameContent reports whether two digests describe the same content.
func (d Digest) sameContent(o Digest) bool { return d.Bytes == o.Bytes && d.SHA256 == o.SHA256 }

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
// key is the content's key: with want.Compression set, the stored object is
// key plus its suffix and is decompressed to be hashed.
//
// It checks the stored size first, so a wrong-sized object is not read at
// all. When both want and the store have a version tag (object storage), a
// matching size and tag verify the object without reading it: a rewrite
// behind our back changes the tag. Otherwise the content is hashed.
func Verify(ctx context.Context, s Store, key string, want Digest) (bool, error) {
	if want.SHA256 == "" {
		return false, nil
	}
	stored, err := storedKey(key, want.Compression)
	if err != nil {
		return false, err
	}
	info, err := s.Stat(ctx, stored)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.Size != want.storedSize() {
		return false, nil
	}
	if want.Tag != "" && info.Tag != "" {
		return info.Tag == want.Tag, nil
	}
	var got Digest
	if want.Compression == "" {
		got, err = Hash(ctx, s, key)
	} else {
		got, err = hashDecompressed(ctx, s, stored, want.Compression)
	}
	if err != nil {
		return false, err
	}
	return got.sameContent(want), nil
}

// WriteFile stores data under key in one commit and returns its digest,
// with the store's version tag when it has one.
func WriteFile(ctx context.Context, s Store, key string, data []byte) (Digest, error) {
	w, err := s.Create(ctx, key)
	if err != nil {
		return Digest{}, err
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		return Digest{}, fmt.Errorf("write %s: %w", key, err)
	}
	info, err := Commit(w)
	if err != nil {
		return Digest{}, err
	}
	sum := sha256.Sum256(data)
	return Digest{Bytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Tag: info.Tag}, nil
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
