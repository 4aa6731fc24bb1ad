package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"riverqueue.com/riverui"
)

// backend is the inbox over one database. engine implements it for both
// drivers; only opening a database differs (sqlite.go, postgres.go).
type backend interface {
	insertBatch(ctx context.Context, reqs []*enqueueReq) error
	status(ctx context.Context, runID int64) (RunStatus, error)
	list(ctx context.Context, state State, limit int) ([]RunStatus, error)
	depth(ctx context.Context) (map[State]int, error)
	ping(ctx context.Context) error
	payload(ctx context.Context, runID int64) ([]byte, error)
	retry(ctx context.Context, runID int64) (RunStatus, error)
	requeueRunning(ctx context.Context, why string) (int, error)
	sweep(ctx context.Context, before time.Time) (int64, error)
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
	close() error
	ui(prefix string, logger *slog.Logger) (*riverui.Handler, error)
}

// querier is the little SQL the inbox runs itself (its payload table), over
// database/sql or pgx, on a pool or in a transaction. Statements are written
// with $n placeholders.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	queryRow(ctx context.Context, q string, args ...any) rowScanner
}

type rowScanner interface{ Scan(dest ...any) error }

// errNoRows is what a querier's row returns when nothing matched.
var errNoRows = errors.New("no rows")

// The payload table: one row per known run, the payload byte-exact.
const (
	sqlJobOfRun = `SELECT job_id FROM boltfetch_payload WHERE run_id = $1`
	sqlPayload  = `SELECT payload FROM boltfetch_payload WHERE run_id = $1`
	sqlSweep    = `DELETE FROM boltfetch_payload WHERE received_at < $1 AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.id = boltfetch_payload.job_id)`
	sqlDepth    = `SELECT state, count(*) FROM river_job WHERE kind = $1 GROUP BY state`
	sqlPing     = `SELECT count(*) FROM boltfetch_payload WHERE run_id = -1`
)

// payloadRowsPerInsert bounds one multi-row INSERT of payloads (4 parameters
// a row: far below SQLite's and PostgreSQL's parameter limits).
const payloadRowsPerInsert = 250

// insertPayloadsSQL is the INSERT of n payload rows. A row for a run already
// there (left by a job River's cleaner removed, before the sweep) is
// replaced: the run is new again.
func insertPayloadsSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO boltfetch_payload (run_id, job_id, payload, received_at) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d)", 4*i+1, 4*i+2, 4*i+3, 4*i+4)
	}
	b.WriteString(" ON CONFLICT (run_id) DO UPDATE SET job_id = excluded.job_id, payload = excluded.payload, received_at = excluded.received_at")
	return b.String()
}

// engine is the inbox over one River client, whatever its transaction type.
type engine[TTx any] struct {
	cfg      Config
	client   *river.Client[TTx]
	driver   riverdriver.Driver[TTx]
	db       querier
	begin    func(ctx context.Context) (TTx, querier, error)
	commit   func(ctx context.Context, tx TTx) error
	rollback func(ctx context.Context, tx TTx) error
	// groupBy runs the depth query; SQLite and pgx scan counts alike.
	depthRows func(ctx context.Context, q string, args ...any) (map[string]int, error)
	closeDB   func() error
}

// migrate runs River's migrations, then creates the payload table.
//   - On SQLite (lock nil) everything runs in one immediate transaction: it
//     holds the write lock from its first statement, so processes opening
//     the same data dir at once migrate one after the other.
//   - On PostgreSQL each River migration needs its own transaction (a new
//     enum value cannot be used in the transaction that adds it), so lock
//     (a session advisory lock) serialises replicas that start together.
func (e *engine[TTx]) migrate(ctx context.Context, lock func(context.Context) (func(), error), createSQL string) error {
	m, err := rivermigrate.New(e.driver, &rivermigrate.Config{Logger: e.cfg.Logger})
	if err != nil {
		return err
	}
	q := e.db
	if lock == nil {
		tx, tq, err := e.begin(ctx)
		if err != nil {
			return err
		}
		defer e.rollback(context.WithoutCancel(ctx), tx) //nolint:errcheck // no-op after commit
		if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("river migrations: %w", err)
		}
		if err := createTable(ctx, tq, createSQL); err != nil {
			return err
		}
		return e.commit(ctx, tx)
	}
	unlock, err := lock(ctx)
	if err != nil {
		return fmt.Errorf("lock for migration: %w", err)
	}
	defer unlock()
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return createTable(ctx, q, createSQL)
}

// createTable runs the payload table's statements.
func createTable(ctx context.Context, q querier, createSQL string) error {
	for _, stmt := range strings.Split(createSQL, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := q.exec(ctx, stmt); err != nil {
			return fmt.Errorf("create the payload table: %w", err)
		}
	}
	return nil
}

