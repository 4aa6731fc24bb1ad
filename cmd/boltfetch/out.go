package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/archive/blobstore"
	"github.com/boltfetch/boltfetch/fetcher"
)

// archiveFlags are the flags that say how the archive is written, shared by
// fetch (a payload or --run-id), demo, serve and backfill.
type archiveFlags struct {
	Compress   string
	RawPayload bool
}

func (a *archiveFlags) register(f *pflag.FlagSet) {
	f.StringVar(&a.Compress, "compress", "none", "store artifacts and logs compressed: none or zstd (as <name>.zst)")
	f.BoolVar(&a.RawPayload, "archive-raw-payload", false, "archive payload.json verbatim, api_url token included (default: the token is replaced by a marker)")
}

// apply checks the flags and sets them on fopts.
func (a *archiveFlags) apply(fopts *fetcher.Options) error {
	switch a.Compress {
	case "none", "":
		fopts.Compression = ""
	case archive.CompressionZstd:
		fopts.Compression = archive.CompressionZstd
	default:
		return fmt.Errorf("--compress %q: want none or zstd", a.Compress)
	}
	fopts.RawPayload = a.RawPayload
	return nil
}

// openOut opens the archive that --out names: a folder, or an s3://, gs://,
// azblob:// or file:// URL. A store that cannot be used is bad
// configuration (exit 2), found before any request to Paradime.
func openOut(ctx context.Context, out string, logger *slog.Logger) (blobstore.ClosableStore, error) {
	return openArchiveStore(ctx, out, logger, true)
}

// openOutToRead opens the archive that --out names, as openOut does, for a
// command that only reads it (lineage): a local folder need not be
// writable, and a bucket's orphaned uploads are left to the next writer's
// sweep.
func openOutToRead(ctx context.Context, out string, logger *slog.Logger) (blobstore.ClosableStore, error) {
	return openArchiveStore(ctx, out, logger, false)
}

func openArchiveStore(ctx context.Context, out string, logger *slog.Logger, write bool) (blobstore.ClosableStore, error) {
	if !blobstore.IsURL(out) {
		store, err := archive.NewLocal(out)
		if err != nil {
			return nil, withCode(exitBadInput, fmt.Errorf("--out %s: %w", out, err))
		}
		if !write {
			return store, nil
		}
		// Found now, not after every API call: an archive that cannot take
		// a file would lose the whole follow-up.
		if err := checkWritable(out); err != nil {
			store.Close()
			return nil, withCode(exitBadInput, fmt.Errorf("--out %s: the archive folder is not writable: %w", out, err))
		}
		return store, nil
	}
	bopts := blobstore.Options{Logger: logger}
	if !write {
		bopts.SweepAge = -1
	}
	store, err := blobstore.OpenOut(ctx, out, bopts)
	if err != nil {
		var ce *blobstore.ConfigError
		if errors.As(err, &ce) {
			return nil, withCode(exitBadInput, fmt.Errorf("--out: %w (check the URL and the storage credentials)", err))
		}
		return nil, withCode(exitBadInput, fmt.Errorf("--out: %w", err))
	}
	return store, nil
}
