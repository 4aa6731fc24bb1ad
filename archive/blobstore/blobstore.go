//go:build !nocloud

package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"cloud.google.com/go/storage"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob:// URLs
	_ "gocloud.dev/blob/fileblob"  // file:// URLs
	_ "gocloud.dev/blob/gcsblob"   // gs:// URLs
	_ "gocloud.dev/blob/s3blob"    // s3:// URLs
	"gocloud.dev/gcerrors"

	"github.com/boltfetch/boltfetch/archive"
)

// Store is an archive.Store in a bucket, under a key prefix.
type Store struct {
	bucket   *blob.Bucket
	prefix   string // "" or ending in "/"
	location string
	scheme   string
	opts     Options
	// beforeWrite adjusts each upload (S3: see tuneS3Upload), or is nil.
	beforeWrite func(as func(any) bool) error
}

// Drivers lists the URL schemes this build can open.
var Drivers = []string{"s3", "gs", "azblob", "file"}

// openURL is OpenOut's way to a bucket.
func openURL(ctx context.Context, rawURL string, opts Options) (ClosableStore, error) {
	s, err := Open(ctx, rawURL, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Open opens the bucket that rawURL names, probes it and sweeps orphaned
// uploads. Errors that mean the URL cannot be used are *ConfigError.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, &ConfigError{Location: "(unparsable URL)", Reason: "cannot parse the URL", Err: errors.New("not a URL")}
	}
	scheme := strings.ToLower(u.Scheme)
	loc := Location(u)
	openURL := *u
	openURL.User = nil
	var prefix string
	switch scheme {
	case "file":
		// fileblob otherwise writes each object in os.TempDir first:
		// outside the directory named, readable by others, and failing
		// to rename across mounts. Any non-empty value turns either on.
		q := openURL.Query()
		for _, p := range []string{"create_dir", "no_tmp_dir"} {
			if q.Get(p) == "" {
				q.Set(p, "true")
			}
		}
		openURL.RawQuery = q.Encode()
	case "s3", "gs", "azblob":
		prefix = strings.Trim(u.Path, "/")
		if prefix != "" {
			if err := archive.CheckKey(prefix); err != nil {
				return nil, &ConfigError{Location: loc, Reason: "unusable prefix", Err: err}
			}
			prefix += "/"
		}
		openURL.Path, openURL.RawPath = "", ""
	default:
		return nil, &ConfigError{Location: loc, Reason: "unknown scheme", Err: fmt.Errorf("%q is not one of s3, gs, azblob, file", u.Scheme)}
	}
	b, err := blob.OpenBucket(ctx, openURL.String())
	if err != nil {
		return nil, &ConfigError{Location: loc, Reason: "cannot open", Err: err}
	}
	s := &Store{bucket: b, prefix: prefix, location: loc, scheme: scheme, opts: opts}
	if scheme == "s3" {
		s.beforeWrite = s.tuneS3Upload
	}
	if err := s.probe(ctx); err != nil {
		b.Close()
		return nil, err
	}
	if opts.SweepAge > 0 {
		s.sweep(ctx, opts.SweepAge)
	}
	return s, nil
}

// probe lists one key under the prefix, so a missing bucket or denied
// credentials are found now, as configuration errors.
func (s *Store) probe(ctx context.Context) error {
	_, _, err := s.bucket.ListPage(ctx, blob.FirstPageToken, 1, &blob.ListOptions{Prefix: s.prefix})
	if err == nil {
		return nil
	}
	reason := "unreachable"
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		reason = "bucket not found"
	case gcerrors.PermissionDenied:
		reason = "access denied"
	}
	return &ConfigError{Location: s.location, Reason: reason, Err: err}
}

// Close releases the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Location implements archive.Store: the bucket URL without credentials or
// query string.
func (s *Store) Location() string { return s.location }

// Bucket returns the underlying bucket (for tests and tools).
func (s *Store) Bucket() *blob.Bucket { return s.bucket }

// Prefix returns the key prefix inside the bucket ("" or ending in "/").
func (s *Store) Prefix() string { return s.prefix }

// Create implements archive.Store.
func (s *Store) Create(ctx context.Context, key string) (archive.Writer, error) {
	return s.CreateWithOptions(ctx, key, archive.CreateOptions{})
}