// riverConfig is the River client configuration both drivers share.
func riverConfig(cfg Config, w *worker) *river.Config {
	rc := &river.Config{
		Logger:                      cfg.Logger,
		MaxAttempts:                 cfg.MaxAttempts,
		JobTimeout:                  cfg.JobTimeout,
		RescueStuckJobsAfter:        cfg.RescueAfter,
		CompletedJobRetentionPeriod: cfg.Retention,
		CancelledJobRetentionPeriod: cfg.Retention,
		DiscardedJobRetentionPeriod: cfg.Retention,
		FetchPollInterval:           cfg.FetchPollInterval,
		FetchCooldown:               min(cfg.FetchPollInterval, 100*time.Millisecond),
	}
	if cfg.Backoff != nil {
		rc.RetryPolicy = backoffPolicy(cfg.Backoff)
	}
	if cfg.FollowUp != nil {
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
		addPeriodic(rc, workers, cfg.Periodic)
	}
	return rc
}

// backoffPolicy adapts Config.Backoff to River's retry policy.
type backoffPolicy func(attempt int) time.Duration

func (b backoffPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().UTC().Add(b(max(job.Attempt, 1)))
}

// insertBatch inserts one group-committed batch: the distinct runs as River
// jobs (River refuses a batch holding one unique key twice), the new runs'
// payloads beside them, in one transaction. Every request gets its result,
// known only after the commit.
func (e *engine[TTx]) insertBatch(ctx context.Context, reqs []*enqueueReq) error {
	first := make(map[int64]int, len(reqs)) // run id → index in params
	params := make([]river.InsertManyParams, 0, len(reqs))
	owners := make([]*enqueueReq, 0, len(reqs))
	for _, r := range reqs {
		if _, ok := first[r.runID]; ok {
			continue
		}
		first[r.runID] = len(params)
		params = append(params, river.InsertManyParams{Args: followUpArgs{RunID: r.runID}})
		owners = append(owners, r)
	}
	tx, q, err := e.begin(ctx)
	if err != nil {
		return err
	}
	defer e.rollback(context.WithoutCancel(ctx), tx) //nolint:errcheck // no-op after commit
	res, err := e.client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return err
	}
	if len(res) != len(params) {
		return fmt.Errorf("river inserted %d jobs for %d runs", len(res), len(params))
	}
	// The new runs' payloads, in multi-row statements (one round trip, one
	// statement to prepare, per chunk).
	now := time.Now().UnixMilli()
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		if _, err := q.exec(ctx, insertPayloadsSQL(len(args)/4), args...); err != nil {
			return fmt.Errorf("store %d payloads: %w", len(args)/4, err)
		}
		args = args[:0]
		return nil
	}
	for i, r := range res {
		if r.UniqueSkippedAsDuplicate {
			continue
		}
		args = append(args, owners[i].runID, r.Job.ID, owners[i].payload, now)
		if len(args) == 4*payloadRowsPerInsert {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := e.commit(ctx, tx); err != nil {
		return err
	}
	seen := make(map[int64]bool, len(params))
	for _, r := range reqs {
		i := first[r.runID]
		dup := res[i].UniqueSkippedAsDuplicate || seen[r.runID]
		seen[r.runID] = true
		r.res = EnqueueResult{RunID: r.runID, State: stateOf(res[i].Job.State), Duplicate: dup}
	}
	return nil
}

// job finds the job of a run.
func (e *engine[TTx]) job(ctx context.Context, runID int64) (*rivertype.JobRow, error) {
	var id int64
	if err := e.db.queryRow(ctx, sqlJobOfRun, runID).Scan(&id); err != nil {
		if errors.Is(err, errNoRows) {
			return nil, fmt.Errorf("run %d: %w", runID, ErrNotFound)
		}
		return nil, unavailable(err)
	}
	job, err := e.client.JobGet(ctx, id)
	if err != nil {
		if errors.Is(err, rivertype.ErrNotFound) {
			return nil, fmt.Errorf("run %d: %w", runID, ErrNotFound)
		}
		return nil, unavailable(err)
	}
	return job, nil
}

func (e *engine[TTx]) status(ctx context.Context, runID int64) (RunStatus, error) {
	job, err := e.job(ctx, runID)
	if err != nil {
		return RunStatus{}, err
	}
	return statusOf(runID, job), nil
}

func (e *engine[TTx]) list(ctx context.Context, state State, limit int) ([]RunStatus, error) {
	p := river.NewJobListParams().Kinds(jobKind).OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit)
	if state != "" {
		p = p.States(riverStates(state)...)
	}
	res, err := e.client.JobList(ctx, p)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]RunStatus, 0, len(res.Jobs))
	for _, job := range res.Jobs {
		var a followUpArgs
		if err := json.Unmarshal(job.EncodedArgs, &a); err != nil {
			continue // not one of ours
		}
		out = append(out, statusOf(a.RunID, job))
	}
	return out, nil
}

