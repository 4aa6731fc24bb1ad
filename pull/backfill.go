package pull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/boltfetch/boltfetch/archive"
	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
)

// Defaults for Options.
const (
	DefaultRunsConcurrency = 2
	DefaultPageSize        = client.MaxListRunsLimit
)

// Lister lists a schedule's runs, newest first. *client.Client provides it.
type Lister interface {
	ListRuns(ctx context.Context, slug string, offset, limit int) ([]client.Run, error)
}

// BackfillAPI is what Backfill asks Paradime.
type BackfillAPI interface {
	API
	Lister
}

// FollowUp follows up one run from its payload bytes and says whether the
// archive now holds it complete. The CLI wires it to fetcher.Fetch, the
// function `fetch` uses. An error means the payload was unusable.
type FollowUp func(ctx context.Context, runID int64, payload []byte) (complete bool, err error)

// Options configures Backfill. API, Store and FollowUp are required.
type Options struct {
	API      BackfillAPI
	Store    archive.Store
	FollowUp FollowUp
	// Schedules are the schedule names (listBoltRuns slugs) to walk; none
	// walks every schedule's runs together (their folder's schedule is then
	// fetcher's placeholder, unknown-schedule).
	Schedules []string
	// Workspace, WorkspaceUID and APIURL go into each pulled payload (see
	// RunInfo).
	Workspace, WorkspaceUID, APIURL string
	// Since is required: runs that started before it end the walk (the
	// list is newest first). Until, when set, skips runs that started at
	// or after it.
	Since, Until time.Time
	// MaxRuns stops the walk after this many runs in the window (0: no
	// limit).
	MaxRuns int
	// RunsConcurrency is how many runs are followed up at once (default 2).
	RunsConcurrency int
	// PageSize is listBoltRuns's limit (default and maximum 1000).
	PageSize int
	// DryRun lists what would be followed up and follows up nothing.
	DryRun bool
	// OnListed is called once the walk is done, with the number of runs to
	// follow up (or that would be, in a dry run).
	OnListed func(toFollowUp int)
	// OnRun is called as each run of the window is settled (safe to call
	// from several goroutines at once: Backfill serialises the calls).
	OnRun func(RunResult)
	// Limiter, when set, is the request limit the follow-ups share
	// (fetcher.Options.Limiter): the API calls that build each payload take
	// a slot of it too.
	Limiter fetcher.Limiter
	// Logger receives one line per page and per run (default: discard).
	Logger *slog.Logger
}

// limitedAPI takes a slot of a shared limit for each API call.
type limitedAPI struct {
	api BackfillAPI
	l   fetcher.Limiter
}

func withLimit(api BackfillAPI, l fetcher.Limiter) BackfillAPI {
	if l == nil {
		return api
	}
	return limitedAPI{api: api, l: l}
}

func (a limitedAPI) RunSummary(ctx context.Context, runID int64) (*client.RunStatus, error) {
	if err := a.l.Acquire(ctx); err != nil {
		return nil, err
	}
	defer a.l.Release()
	return a.api.RunSummary(ctx, runID)
}

func (a limitedAPI) CommandResources(ctx context.Context, commandID int64) ([]client.Resource, error) {
	if err := a.l.Acquire(ctx); err != nil {
		return nil, err
	}
	defer a.l.Release()
	return a.api.CommandResources(ctx, commandID)
}

func (a limitedAPI) ListRuns(ctx context.Context, slug string, offset, limit int) ([]client.Run, error) {
	if err := a.l.Acquire(ctx); err != nil {
		return nil, err
	}
	defer a.l.Release()
	return a.api.ListRuns(ctx, slug, offset, limit)
}

// ErrBadOptions is matched (errors.Is) by Backfill's refusals of its
// options: a missing API, store or follow-up, no Since, Until not after
// Since, a page size outside 1..1000.
var ErrBadOptions = errors.New("unusable backfill options")

type optionsError struct{ msg string }

func (e *optionsError) Error() string        { return "backfill: " + e.msg }
func (e *optionsError) Is(target error) bool { return target == ErrBadOptions }

