package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/fetcher"
)

// MaxReportSize caps the report.json that Archived reads.
const MaxReportSize = 256 << 20

// Archived reports whether the run in folder is already archived complete:
// its report.json (read with fetcher.DecodeReport) says complete, and every
// file it lists (logs and artifacts) verifies against its recorded size and
// SHA-256 (archive.Verify). A missing, unreadable or newer report is
// (false, why, nil): the run is followed up again, and the archive's
// idempotence fetches only what is missing. An error means the store could
// not be read. why says what is missing, for logs.
func Archived(ctx context.Context, store archive.Store, folder string) (ok bool, why string, err error) {
	f, err := store.Open(ctx, folder+"/report.json")
	if errors.Is(err, fs.ErrNotExist) {
		return false, "no report.json", nil
	}
	if err != nil {
		return false, "", err
	}
	defer f.Close()
	rep, err := fetcher.DecodeReport(io.LimitReader(f, MaxReportSize))
	if err != nil {
		return false, "report.json does not decode: " + err.Error(), nil
	}
	switch {
	case !rep.Summary.Complete:
		return false, "report.json says incomplete", nil
	case rep.Archive.Folder != folder:
		return false, fmt.Sprintf("report.json is about folder %q", rep.Archive.Folder), nil
	}
	check := func(key string, bytes int64, sum string) (bool, string, error) {
		good, err := archive.Verify(ctx, store, key, archive.Digest{Bytes: bytes, SHA256: sum})
		if err != nil {
			return false, "", fmt.Errorf("verify %s: %w", key, err)
		}
		if !good {
			return false, key + " is missing or does not match its digest", nil
		}
		return true, "", nil
	}
	for _, c := range rep.Commands {
		if c.Logs != nil {
			for _, lf := range []*fetcher.LogFile{c.Logs.Stdout, c.Logs.Stderr} {
				if lf == nil {
					continue
				}
				if good, why, err := check(lf.Path, lf.Bytes, lf.SHA256); !good {
					return false, why, err
				}
			}
		}
		for _, a := range c.Artifacts {
			if a.Error != nil || a.Location == "" {
				return false, "an artifact was not archived", nil
			}
			if good, why, err := check(a.Location, a.Bytes, a.SHA256); !good {
				return false, why, err
			}
		}
	}
	return true, "", nil
}