func (e *engine[TTx]) depth(ctx context.Context) (map[State]int, error) {
	rows, err := e.depthRows(ctx, sqlDepth, jobKind)
	if err != nil {
		return nil, unavailable(err)
	}
	d := map[State]int{StateQueued: 0, StateProcessing: 0, StateDone: 0, StateFailed: 0}
	for s, n := range rows {
		d[stateOf(rivertype.JobState(s))] += n
	}
	return d, nil
}

func (e *engine[TTx]) ping(ctx context.Context) error {
	var n int64
	if err := e.db.queryRow(ctx, sqlPing).Scan(&n); err != nil {
		return unavailable(err)
	}
	return nil
}

func (e *engine[TTx]) payload(ctx context.Context, runID int64) ([]byte, error) {
	var b []byte
	if err := e.db.queryRow(ctx, sqlPayload, runID).Scan(&b); err != nil {
		if errors.Is(err, errNoRows) {
			return nil, fmt.Errorf("payload of run %d: %w", runID, ErrNotFound)
		}
		return nil, fmt.Errorf("payload of run %d: %w", runID, err)
	}
	return b, nil
}

func (e *engine[TTx]) retry(ctx context.Context, runID int64) (RunStatus, error) {
	job, err := e.job(ctx, runID)
	if err != nil {
		return RunStatus{}, err
	}
	if job.State == rivertype.JobStateRunning {
		return statusOf(runID, job), fmt.Errorf("run %d: %w", runID, ErrRunning)
	}
	job, err = e.client.JobRetry(ctx, job.ID)
	if err != nil {
		if errors.Is(err, rivertype.ErrNotFound) {
			return RunStatus{}, fmt.Errorf("run %d: %w", runID, ErrNotFound)
		}
		return RunStatus{}, unavailable(err)
	}
	return statusOf(runID, job), nil
}

// requeueRunning makes every running job available again at once, or
// discards it when it has used its last attempt (a run that kills its worker
// every time must not loop forever). Only the SQLite inbox calls it, at
// start, under the data dir's lock: no other process can be running them.
func (e *engine[TTx]) requeueRunning(ctx context.Context, why string) (int, error) {
	exec := e.driver.GetExecutor()
	now := time.Now().UTC()
	jobs, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{Max: 100000, StuckHorizon: now.Add(time.Hour)})
	if err != nil {
		return 0, err
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	p := &riverdriver.JobRescueManyParams{StuckHorizon: now.Add(time.Hour)}
	for _, job := range jobs {
		msg, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(job.Attempt, 0), Error: why})
		if err != nil {
			return 0, err
		}
		state, fin := rivertype.JobStateAvailable, (*time.Time)(nil)
		if job.Attempt >= job.MaxAttempts {
			state, fin = rivertype.JobStateDiscarded, &now
		}
		p.ID = append(p.ID, job.ID)
		p.Error = append(p.Error, msg)
		p.FinalizedAt = append(p.FinalizedAt, fin)
		p.ScheduledAt = append(p.ScheduledAt, now)
		p.State = append(p.State, string(state))
	}
	if _, err := exec.JobRescueMany(ctx, p); err != nil {
		return 0, err
	}
	return len(jobs), nil
}

// sweep deletes the payloads of runs whose jobs River's cleaner removed.
func (e *engine[TTx]) sweep(ctx context.Context, before time.Time) (int64, error) {
	return e.db.exec(ctx, sqlSweep, before.UnixMilli())
}

func (e *engine[TTx]) start(ctx context.Context) error { return e.client.Start(ctx) }
func (e *engine[TTx]) stop(ctx context.Context) error  { return e.client.Stop(ctx) }
func (e *engine[TTx]) stopAndCancel(ctx context.Context) error {
	return e.client.StopAndCancel(ctx)
}
func (e *engine[TTx]) close() error { return e.closeDB() }

// unavailable marks a database error as ErrUnavailable, keeping the cause.
func unavailable(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// groupRows is what database/sql's and pgx's rows share, for groupCount.
type groupRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// groupCount reads rows of (key, count) into a map: the depth queries of
// both drivers.
func groupCount(rows groupRows) (map[string]int, error) {
	m := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		m[k] = n
	}
	return m, rows.Err()
}