// Run is one run of the window, as listed.
type Run struct {
	ID       int64
	Schedule string // the schedule it was listed under ("" when all were)
	State    string
	Start    time.Time
	End      time.Time
	// Folder is its archive folder, as fetcher.RunFolder names it.
	Folder string
}

// Outcome says how Backfill settled a run.
type Outcome string

// The outcomes.
const (
	OutcomeArchived    Outcome = "already_archived" // the archive holds it complete: nothing asked
	OutcomeFollowedUp  Outcome = "followed_up"      // followed up, complete
	OutcomeFailed      Outcome = "failed"           // followed up with errors, or its payload could not be built
	OutcomeNotFinished Outcome = "not_finished"     // STARTING or RUNNING: left for a later backfill
	OutcomeWouldFetch  Outcome = "would_fetch"      // dry run
)

// RunResult is one settled run.
type RunResult struct {
	Run     Run
	Outcome Outcome
	Err     error // for OutcomeFailed: why (nil when the report lists the errors)
}

// Summary counts what Backfill did. Found counts every run of the window;
// each is counted once more under its outcome.
type Summary struct {
	Found           int
	AlreadyArchived int
	FollowedUp      int
	Failed          int
	NotFinished     int
	// WouldFetch lists, in a dry run, the runs that would be followed up.
	WouldFetch []Run
	// Failures lists the failed runs.
	Failures []RunResult
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.API == nil || o.Store == nil || (o.FollowUp == nil && !o.DryRun):
		return o, &optionsError{"an API, a store and a follow-up function are required"}
	case o.Since.IsZero():
		return o, &optionsError{"no start of the window"}
	case !o.Until.IsZero() && !o.Until.After(o.Since):
		return o, &optionsError{"the end of the window is not after its start"}
	case o.PageSize < 0 || o.PageSize > client.MaxListRunsLimit:
		return o, &optionsError{fmt.Sprintf("page size %d is outside 1..%d", o.PageSize, client.MaxListRunsLimit)}
	case o.MaxRuns < 0 || o.RunsConcurrency < 0:
		return o, &optionsError{"negative run count"}
	}
	if o.PageSize == 0 {
		o.PageSize = DefaultPageSize
	}
	if o.RunsConcurrency == 0 {
		o.RunsConcurrency = DefaultRunsConcurrency
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.API = withLimit(o.API, o.Limiter)
	return o, nil
}

// Backfill walks the runs of the window, newest first, page by page, and
// follows up each finished run the archive does not already hold complete
// (see Archived), RunsConcurrency at a time, through opts.FollowUp. It
// returns an error only when the options are unusable (ErrBadOptions), a
// listing or the archive fails, or ctx ends; single runs that fail are
// counted in the summary.
func Backfill(ctx context.Context, opts Options) (Summary, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	var sum Summary
	var mu sync.Mutex
	settle := func(r RunResult) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Outcome {
		case OutcomeArchived:
			sum.AlreadyArchived++
		case OutcomeFollowedUp:
			sum.FollowedUp++
		case OutcomeFailed:
			sum.Failed++
			sum.Failures = append(sum.Failures, r)
		case OutcomeNotFinished:
			sum.NotFinished++
		case OutcomeWouldFetch:
			sum.WouldFetch = append(sum.WouldFetch, r.Run)
		}
		if opts.OnRun != nil {
			opts.OnRun(r)
		}
	}

	runs, err := list(ctx, opts)
	if err != nil {
		return sum, err
	}
	sum.Found = len(runs)
	var todo []Run
	for _, r := range runs {
		if !client.Finished(r.State) {
			settle(RunResult{Run: r, Outcome: OutcomeNotFinished})
			continue
		}
		ok, why, err := Archived(ctx, opts.Store, r.Folder)
		if err != nil {
			return sum, fmt.Errorf("run %d: read the archive: %w", r.ID, err)
		}
		if ok {
			settle(RunResult{Run: r, Outcome: OutcomeArchived})
			continue
		}
		opts.Logger.Debug("to follow up", "run", r.ID, "why", why)
		todo = append(todo, r)
	}
	if opts.OnListed != nil {
		opts.OnListed(len(todo))
	}
	opts.Logger.Info("backfill listed", "found", sum.Found, "to_follow_up", len(todo), "already_archived", sum.AlreadyArchived, "not_finished", sum.NotFinished)
	if opts.DryRun {
		for _, r := range todo {
			settle(RunResult{Run: r, Outcome: OutcomeWouldFetch})
		}
		return sum, nil
	}

	jobs := make(chan Run)
	var wg sync.WaitGroup
	for range min(opts.RunsConcurrency, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				settle(followUp(ctx, opts, r))
			}
		}()
	}
