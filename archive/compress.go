package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// CompressionZstd is the one compression boltfetch knows: Zstandard, stored
// under the content's key plus ZstdSuffix, with Content-Encoding "zstd".
const CompressionZstd = "zstd"

// ZstdSuffix ends the key of zstd-compressed content.
const ZstdSuffix = ".zst"

// Metadata keys set on compressed objects whose content is known before the
// upload starts (WriteContent): the content's size and SHA-256. Streamed
// content has them only in the index (command.json), because a store takes
// metadata before the first byte and the digest is known after the last.
const (
	MetaContentBytes  = "boltfetch-content-bytes"
	MetaContentSHA256 = "boltfetch-content-sha256"
)

// maxZstdWindow bounds the memory a decoder may need for one frame, so a
// hostile archive cannot make a reader allocate without limit. boltfetch's
// own encoder uses far smaller windows.
const maxZstdWindow = 64 << 20

// UnsupportedCompressionError is returned for a compression name other than
// "" and CompressionZstd.
type UnsupportedCompressionError struct{ Name string }

func (e *UnsupportedCompressionError) Error() string {
	return "archive: unsupported compression " + strconv.Quote(e.Name) + " (want zstd)"
}

// StoredKey returns the key under which content for key is stored with
// compression.
func StoredKey(key, compression string) (string, error) { return storedKey(key, compression) }

func storedKey(key, compression string) (string, error) {
	switch compression {
	case "":
		return key, nil
	case CompressionZstd:
		return key + ZstdSuffix, nil
	}
	return "", &UnsupportedCompressionError{Name: compression}
}

// ContentWriter writes content for one key, compressing it when asked, while
// counting and hashing the content itself. Commit returns its Digest.
type ContentWriter struct {
	w           Writer
	stored      countWriter
	enc         *zstd.Encoder
	h           hash.Hash // nil when sum is known beforehand
	sum         string    // the content's SHA-256 (hex) when known beforehand
	n           int64
	compression string
	mu          sync.Mutex
	done        bool
}

// CreateContent starts writing the content of key into s: as is when
// compression is "", else compressed under key+ZstdSuffix with
// Content-Encoding zstd. opts are passed to the store (CreateWithOptions);
// the encoding is set here.
func CreateContent(ctx context.Context, s Store, key, compression string, opts CreateOptions) (*ContentWriter, error) {
	stored, err := storedKey(key, compression)
	if err != nil {
		return nil, err
	}
	if compression != "" {
		opts.ContentEncoding = compression
	}
	w, err := CreateWithOptions(ctx, s, stored, opts)
	if err != nil {
		return nil, err
	}
	cw := &ContentWriter{w: w, h: sha256.New(), compression: compression}
	cw.stored.w = w
	if compression == CompressionZstd {
		// One goroutine, default level: a bounded window and a few MiB of
		// state, whatever the content's size.
		cw.enc, err = zstd.NewWriter(&cw.stored, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			_ = w.Abort()
			return nil, fmt.Errorf("archive: zstd encoder: %w", err)
		}
	}
	return cw, nil
}

// Write adds content.
func (c *ContentWriter) Write(p []byte) (int, error) {
	var (
		n   int
		err error
	)
	if c.enc != nil {
		n, err = c.enc.Write(p)
	} else {
		n, err = c.stored.Write(p)
	}
	if c.h != nil {
		c.h.Write(p[:n])
	}
	c.n += int64(n)
	return n, err
}

// Commit finishes the compression, commits the stored object and returns the
// content's digest, with the store's tag and the stored size.
func (c *ContentWriter) Commit() (Digest, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return Digest{}, errors.New("archive: writer already finished")
	}
	c.done = true
	if c.enc != nil {
		if err := c.enc.Close(); err != nil {
			_ = c.w.Abort()
			return Digest{}, fmt.Errorf("archive: compress: %w", err)
		}
	}
	info, err := Commit(c.w)
	if err != nil {
		_ = c.w.Abort()
		return Digest{}, err
	}
	sum := c.sum
	if c.h != nil {
		sum = hex.EncodeToString(c.h.Sum(nil))
	}
	d := Digest{Bytes: c.n, SHA256: sum, Tag: info.Tag, Compression: c.compression}
	if c.compression != "" {
		d.StoredBytes = c.stored.n
	}
	return d, nil
}

