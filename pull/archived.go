package pull

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/boltfetch/boltfetch/archive"
)

// MaxReportSize caps the report.json that Archived reads.
const MaxReportSize = 256 << 20

// archivedReport is the part of report.json that says what the archive
// holds for a run: its folder, completeness and every file with its digest.
type archivedReport struct {
	NothingToFetch bool `json:"nothing_to_fetch"`
	Archive        struct {
		Folder string `json:"folder"`
	} `json:"archive"`
	Commands []struct {
		Logs *struct {
			Stdout *archivedFile `json:"stdout"`
			Stderr *archivedFile `json:"stderr"`
		} `json:"logs"`
		Artifacts []struct {
			Location string  `json:"location"`
			Bytes    int64   `json:"bytes"`
			SHA256   string  `json:"sha256"`
			Error    *string `json:"error"`
		} `json:"artifacts"`
	} `json:"commands"`
	Summary struct {
		Complete bool `json:"complete"`
	} `json:"summary"`
}

type archivedFile struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Archived reports whether the run in folder is already archived complete:
// its report.json says complete, and every file it lists (logs and
// artifacts) verifies against its recorded size and SHA-256 (archive.Verify).
// A missing report is (false, nil); an unreadable store is an error. why
// says what is missing, for logs.
func Archived(ctx context.Context, store archive.Store, folder string) (ok bool, why string, err error) {
	data, err := archive.ReadFile(ctx, store, folder+"/report.json", MaxReportSize)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "no report.json", nil
	}
	if err != nil {
		return false, "", err
	}
	var rep archivedReport
	if err := json.Unmarshal(data, &rep); err != nil {
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
			for _, f := range []*archivedFile{c.Logs.Stdout, c.Logs.Stderr} {
				if f == nil {
					continue
				}
				if good, why, err := check(f.Path, f.Bytes, f.SHA256); !good {
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