feed:
	for _, r := range todo {
		select {
		case jobs <- r:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return sum, ctx.Err()
}

// followUp builds one run's payload and follows it up.
func followUp(ctx context.Context, opts Options, r Run) RunResult {
	info := RunInfo{
		APIURL: opts.APIURL, Schedule: r.Schedule, Workspace: opts.Workspace, WorkspaceUID: opts.WorkspaceUID,
		Start: r.Start, End: r.End,
	}
	raw, err := Payload(ctx, opts.API, r.ID, info)
	if errors.Is(err, ErrNotFinished) {
		return RunResult{Run: r, Outcome: OutcomeNotFinished}
	}
	if err != nil {
		opts.Logger.Warn("cannot build the run's payload", "run", r.ID, "error", err)
		return RunResult{Run: r, Outcome: OutcomeFailed, Err: err}
	}
	complete, err := opts.FollowUp(ctx, r.ID, raw)
	switch {
	case err != nil:
		opts.Logger.Warn("follow-up refused", "run", r.ID, "error", err)
		return RunResult{Run: r, Outcome: OutcomeFailed, Err: err}
	case !complete:
		return RunResult{Run: r, Outcome: OutcomeFailed}
	}
	return RunResult{Run: r, Outcome: OutcomeFollowedUp}
}

// list walks every schedule's pages and returns the runs of the window,
// newest first within each schedule, each once.
func list(ctx context.Context, opts Options) ([]Run, error) {
	slugs := opts.Schedules
	if len(slugs) == 0 {
		slugs = []string{""}
	}
	seen := map[int64]bool{}
	var out []Run
	for _, slug := range slugs {
		pages := 0
	walk:
		for offset := 0; ; offset += opts.PageSize {
			page, err := opts.API.ListRuns(ctx, slug, offset, opts.PageSize)
			if err != nil {
				return nil, fmt.Errorf("list the runs of %s (offset %d): %w", scheduleWord(slug), offset, err)
			}
			pages++
			older := false
			for _, lr := range page {
				start, ok := ParseTime(lr.StartDttm)
				if !ok {
					start, ok = ParseTime(lr.EndDttm)
				}
				if ok && start.Before(opts.Since) {
					older = true // the rest of this page may still be in the window
					continue
				}
				if ok && !opts.Until.IsZero() && !start.Before(opts.Until) {
					continue
				}
				if seen[lr.ID] {
					continue
				}
				seen[lr.ID] = true
				end, _ := ParseTime(lr.EndDttm)
				r := Run{ID: lr.ID, Schedule: slug, State: lr.State, Start: start, End: end}
				r.Folder = fetcher.RunFolder(&fetcher.Payload{
					RunID: strconv.FormatInt(lr.ID, 10), ScheduleName: slug,
					Workspace: fetcher.Workspace{Name: opts.Workspace, UID: opts.WorkspaceUID},
				})
				out = append(out, r)
				if opts.MaxRuns > 0 && len(out) >= opts.MaxRuns {
					break walk
				}
			}
			if older || len(page) < opts.PageSize {
				break
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		opts.Logger.Debug("listed", "schedule", slug, "pages", pages)
	}
	return out, nil
}

func scheduleWord(slug string) string {
	if slug == "" {
		return "every schedule"
	}
	return "schedule " + strconv.Quote(slug)
}
