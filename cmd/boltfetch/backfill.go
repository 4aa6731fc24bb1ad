package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/boltfetch/boltfetch/client"
	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/pull"
)

// backfillOptions is what `boltfetch backfill` was asked: fetch's flags and
// the window.
type backfillOptions struct {
	fetch fetchOptions
	now   func() time.Time

	Schedules       []string
	Workspace       string
	Since           string
	Until           string
	MaxRuns         int
	RunsConcurrency int
	DryRun          bool
}

func newBackfillCmd(io *iostreams, runF func(*backfillOptions) error) *cobra.Command {
	opts := &backfillOptions{fetch: fetchOptions{io: io, getenv: io.getenv}, now: time.Now}
	cmd := &cobra.Command{
		Use:   "backfill [flags]",
		Short: "Follow up a schedule's recent runs from the API, skipping those already archived",
		Long: `Backfill lists the runs of each --schedule (listBoltRuns, newest first, 1000 per
page) back to --since, and follows up every finished run that the archive does
not already hold complete: its report.json says complete and every file it
lists verifies against its recorded size and SHA-256. Each run is followed up
from the API alone, as 'boltfetch fetch --run-id' does, and through the same
code as a webhook payload. Runs still STARTING or RUNNING are left for a later
backfill.

At most --runs-concurrency runs are followed up at once, and all of them share
one limit of --concurrency requests in flight. A summary goes to stdout; on a
terminal, progress (runs done / total) goes to stderr.

Exit codes: 0 every run of the window is archived complete (or the window is
empty); 1 some run's follow-up failed, or the API could not be listed, or the
backfill was interrupted; 2 unusable input or configuration; 3 (only with
--fail-on-dbt-failure) every run is archived complete and dbt itself failed
in a run followed up. 1 and 2 take precedence over 3.`,
		Example: `  boltfetch backfill --schedule daily_run --workspace acme
  boltfetch backfill --schedule daily_run --schedule hourly --since 30d --runs-concurrency 4
  boltfetch backfill --schedule daily_run --since 2024-05-01 --until 2024-06-01 --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runBackfill(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	addFollowUpFlags(f, &opts.fetch)
	f.StringVar(&opts.fetch.Format, "format", "text", "summary format on stdout: text or json (markdown prints text)")
	f.BoolVar(&opts.fetch.FailOnDBTFailure, "fail-on-dbt-failure", false, "exit 3 when every run is archived complete but dbt itself failed in a run followed up; for CI")
	f.StringArrayVar(&opts.Schedules, "schedule", nil, "schedule name to backfill (repeatable; none: every schedule, archived under unknown-schedule)")
	f.StringVar(&opts.Workspace, "workspace", "", "workspace name of the archive folders (default: the workspace uid, else unknown-workspace)")
	f.StringVar(&opts.Since, "since", "7d", "oldest run start to follow up: a duration back from now (90m, 36h, 7d, 2w) or a date (2024-05-01, RFC 3339)")
	f.StringVar(&opts.Until, "until", "", "skip runs that started at or after this: a duration back from now or a date (default: now)")
	f.IntVar(&opts.MaxRuns, "max-runs", 0, "stop after this many runs of the window (0: no limit)")
	f.IntVar(&opts.RunsConcurrency, "runs-concurrency", pull.DefaultRunsConcurrency, "runs followed up at once (they share --concurrency)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "list the runs that would be followed up, and follow up none")
	return cmd
}

// parseWhen reads --since/--until: a duration back from now ("7d", "36h",
// "2w", "90m") or a date ("2024-05-01", RFC 3339, UTC when no zone).
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty")
	}
	if n := len(s); n > 1 && (s[n-1] == 'd' || s[n-1] == 'w') {
		if v, err := strconv.ParseFloat(s[:n-1], 64); err == nil && v > 0 && v < 1e5 {
			unit := 24 * time.Hour
			if s[n-1] == 'w' {
				unit *= 7
			}
			return now.Add(-time.Duration(v * float64(unit))), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q: a duration back from now must be positive", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration back from now (90m, 36h, 7d, 2w) nor a date (2024-05-01, 2024-05-01T12:00:00Z)", s)
}

// window checks --since, --until and the counts.
func (opts *backfillOptions) window() (since, until time.Time, err error) {
	now := opts.now()
	if since, err = parseWhen(opts.Since, now); err != nil {
		return since, until, fmt.Errorf("--since %w", err)
	}
	if since.After(now) {
		return since, until, fmt.Errorf("--since %s is in the future: no run started after it yet", since.Format(time.RFC3339))
	}
	if opts.Until != "" {
		if until, err = parseWhen(opts.Until, now); err != nil {
			return since, until, fmt.Errorf("--until %w", err)
		}
		if !until.After(since) {
			return since, until, fmt.Errorf("--until %s is not after --since %s", until.Format(time.RFC3339), since.Format(time.RFC3339))
		}
	}
	switch {
	case opts.MaxRuns < 0:
		return since, until, fmt.Errorf("--max-runs %d: want 0 (no limit) or more", opts.MaxRuns)
	case opts.RunsConcurrency < 1 || opts.RunsConcurrency > 64:
		return since, until, fmt.Errorf("--runs-concurrency %d: want 1 to 64", opts.RunsConcurrency)
	}
	for _, s := range opts.Schedules {
		if strings.TrimSpace(s) == "" {
			return since, until, errors.New("--schedule \"\": want a schedule name")
		}
	}
	return since, until, nil
}

func runBackfill(ctx context.Context, opts *backfillOptions) error {
	io := opts.fetch.io
	cfg, err := opts.fetch.config()
	if err != nil {
		return withCode(exitBadInput, err)
	}
	since, until, err := opts.window()
	if err != nil {
		return withCode(exitBadInput, err)
	}
	if err := needEndpoint(cfg.client); err != nil {
		return withCode(exitBadInput, fmt.Errorf("backfill: %w", err))
	}
	// The bar and its logger first, so that the archive's own log lines
	// (a bucket's sweep) are printed above the bar, not through it.
	var bar *runsBar
	logOut := io.Err
	if io.ErrTTY && !opts.DryRun {
		bar = newRunsBar(io.Err)
		defer bar.close()
		logOut = bar.p
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.level}))
	store, err := openOut(ctx, opts.fetch.Out, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	// One line per run is enough: the fetcher's own info lines only at
	// --log-level debug.
	fetchLevel := max(cfg.level, slog.LevelWarn)
	if cfg.level <= slog.LevelDebug {
		fetchLevel = cfg.level
	}
	fetchLogger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: fetchLevel}))

	// One limit of --concurrency requests in flight for every run's API
	// calls and downloads together, and one connection pool for the API and
	// one for downloads, however many runs.
	limit := fetcher.NewLimiter(opts.fetch.Concurrency)
	ccfg := cfg.client
	ccfg.Logger = fetchLogger
	ccfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	api, err := client.New(ccfg)
	if err != nil {
		return withCode(exitBadInput, word(err))
	}
	fopts, err := opts.fetch.fetcherOptions(cfg)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	if fopts.Lineage, err = opts.fetch.Lineage.exporter(opts.fetch.getenv, fetchLogger); err != nil {
		return withCode(exitBadInput, err)
	}
	fopts.Limiter, fopts.HTTPClient = limit, fetcher.NewDownloadClient()
	// The function fetch uses, on the pulled payload; --timeout bounds
	// each run's follow-up, not the whole backfill.
	var dbtFailures atomic.Int64
	follow := func(ctx context.Context, runID int64, payload []byte) (bool, error) {
		if opts.fetch.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, opts.fetch.Timeout)
			defer cancel()
		}
		rep, err := followUpRun(ctx, payload, store, ccfg, fopts, fetchLogger.With("run", runID))
		if err != nil {
			return false, err
		}
		if dbtFailed(rep) {
			dbtFailures.Add(1)
		}
		return rep.Summary.Complete, nil
	}

	began := time.Now()
	sum, err := pull.Backfill(ctx, pull.Options{
		API: api, Store: store, FollowUp: follow,
		Schedules: opts.Schedules, Workspace: opts.Workspace, WorkspaceUID: ccfg.WorkspaceUID, APIURL: ccfg.Endpoint,
		Since: since, Until: until, MaxRuns: opts.MaxRuns, RunsConcurrency: opts.RunsConcurrency, DryRun: opts.DryRun, Limiter: limit,
		OnListed: func(n int) {
			if bar != nil {
				bar.setTotal(n)
			}
		},
		OnRun: func(r pull.RunResult) {
			switch r.Outcome {
			case pull.OutcomeFollowedUp, pull.OutcomeFailed:
				if bar != nil {
					bar.done()
				}
				attrs := []any{"run", r.Run.ID, "outcome", string(r.Outcome)}
				if r.Err != nil {
					attrs = append(attrs, "error", r.Err.Error())
				}
				logger.Info("run", attrs...)
			case pull.OutcomeNotFinished:
				logger.Info("run not finished: left for a later backfill", "run", r.Run.ID, "state", r.Run.State)
			}
		},
		Logger: logger,
	})
	if bar != nil {
		bar.close()
	}
	took := time.Since(began)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		code := exitPartial
		var auth *client.AuthError
		if errors.Is(err, pull.ErrBadOptions) || errors.As(err, &auth) {
			code = exitBadInput
		}
		return withCode(code, fmt.Errorf("backfill: %w", word(err)))
	}
	if werr := writeBackfillSummary(io.Out, opts.fetch.Format, sum, opts, since, until, took); werr != nil {
		return withCode(exitPartial, werr)
	}
	switch {
	case err != nil:
		return withCode(exitPartial, fmt.Errorf("backfill interrupted: %w (the summary says what was done)", err))
	case sum.Failed > 0:
		return withCode(exitPartial, fmt.Errorf("%d of %d runs had follow-up errors (each run's report.json lists them)", sum.Failed, sum.Found))
	case opts.fetch.FailOnDBTFailure && dbtFailures.Load() > 0:
		return withCode(exitDBTFailed, fmt.Errorf("dbt failed in %d of the runs followed up (--fail-on-dbt-failure)", dbtFailures.Load()))
	}
	return nil
}

// writeBackfillSummary prints the summary: counts, and the runs of a dry
// run or the failures.
func writeBackfillSummary(w io.Writer, format string, sum pull.Summary, opts *backfillOptions, since, until time.Time, took time.Duration) error {
	type jrun struct {
		ID       int64  `json:"id"`
		Schedule string `json:"schedule"`
		State    string `json:"state"`
		Start    string `json:"start,omitempty"`
		Folder   string `json:"folder"`
		Error    string `json:"error,omitempty"`
	}
	conv := func(r pull.Run, err error) jrun {
		j := jrun{ID: r.ID, Schedule: r.Schedule, State: r.State, Folder: r.Folder}
		if !r.Start.IsZero() {
			j.Start = r.Start.Format(time.RFC3339)
		}
		if err != nil {
			j.Error = err.Error()
		}
		return j
	}
	if format == "json" {
		out := struct {
			Found           int    `json:"found"`
			AlreadyArchived int    `json:"already_archived"`
			FollowedUp      int    `json:"followed_up"`
			Failed          int    `json:"failed"`
			NotFinished     int    `json:"not_finished"`
			DryRun          bool   `json:"dry_run"`
			Since           string `json:"since"`
			Until           string `json:"until,omitempty"`
			DurationMS      int64  `json:"duration_ms"`
			WouldFetch      []jrun `json:"would_fetch"`
			Failures        []jrun `json:"failures"`
		}{Found: sum.Found, AlreadyArchived: sum.AlreadyArchived, FollowedUp: sum.FollowedUp, Failed: sum.Failed,
			NotFinished: sum.NotFinished, DryRun: opts.DryRun, Since: since.Format(time.RFC3339), DurationMS: took.Milliseconds(),
			WouldFetch: []jrun{}, Failures: []jrun{}}
		if !until.IsZero() {
			out.Until = until.Format(time.RFC3339)
		}
		for _, r := range sum.WouldFetch {
			out.WouldFetch = append(out.WouldFetch, conv(r, nil))
		}
		for _, f := range sum.Failures {
			out.Failures = append(out.Failures, conv(f.Run, f.Err))
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	what := "every schedule"
	if len(opts.Schedules) > 0 {
		what = "schedule " + strings.Join(opts.Schedules, ", ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Backfill of %s since %s: %d runs found", what, since.Format(time.RFC3339), sum.Found)
	if sum.Found == 1 {
		b.Reset()
		fmt.Fprintf(&b, "Backfill of %s since %s: 1 run found", what, since.Format(time.RFC3339))
	}
	if opts.DryRun {
		fmt.Fprintf(&b, "; %d already archived, %d not finished, %d would be followed up (dry run).\n", sum.AlreadyArchived, sum.NotFinished, len(sum.WouldFetch))
		for _, r := range sum.WouldFetch {
			fmt.Fprintf(&b, "  would fetch run %d (%s, started %s) into %s\n", r.ID, r.State, r.Start.Format(time.RFC3339), r.Folder)
		}
	} else {
		fmt.Fprintf(&b, "; %d already archived, %d followed up, %d failed, %d not finished (in %s).\n",
			sum.AlreadyArchived, sum.FollowedUp, sum.Failed, sum.NotFinished, took.Round(time.Millisecond))
		for _, f := range sum.Failures {
			reason := "follow-up errors, listed in " + f.Run.Folder + "/report.json"
			if f.Err != nil {
				reason = f.Err.Error()
			}
			fmt.Fprintf(&b, "  failed: run %d: %s\n", f.Run.ID, reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// runsBar is the terminal progress of a backfill: runs done / total.
type runsBar struct {
	p   *mpb.Progress
	bar *mpb.Bar
}

func newRunsBar(w io.Writer) *runsBar {
	p := mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
	bar := p.AddBar(0,
		mpb.PrependDecorators(decor.Name("runs", decor.WC{C: decor.DindentRight | decor.DextraSpace})),
		mpb.AppendDecorators(decor.CountersNoUnit("%d / %d", decor.WC{W: 14}), decor.Percentage(decor.WC{W: 5})),
	)
	return &runsBar{p: p, bar: bar}
}

func (b *runsBar) setTotal(n int) {
	if n == 0 {
		b.bar.SetTotal(-1, true)
		return
	}
	b.bar.SetTotal(int64(n), false)
}

func (b *runsBar) done() { b.bar.Increment() }

func (b *runsBar) close() {
	if b.p == nil {
		return
	}
	if !b.bar.Completed() {
		b.bar.SetTotal(-1, true) // done at what was reached
	}
	b.p.Wait()
	b.p = nil
}
