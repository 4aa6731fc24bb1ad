package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// jobKind is the River job kind of a follow-up.
const jobKind = "boltfetch_follow_up"

// followUpArgs are a follow-up job's arguments, which River's UI displays: the
// run id only. The payload (whose api_url carries a token) lives in a table of
// its own.
type followUpArgs struct {
	RunID int64 `json:"run_id" river:"unique"`
}

// Kind names the job kind.
func (followUpArgs) Kind() string { return jobKind }

// allStates makes a run unique across every state: a re-delivery of any known
// run is a duplicate, even after it failed (operators re-run one with Retry).
var allStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateCancelled, rivertype.JobStateCompleted,
	rivertype.JobStateDiscarded, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// InsertOpts makes the job unique by its run id (the only field tagged
// unique) in every state.
func (followUpArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: allStates}}
}

// stateOf maps River's job states onto the inbox's four.
func stateOf(s rivertype.JobState) State {
	switch s {
	case rivertype.JobStateRunning:
		return StateProcessing
	case rivertype.JobStateCompleted:
		return StateDone
	case rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		return StateFailed
	default: // available, pending, scheduled, retryable
		return StateQueued
	}
}

// riverStates is the inverse of stateOf.
func riverStates(s State) []rivertype.JobState {
	switch s {
	case StateQueued:
		return []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateScheduled, rivertype.JobStateRetryable}
	case StateProcessing:
		return []rivertype.JobState{rivertype.JobStateRunning}
	case StateDone:
		return []rivertype.JobState{rivertype.JobStateCompleted}
	case StateFailed:
		return []rivertype.JobState{rivertype.JobStateCancelled, rivertype.JobStateDiscarded}
	}
	return nil
}

// jobOutput is what a follow-up records on its job row.
type jobOutput struct {
	Report string `json:"report"`
}

// statusOf reads a run's status off its job row.
func statusOf(runID int64, job *rivertype.JobRow) RunStatus {
	st := RunStatus{
		RunID:      runID,
		State:      stateOf(job.State),
		Attempts:   job.Attempt,
		ReceivedAt: job.CreatedAt,
		FinishedAt: job.FinalizedAt,
	}
	if n := len(job.Errors); n > 0 {
		// River records a cancelling error with its wrapper's prefix.
		st.LastError = strings.TrimPrefix(job.Errors[n-1].Error, "JobCancelError: ")
	}
	if out := job.Output(); len(out) > 0 {
		var o jobOutput
		if json.Unmarshal(out, &o) == nil {
			st.Report = o.Report
		}
	}
	return st
}

// incompleteError is a follow-up that ended with item errors.
type incompleteError struct {
	errs []string
}

// maxErrorLines and maxErrorBytes bound what one attempt records as its
// error (River keeps every attempt's): the report in the archive lists them
// all.
const (
	maxErrorLines = 20
	maxErrorBytes = 4 << 10
)

func (e *incompleteError) Error() string {
	if len(e.errs) == 0 {
		return "follow-up incomplete"
	}
	lines := e.errs
	more := ""
	if len(lines) > maxErrorLines {
		lines, more = lines[:maxErrorLines], fmt.Sprintf("; and %d more (see the report)", len(e.errs)-maxErrorLines)
	}
	s := "follow-up incomplete: " + strings.Join(lines, "; ")
	if len(s) > maxErrorBytes {
		s = strings.ToValidUTF8(s[:maxErrorBytes], "") + "…"
	}
	return s + more
}

// worker runs the injected FollowUp for each job and turns its outcome into
// the job's next state.
type worker struct {
	river.WorkerDefaults[followUpArgs]
	followUp   FollowUp
	payload    func(ctx context.Context, runID int64) ([]byte, error)
	cancelling *atomic.Bool // set when Stop cancels running follow-ups
}

// Work follows up one run.
//   - complete: the job completes (done);
//   - incomplete and retryable, or another error: an error, so that River
//     retries it with backoff until its attempts run out (failed);
//   - incomplete and not retryable, or a Permanent error: cancelled at once
//     (failed), with its errors;
//   - cancelled by Stop: snoozed, so it runs again at the next start without
//     spending an attempt.
func (w *worker) Work(ctx context.Context, job *river.Job[followUpArgs]) error {
	raw, err := w.payload(ctx, job.Args.RunID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return river.JobCancel(err)
		}
		return err
	}
	out, err := w.followUp(ctx, job.Args.RunID, raw)
	if out.Report != "" {
		if rerr := river.RecordOutput(ctx, jobOutput{Report: out.Report}); rerr != nil {
			return rerr
		}
	}
	if ctx.Err() != nil && w.cancelling.Load() && !IsPermanent(err) {
		return river.JobSnooze(0)
	}
	switch {
	case err != nil && IsPermanent(err):
		return river.JobCancel(err)
	case err != nil:
		return err
	case out.Complete:
		return nil
	case out.Retryable:
		return &incompleteError{errs: out.Errors}
	default:
		return river.JobCancel(&incompleteError{errs: out.Errors})
	}
}
