package blobstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/boltfetch/boltfetch/archive"
)

// Defaults of Options.
const (
	// DefaultPartSize is the size of one uploaded part, held in memory
	// once per part in flight.
	DefaultPartSize = 5 << 20
	// DefaultPartsInFlight is how many parts of one object upload at once.
	DefaultPartsInFlight = 2
	// DefaultSweepAge is the age past which an incomplete multipart upload
	// under the prefix is taken as orphaned and aborted at open.
	DefaultSweepAge = time.Hour
)

// Options tune a Store. The zero value takes the defaults.
type Options struct {
	// PartSize is the upload part size in bytes (default DefaultPartSize;
	// S3 needs at least 5 MiB).
	PartSize int
	// PartsInFlight is the number of parts of one object uploaded at once
	// (default DefaultPartsInFlight). Memory per upload is about
	// PartSize × (PartsInFlight+1).
	PartsInFlight int
	// SweepAge: incomplete multipart uploads under the prefix older than
	// this are aborted at open (default DefaultSweepAge; negative: no
	// sweep).
	SweepAge time.Duration
	// Logger receives the sweep's notes (default: discard).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartsInFlight <= 0 {
		o.PartsInFlight = DefaultPartsInFlight
	}
	if o.SweepAge == 0 {
		o.SweepAge = DefaultSweepAge
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ConfigError says the archive URL cannot be used: it does not parse, its
// scheme is unknown, the bucket does not exist, or the credentials are
// missing or denied. It is found at open, before any other work.
type ConfigError struct {
	// Location is the URL without credentials or query string.
	Location string
	// Reason is a short description: "bucket not found", "access denied",
	// "cannot open", "unreachable".
	Reason string
	Err    error
}

func (e *ConfigError) Error() string {
	return scrub(fmt.Sprintf("archive %s: %s: %v", e.Location, e.Reason, e.Err))
}

func (e *ConfigError) Unwrap() error { return e.Err }

// IsURL reports whether out names object storage (a URL with a scheme)
// rather than a local folder.
func IsURL(out string) bool {
	i := strings.Index(out, "://")
	if i <= 0 {
		return false
	}
	for _, c := range out[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ClosableStore is a Store that holds resources until closed.
type ClosableStore interface {
	archive.Store
	io.Closer
}

// OpenOut opens where an archive goes: a URL (IsURL) opens object storage
// with Open; anything else is a local folder (archive.NewLocal).
func OpenOut(ctx context.Context, out string, opts Options) (ClosableStore, error) {
	if IsURL(out) {
		return openURL(ctx, out, opts)
	}
	return archive.NewLocal(out)
}

// Location returns u without credentials, query string or fragment.
func Location(u *url.URL) string {
	c := url.URL{Scheme: strings.ToLower(u.Scheme), Host: u.Host, Path: u.Path}
	if c.Scheme != "file" {
		c.Path = strings.TrimRight(c.Path, "/")
	}
	return c.String()
}
