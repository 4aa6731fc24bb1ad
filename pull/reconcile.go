package pull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
)

// Defaults for ReconcileOptions.
const (
	DefaultReconcileGrace    = 10 * time.Minute
	DefaultReconcileLookback = 24 * time.Hour
)

// Queue is what Reconcile needs of the job queue that webhook deliveries go
// to: whether a run is known, and the same enqueue (unique by run id) as a
// delivery, so that a run arriving both ways is followed up once.
type Queue interface {
	// Known reports whether the queue already holds a job for the run, in
	// any state.
	Known(ctx context.Context, runID int64) (bool, error)
	// Enqueue adds the run's follow-up, unless a job with its run id
	// exists (duplicate).
	Enqueue(ctx context.Context, runID int64, payload []byte) (duplicate bool, err error)
}

// ReconcileOptions configures Reconcile. API, Queue and Schedules are
// required.
type ReconcileOptions struct {
	API   BackfillAPI
	Queue Queue
	// Schedules are the schedules to list (listBoltRuns slugs).
	Schedules []string
	// Workspace, WorkspaceUID and APIURL go into each pulled payload (see
	// RunInfo): runs found here are archived under the schedule listed and
	// the workspace configured.
	Workspace, WorkspaceUID, APIURL string
	// Grace leaves a run that finished less than this long ago to its
	// webhook, which carries the real workspace and schedule names
	// (default 10m).
	Grace time.Duration
	// Lookback is how far back runs are listed (default 24h).
	Lookback time.Duration
	// PageSize is listBoltRuns's limit (default and maximum 1000).
	PageSize int
	// Limiter, when set, is the request limit the follow-ups share: the
	// listing and the payload's API calls take a slot of it.
	Limiter fetcher.Limiter
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnMissed, when set, is called for each run enqueued (one its webhook
	// missed).
	OnMissed func(Run)
	// Logger receives one line per run enqueued (default: discard).
	Logger *slog.Logger
}

// ReconcileResult counts one pass.
type ReconcileResult struct {
	// Listed counts the runs of the lookback window.
	Listed int
	// NotFinished and TooRecent count runs left alone: still running, or
	// finished within the grace period.
	NotFinished, TooRecent int
	// Known counts runs the queue already held (their webhook arrived).
	Known int
	// Missed counts runs enqueued here: the webhook missed them.
	Missed int
	// Failed counts runs whose payload could not be built or enqueued; the
	// next pass tries them again.
	Failed int
}

// Reconcile makes one pass: it lists the recent runs of each schedule, and
// enqueues every finished run, past the grace period, that the queue does
// not know, with a payload pulled from the API (see Payload). It returns an
// error when the options are unusable or a listing fails; single runs that
// fail are counted and tried again on the next pass.
func Reconcile(ctx context.Context, opts ReconcileOptions) (ReconcileResult, error) {
	var res ReconcileResult
	if opts.API == nil || opts.Queue == nil || len(opts.Schedules) == 0 {
		return res, &optionsError{"reconcile: an API, a queue and at least one schedule are required"}
	}
	if opts.Grace < 0 || opts.Lookback < 0 {
		return res, &optionsError{"reconcile: negative grace or lookback"}
	}
	if opts.Grace == 0 {
		opts.Grace = DefaultReconcileGrace
	}
	if opts.Lookback == 0 {
		opts.Lookback = DefaultReconcileLookback
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.API = withLimit(opts.API, opts.Limiter)
	now := opts.Now()
	lo := Options{
		API: opts.API, Schedules: opts.Schedules, Workspace: opts.Workspace, WorkspaceUID: opts.WorkspaceUID,
		Since: now.Add(-opts.Lookback), PageSize: opts.PageSize, Logger: opts.Logger,
	}
	if lo.PageSize == 0 {
		lo.PageSize = DefaultPageSize
	}
	runs, err := list(ctx, lo)
	if err != nil {
		return res, err
	}
	res.Listed = len(runs)
	for _, r := range runs {
		if !client.Finished(r.State) {
			res.NotFinished++
			continue
		}
		ended := r.End
		if ended.IsZero() {
			ended = r.Start
		}
		if !ended.IsZero() && now.Sub(ended) < opts.Grace {
			res.TooRecent++
			continue
		}
		known, err := opts.Queue.Known(ctx, r.ID)
		if err != nil {
			return res, fmt.Errorf("reconcile: is run %d known: %w", r.ID, err)
		}
		if known {
			res.Known++
			continue
		}
		info := RunInfo{APIURL: opts.APIURL, Schedule: r.Schedule, Workspace: opts.Workspace, WorkspaceUID: opts.WorkspaceUID, Start: r.Start, End: r.End}
		raw, err := Payload(ctx, opts.API, r.ID, info)
		if errors.Is(err, ErrNotFinished) {
			res.NotFinished++
			continue
		}
		if err != nil {
			res.Failed++
			opts.Logger.Warn("reconcile: cannot build the run's payload", "run", r.ID, "error", err)
			continue
		}
		dup, err := opts.Queue.Enqueue(ctx, r.ID, raw)
		switch {
		case err != nil:
			res.Failed++
			opts.Logger.Warn("reconcile: cannot enqueue the run", "run", r.ID, "error", err)
		case dup:
			res.Known++ // its webhook arrived meanwhile
		default:
			res.Missed++
			if opts.OnMissed != nil {
				opts.OnMissed(r)
			}
			opts.Logger.Info("reconcile: enqueued a run its webhook missed", "run", r.ID, "schedule", r.Schedule)
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	return res, nil
}
