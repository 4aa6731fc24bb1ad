package fakebolt

import (
	"fmt"
	"time"
)

// Pull mode: what a client that lists runs (listBoltRuns), asks each run's
// state and commands (boltRunStatus) and each command's resources
// (boltCommand) needs from the fake, with runs in every state.

// RunStates lists every state boltRunStatus and listBoltRuns report, with
// the webhook status each one is made from (Run.Status).
var RunStates = map[string]string{
	"STARTING": "starting",
	"RUNNING":  "running",
	"SUCCESS":  "succeeded",
	"ERROR":    "error",
	"FAILED":   "failed",
	"CANCELED": "canceled",
	"SKIPPED":  "skipped",
}

// AddRuns stores many runs, like AddRun for each. Resource
// Data slices are shared, not copied, so thousands of runs can serve the
// same few bytes cheaply.
func (s *Server) AddRuns(runs []Run) {
	for _, r := range runs {
		s.AddRun(r)
	}
}

// SetRunStatus changes a stored run's webhook status (and so its state:
// "succeeded" gives SUCCESS, "running" RUNNING, ...) and its end time, as
// when a RUNNING run finishes. A zero end keeps the run's end time.
func (s *Server) SetRunStatus(runID int64, status string, end time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[runID]
	if !ok {
		return fmt.Errorf("fakebolt: set run status: run %d not added", runID)
	}
	r.Status = status
	if !end.IsZero() {
		r.End = end
	}
	return nil
}

// TinyRunsOptions describes a batch of cheap runs for pull-mode tests.
type TinyRunsOptions struct {
	// FirstID is the id of the oldest run; run i has id FirstID+i, and ids
	// of commands and resources are derived from it (default 1000).
	FirstID int64
	// N is the number of runs.
	N int
	// Schedule and Workspace name every run (defaults "tiny", "tiny-ws").
	Schedule  string
	Workspace Workspace
	// Newest is the start time of the newest run; run i starts Every
	// before run i+1 (defaults: 2024-01-31 00:00 UTC, one hour).
	Newest time.Time
	Every  time.Duration
	// Manifest and RunResults are served for every run's one command
	// (shared, not copied).
	Manifest, RunResults []byte
	// Status is every run's webhook status (default "succeeded").
	Status string
}

// TinyRuns returns opts.N runs of one command each, with a manifest and a
// run_results that every run shares. Command ids are 10×run id and resource
// ids 100×run id (+1, +2), so ids stay unique while they fit in 32 bits.
func TinyRuns(opts TinyRunsOptions) []Run {
	if opts.FirstID <= 0 {
		opts.FirstID = 1000
	}
	if opts.Schedule == "" {
		opts.Schedule = "tiny"
	}
	if opts.Workspace.Name == "" {
		opts.Workspace = Workspace{Name: "tiny-ws", UID: "tinyws0000000001"}
	}
	if opts.Newest.IsZero() {
		opts.Newest = time.Date(2024, time.January, 31, 0, 0, 0, 0, time.UTC)
	}
	if opts.Every <= 0 {
		opts.Every = time.Hour
	}
	if opts.Status == "" {
		opts.Status = "succeeded"
	}
	runs := make([]Run, opts.N)
	for i := range runs {
		id := opts.FirstID + int64(i)
		start := opts.Newest.Add(-time.Duration(opts.N-1-i) * opts.Every)
		rc := 0
		if opts.Status != "succeeded" {
			rc = 1
		}
		runs[i] = Run{
			ID:           id,
			UUID:         fmt.Sprintf("00000000-0000-4000-8000-%012d", id),
			Status:       opts.Status,
			ScheduleName: opts.Schedule,
			Workspace:    opts.Workspace,
			Start:        start,
			End:          start.Add(30 * time.Second),
			Commands: []Command{{
				ID: id * 10, Command: "dbt build", Status: opts.Status, ReturnCode: rc,
				Start: start.Add(time.Second), End: start.Add(29 * time.Second),
				Stdout: fmt.Sprintf("run %d: Done.\n", id),
				Resources: []Resource{
					{ID: id*100 + 1, Path: "target/manifest.json", Data: opts.Manifest},
					{ID: id*100 + 2, Path: "target/run_results.json", Data: opts.RunResults},
				},
			}},
		}
	}
	return runs
}
