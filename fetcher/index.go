package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/boltfetch/boltfetch/archive"
)

// maxRecordSize caps the command.json read back: it lists a command's files,
// a few KB.
const maxRecordSize = 4 << 20

// commandRecord is command.json: the index of what a command's folder holds,
// present and verified, so that a re-run can tell what is already complete.
// It merges: every follow-up of the command adds what it archived and keeps
// what others archived, whatever each one selected.
type commandRecord struct {
	ID         ID               `json:"id"`
	Command    string           `json:"command"`
	Status     string           `json:"status"`
	ReturnCode *int             `json:"return_code"`
	Start      string           `json:"start,omitempty"`
	End        string           `json:"end,omitempty"`
	Logs       *Logs            `json:"logs"`
	Artifacts  []ArtifactReport `json:"artifacts"`
	FetchedAt  string           `json:"fetched_at"`
}

// commandIndex is a command's command.json while its run's folder is locked:
// loaded once, then rewritten each time a file of the command is committed,
// so that a crash loses at most the files in flight.
type commandIndex struct {
	store archive.Store
	key   string
	log   *slog.Logger

	mu  sync.Mutex
	rec commandRecord
}

// loadIndex reads the command's command.json, keeping only entries whose
// file is still there with its recorded size (a full check of the content is
// made before an entry is reused). A missing or undecodable record starts
// empty: its files are fetched again. A record the store cannot read is an
// error: starting empty would write the index back without its files.
func loadIndex(ctx context.Context, store archive.Store, dir string, log *slog.Logger) (*commandIndex, error) {
	// Not cancelled halfway: an index read short would be written back
	// short, forgetting files that are there.
	ctx = context.WithoutCancel(ctx)
	ix := &commandIndex{store: store, key: dir + "/" + commandName, log: log}
	data, err := archive.ReadFile(ctx, store, ix.key, maxRecordSize)
	if errors.Is(err, fs.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the command's index: %w", err)
	}
	var rec commandRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		log.Warn("previous command.json undecodable: its files are fetched again", "key", ix.key, "error", err)
		return ix, nil
	}
	present := func(key string, size int64) bool {
		info, err := store.Stat(ctx, key)
		return err == nil && info.Size == size
	}
	if l := rec.Logs; l != nil && l.Stdout != nil && l.Stderr != nil &&
		present(l.Stdout.Path, l.Stdout.Bytes) && present(l.Stderr.Path, l.Stderr.Bytes) {
		ix.rec.Logs = l
	}
	prefix := dir + "/"
	for _, a := range rec.Artifacts {
		if a.Error == nil && a.SHA256 != "" && a.Path != "" && a.Location == prefix+a.Path && present(a.Location, a.Bytes) {
			a.Reused, a.Attempts = false, 0
			ix.rec.Artifacts = append(ix.rec.Artifacts, a)
		}
	}
	return ix, nil
}

// artifact returns the entry for path p, or nil.
func (ix *commandIndex) artifact(p string) *ArtifactReport {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i := range ix.rec.Artifacts {
		if ix.rec.Artifacts[i].Path == p {
			a := ix.rec.Artifacts[i]
			return &a
		}
	}
	return nil
}

// logs returns the recorded logs, or nil.
func (ix *commandIndex) logs() *Logs {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.rec.Logs
}

// artifacts returns a copy of the recorded artifacts.
func (ix *commandIndex) artifacts() []ArtifactReport {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return append([]ArtifactReport(nil), ix.rec.Artifacts...)
}

// putArtifact records a committed artifact (replacing any entry for its
// path) and rewrites command.json.
func (ix *commandIndex) putArtifact(ctx context.Context, a ArtifactReport) error {
	a.Reused, a.Attempts, a.Error = false, 0, nil
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.dropLocked(a.Path)
	ix.rec.Artifacts = append(ix.rec.Artifacts, a)
	return ix.writeLocked(ctx)
}

// drop forgets the entry for path p, whose file did not verify; the file
// is rewritten with the next commit of the command.
func (ix *commandIndex) drop(p string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.dropLocked(p)
}

func (ix *commandIndex) dropLocked(p string) {
	kept := ix.rec.Artifacts[:0]
	for _, e := range ix.rec.Artifacts {
		if e.Path != p {
			kept = append(kept, e)
		}
	}
	ix.rec.Artifacts = kept
}

// putLogs records committed logs and rewrites command.json.
func (ix *commandIndex) putLogs(ctx context.Context, l *Logs) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.rec.Logs = l
	return ix.writeLocked(ctx)
}

// dropLogs forgets logs that did not verify.
func (ix *commandIndex) dropLogs() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.rec.Logs = nil
}

// describe sets the command's description, written with the next update.
func (ix *commandIndex) describe(rep *CommandReport) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.rec.ID, ix.rec.Command, ix.rec.Status, ix.rec.ReturnCode = rep.ID, rep.Command, rep.Status, rep.ReturnCode
	ix.rec.Start, ix.rec.End = rep.Start, rep.End
}

// write rewrites command.json.
func (ix *commandIndex) write(ctx context.Context) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.writeLocked(ctx)
}

func (ix *commandIndex) writeLocked(ctx context.Context) error {
	ix.rec.FetchedAt = time.Now().UTC().Format(time.RFC3339)
	if ix.rec.Artifacts == nil {
		ix.rec.Artifacts = []ArtifactReport{}
	}
	data, err := json.Marshal(ix.rec, jsonOptions)
	if err != nil {
		return err
	}
	_, err = archive.WriteFile(ctx, ix.store, ix.key, append(data, '\n'))
	return err
}