// CreateWithOptions implements archive.OptionsCreator: the content type,
// encoding and metadata go on the object.
func (s *Store) CreateWithOptions(ctx context.Context, key string, o archive.CreateOptions) (archive.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := archive.CheckKey(key); err != nil {
		return nil, err
	}
	ct := o.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	wctx, cancel := context.WithCancel(ctx)
	bw, err := s.bucket.NewWriter(wctx, s.prefix+key, &blob.WriterOptions{
		BufferSize:                  s.opts.PartSize,
		MaxConcurrency:              s.opts.PartsInFlight,
		ContentType:                 ct,
		DisableContentTypeDetection: true,
		ContentEncoding:             o.ContentEncoding,
		Metadata:                    o.Metadata,
		BeforeWrite:                 s.beforeWrite,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("archive: create %s: %w", key, scrubbed(err))
	}
	return &writer{s: s, key: key, bw: bw, ctx: wctx, cancel: cancel}, nil
}

// Open implements archive.Store.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := archive.CheckKey(key); err != nil {
		return nil, err
	}
	r, err := s.bucket.NewReader(ctx, s.prefix+key, nil)
	if err != nil {
		return nil, s.wrap("open", key, err)
	}
	return r, nil
}

// Stat implements archive.Store: the object's size and version tag, from a
// metadata request (no content is read).
func (s *Store) Stat(ctx context.Context, key string) (archive.Info, error) {
	if err := archive.CheckKey(key); err != nil {
		return archive.Info{}, err
	}
	a, err := s.bucket.Attributes(ctx, s.prefix+key)
	if err != nil {
		return archive.Info{}, s.wrap("stat", key, err)
	}
	return archive.Info{Size: a.Size, Tag: s.tag(a)}, nil
}

// Attributes returns gocloud's attributes of key (content encoding,
// metadata), for tools and tests.
func (s *Store) Attributes(ctx context.Context, key string) (*blob.Attributes, error) {
	if err := archive.CheckKey(key); err != nil {
		return nil, err
	}
	a, err := s.bucket.Attributes(ctx, s.prefix+key)
	if err != nil {
		return nil, s.wrap("stat", key, err)
	}
	return a, nil
}

// tag is the version tag of an object: the GCS generation (an ETag there
// also changes with metadata updates), else the ETag. fileblob has none: its
// ETag is made of the modification time, whose granularity lets two quick
// rewrites of the same size share it, so file:// objects are verified by
// content, like a local folder.
func (s *Store) tag(a *blob.Attributes) string {
	switch s.scheme {
	case "file":
		return ""
	case "gs":
		var oa storage.ObjectAttrs
		if a.As(&oa) && oa.Generation != 0 {
			return strconv.FormatInt(oa.Generation, 10)
		}
	}
	return a.ETag
}

// wrap makes a driver error an archive error; a missing object matches
// fs.ErrNotExist.
func (s *Store) wrap(op, key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("archive: %s %s: %w (%w)", op, key, fs.ErrNotExist, scrubbed(err))
	}
	return fmt.Errorf("archive: %s %s: %w", op, key, scrubbed(err))
}

// writer streams one object. Cancelling its context before Close makes the
// driver abort the upload.
type writer struct {
	s      *Store
	key    string
	bw     *blob.Writer
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	done   bool
}

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.bw.Write(p)
	return n, scrubbed(err)
}

// Commit implements archive.Writer.
func (w *writer) Commit() error {
	_, err := w.commit(false)
	return err
}

// CommitInfo implements archive.TagCommitter: it commits, then asks the
// store for the object's size and tag. (A writer of the same key committing
// in between would lend its tag; a later Verify then finds the size or
// content differs and fetches again.)
func (w *writer) CommitInfo() (archive.Info, error) { return w.commit(true) }

func (w *writer) commit(stat bool) (archive.Info, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return archive.Info{}, errors.New("archive: writer already finished")
	}
	w.done = true
	defer w.cancel()
	if err := w.bw.Close(); err != nil {
		w.s.abortUpload(w.key, err)
		return archive.Info{}, fmt.Errorf("archive: commit %s: %w", w.key, scrubbed(err))
	}
	if !stat || w.s.scheme == "file" {
		return archive.Info{}, nil // no tag to report (see tag)
	}
	info, err := w.s.Stat(w.ctx, w.key)
	if err != nil {
		return archive.Info{}, fmt.Errorf("archive: after commit: %w", err)
	}
	return info, nil
}

// Abort implements archive.Writer: the upload's context is cancelled before
// it is closed, so the driver aborts it and nothing is published.
func (w *writer) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.done = true
	w.cancel()
	// Close reports the cancellation and publishes nothing. The SDK tries to
	// abort a multipart upload with the cancelled context, which fails, so
	// the upload is aborted here, by the id the error carries.
	w.s.abortUpload(w.key, w.bw.Close())
	return nil
}
