package inbox

import (
	"context"
	"errors"
	"time"
)

// State is the state of one run in the inbox, as the webhook's /runs
// endpoints and `boltfetch inbox list` show it.
type State string

// The states a run goes through. A run is queued when its delivery is
// accepted, processing while a worker follows it up, and ends done (everything
// selected is archived) or failed (its errors were permanent, or it ran out of
// attempts). River's own job states map onto these four.
const (
	StateQueued     State = "queued"
	StateProcessing State = "processing"
	StateDone       State = "done"
	StateFailed     State = "failed"
)

// EnqueueResult is the outcome of one delivery, known only after the
// transaction that holds it has committed durably.
type EnqueueResult struct {
	RunID     int64
	State     State // the run's current state (for a duplicate: the existing job's)
	Duplicate bool
}

// RunStatus is what GET /runs/{id} and `boltfetch inbox list` show.
type RunStatus struct {
	RunID      int64      `json:"run_id"`
	State      State      `json:"state"`
	Attempts   int        `json:"attempts"`
	LastError  string     `json:"last_error"`
	Report     string     `json:"report"` // path or URL of report.json, "" until known
	ReceivedAt time.Time  `json:"received_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// ErrNotFound is returned by Status (and Retry) for a run the inbox does not
// know.
var ErrNotFound = errors.New("inbox: run not found")

// ErrUnavailable is returned (wrapped) when the database cannot be reached;
// the webhook answers 503.
var ErrUnavailable = errors.New("inbox: unavailable")

// FollowUp follows up one run: cmd wires it to the one follow-up path that
// `fetch` uses (fetcher.Fetch on the stored payload). inbox never imports
// fetcher.
type FollowUp func(ctx context.Context, runID int64, payload []byte) (Outcome, error)

// Outcome is what a finished follow-up tells the queue.
type Outcome struct {
	Complete  bool     // everything selected is archived
	Retryable bool     // incomplete, and at least one item error is transient: retry with backoff
	Report    string   // path or URL of report.json
	Errors    []string // one line per item error (stage/kind/message), shown as last_error
}

// PermanentError marks a FollowUp error that must never be retried. Use
// Permanent to make one and IsPermanent (or errors.As) to recognise one.
type PermanentError struct {
	Err error
}

// Error returns the wrapped error's message.
func (e *PermanentError) Error() string {
	if e.Err == nil {
		return "permanent failure"
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks a FollowUp error that must never be retried (unusable input:
// bad payload, api_url host not allowed). Other FollowUp errors are retried;
// a context canceled by shutdown is retried on the next start. Permanent(nil)
// is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err (or an error it wraps) was marked by
// Permanent.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// ErrRunning is returned by Retry for a run that is being followed up now.
var ErrRunning = errors.New("inbox: run is being followed up now")

// ErrLocked is returned by Start when another process owns the SQLite data
// dir.
var ErrLocked = errors.New("inbox: the data dir is in use by another process")