// Abort discards what was written; after Commit it does nothing.
func (c *ContentWriter) Abort() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	c.done = true
	if c.enc != nil {
		c.enc.Reset(io.Discard)
	}
	return c.w.Abort()
}

// WriteContent stores data as the content of key, compressed when asked,
// and returns its digest. Since the digest is known before the upload, a
// compressed object also carries it in its metadata.
func WriteContent(ctx context.Context, s Store, key, compression string, data []byte, opts CreateOptions) (Digest, error) {
	var sum string
	if compression != "" {
		h := sha256.Sum256(data)
		sum = hex.EncodeToString(h[:])
		md := make(map[string]string, len(opts.Metadata)+2)
		for k, v := range opts.Metadata {
			md[k] = v
		}
		md[MetaContentBytes] = strconv.Itoa(len(data))
		md[MetaContentSHA256] = sum
		opts.Metadata = md
	}
	w, err := CreateContent(ctx, s, key, compression, opts)
	if err != nil {
		return Digest{}, err
	}
	defer w.Abort()
	if sum != "" {
		// Already hashed for the metadata: not hashed a second time.
		w.h, w.sum = nil, sum
	}
	if _, err := w.Write(data); err != nil {
		return Digest{}, fmt.Errorf("write %s: %w", key, err)
	}
	return w.Commit()
}

// OpenContent reads the content of key: key itself when it exists, else its
// zstd-compressed sibling (key+ZstdSuffix), decompressed as it is read. It
// returns the compression found. A missing content gives an error matching
// fs.ErrNotExist.
func OpenContent(ctx context.Context, s Store, key string) (io.ReadCloser, string, error) {
	r, err := s.Open(ctx, key)
	if err == nil {
		return r, "", nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	zr, zerr := s.Open(ctx, key+ZstdSuffix)
	if zerr != nil {
		if errors.Is(zerr, fs.ErrNotExist) {
			return nil, "", err
		}
		return nil, "", zerr
	}
	d, derr := NewZstdReader(zr)
	if derr != nil {
		zr.Close()
		return nil, "", derr
	}
	return d, CompressionZstd, nil
}

// OpenFile opens a local file for reading its content: a path ending in
// ZstdSuffix is decompressed, and a missing path whose .zst sibling exists
// reads the sibling, decompressed. It returns the file actually opened and
// whether it is compressed. Nothing is read ahead.
func OpenFile(path string) (rc io.ReadCloser, opened string, compressed bool, err error) {
	open := func(p string) (io.ReadCloser, string, bool, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, p, false, err
		}
		d, err := NewZstdReader(f)
		if err != nil {
			f.Close()
			return nil, p, false, err
		}
		return d, p, true, nil
	}
	if strings.HasSuffix(path, ZstdSuffix) {
		return open(path)
	}
	f, err := os.Open(path)
	if err == nil {
		return f, path, false, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(path + ZstdSuffix); serr == nil {
			return open(path + ZstdSuffix)
		}
	}
	return nil, path, false, err
}

// NewZstdReader decompresses r as it is read, with one goroutine and a
// bounded window. Closing it closes r when r is an io.Closer.
func NewZstdReader(r io.Reader) (io.ReadCloser, error) {
	d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(maxZstdWindow))
	if err != nil {
		return nil, fmt.Errorf("archive: zstd decoder: %w", err)
	}
	return &zstdReadCloser{d: d, src: r}, nil
}

type zstdReadCloser struct {
	d   *zstd.Decoder
	src io.Reader
}

func (z *zstdReadCloser) Read(p []byte) (int, error) {
	n, err := z.d.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("zstd: %w", err)
	}
	return n, err
}

func (z *zstdReadCloser) Close() error {
	z.d.Close()
	if c, ok := z.src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// hashDecompressed hashes the decompressed content of the stored key.
func hashDecompressed(ctx context.Context, s Store, stored, compression string) (Digest, error) {
	if compression != CompressionZstd {
		return Digest{}, &UnsupportedCompressionError{Name: compression}
	}
	r, err := s.Open(ctx, stored)
	if err != nil {
		return Digest{}, err
	}
	d, err := NewZstdReader(r)
	if err != nil {
		r.Close()
		return Digest{}, err
	}
	defer d.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, d})
	if err != nil {
		return Digest{}, fmt.Errorf("hash %s: %w", stored, err)
	}
	return Digest{Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// countWriter counts what it passes on.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
