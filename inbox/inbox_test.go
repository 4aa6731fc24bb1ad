package inbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// The conformance suite: every test runs on both drivers, so that SQLite
// and PostgreSQL cannot drift apart. PostgreSQL runs when
// BOLTFETCH_TEST_POSTGRES holds a DSN, each test in a fresh schema.

const pgEnv = "BOLTFETCH_TEST_POSTGRES"

// driverCase opens inboxes of one kind; every call with the same t shares one
// database (one data dir or one schema), like replicas or restarts.
type driverCase struct {
	name string
	// store returns the config fields that name this test's database.
	store func(t *testing.T) Config
}

func driverCases() []driverCase {
	return []driverCase{
		{name: "sqlite", store: func(t *testing.T) Config { return Config{DataDir: t.TempDir()} }},
		{name: "postgres", store: func(t *testing.T) Config { return pgStore(t) }},
	}
}

// pgStore creates a fresh schema for t and returns a DSN that selects it.
func pgStore(t testing.TB) Config {
	t.Helper()
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		t.Skipf("%s is not set", pgEnv)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "inbox_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", pgEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return Config{PostgresURL: u.String()}
}

// forEachDriver runs test once per driver, in parallel.
func forEachDriver(t *testing.T, test func(t *testing.T, store func(t *testing.T) Config)) {
	t.Helper()
	for _, dc := range driverCases() {
		t.Run(dc.name, func(t *testing.T) {
			t.Parallel()
			var once sync.Once
			var cfg Config
			test(t, func(t *testing.T) Config {
				once.Do(func() { cfg = dc.store(t) })
				return cfg
			})
		})
	}
}

// fast is a test config: short polls and backoff, the given follow-up.
func fast(base Config, f FollowUp) Config {
	base.FollowUp = f
	base.FetchPollInterval = 20 * time.Millisecond
	base.Backoff = func(int) time.Duration { return 10 * time.Millisecond }
	return base
}

func open(t *testing.T, cfg Config) *Inbox {
	t.Helper()
	ib, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { ib.Close() })
	return ib
}

func start(t *testing.T, ib *Inbox) {
	t.Helper()
	if err := ib.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// waitState polls until run is in want (or fails after 20 s).
func waitState(t *testing.T, ib *Inbox, runID int64, want State) RunStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := ib.Status(context.Background(), runID)
		if err == nil && st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d: state %q (err %v), want %q", runID, st.State, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func enqueue(t *testing.T, ib *Inbox, runID int64, payload string) EnqueueResult {
	t.Helper()
	res, err := ib.Enqueue(context.Background(), runID, []byte(payload))
	if err != nil {
		t.Fatalf("Enqueue %d: %v", runID, err)
	}
	return res
}

func TestEnqueueConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		ib := open(t, store(t))
		const n = 20
		var wg sync.WaitGroup
		results := make([]EnqueueResult, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = ib.Enqueue(context.Background(), 4242, []byte(fmt.Sprintf(`{"n":%d}`, i)))
			}()
		}
		wg.Wait()
		fresh := 0
		for i, r := range results {
			if errs[i] != nil {
				t.Fatalf("Enqueue %d: %v", i, errs[i])
			}
			if r.RunID != 4242 || r.State != StateQueued {
				t.Errorf("result %d: %+v, want run 4242 queued", i, r)
			}
			if !r.Duplicate {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("%d non-duplicate results, want exactly 1", fresh)
		}
		d, err := ib.Depth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d[StateQueued] != 1 || d[StateProcessing]+d[StateDone]+d[StateFailed] != 0 {
			t.Errorf("depth %v, want one queued job", d)
		}
	})
}

func TestGroupCommitDedupesABatch(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		cfg := store(t)
		cfg.GroupCommitWindow = 300 * time.Millisecond // all of them in one batch
		ib := open(t, cfg)
		enqueue(t, ib, 7, "seven") // known before the batch
		runs := []int64{1, 1, 2, 3, 3, 3, 7, 7}
		var wg sync.WaitGroup
		res := make([]EnqueueResult, len(runs))
		start := time.Now()
		for i, id := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if res[i], err = ib.Enqueue(context.Background(), id, []byte("x")); err != nil {
					t.Errorf("Enqueue %d: %v", id, err)
				}
			}()
		}
		wg.Wait()
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("one batch took %s", el)
		}
		fresh := map[int64]int{}
		for _, r := range res {
			if !r.Duplicate {
				fresh[r.RunID]++
			}
		}
		want := map[int64]int{1: 1, 2: 1, 3: 1}
		if fmt.Sprint(fresh) != fmt.Sprint(want) {
			t.Errorf("non-duplicates per run %v, want %v", fresh, want)
		}
		d, _ := ib.Depth(context.Background())
		if d[StateQueued] != 4 {
			t.Errorf("depth %v, want 4 queued", d)
		}
	})
}

func TestPayloadIsByteExactAndNotReplaced(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		// Not re-encodable JSON on purpose: odd spacing, escapes, a raw
		// invalid UTF-8 byte, a NUL, a trailing newline.
		payload := "{ \"event\" :\"bolt.run.completed\",\"api_url\":\"https://api.paradime.io/x?token=s3cret\", \"u\":\"\\u00e9\xff\x00\"}\n"
		got := make(chan []byte, 2)
		ib := open(t, fast(store(t), func(_ context.Context, runID int64, p []byte) (Outcome, error) {
			got <- append([]byte(nil), p...)
			return Outcome{Complete: true, Report: "r.json"}, nil
		}))
		enqueue(t, ib, 11, payload)
		if r := enqueue(t, ib, 11, "a different body"); !r.Duplicate {
			t.Errorf("second delivery not a duplicate: %+v", r)
		}
		start(t, ib)
		waitState(t, ib, 11, StateDone)
		if p := <-got; string(p) != payload {
			t.Errorf("payload %q, want %q", p, payload)
		}
		// The job's arguments (what River's UI shows) hold the run id only.
		jobs, err := ib.List(context.Background(), "", 10)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("List: %v %v", jobs, err)
		}
		e := ib.b.(interface {
			payload(context.Context, int64) ([]byte, error)
		})
		if p, err := e.payload(context.Background(), 11); err != nil || string(p) != payload {
			t.Errorf("stored payload %q, %v", p, err)
		}
	})
}

func TestJobArgsHoldOnlyTheRunID(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		ib := open(t, store(t))
		enqueue(t, ib, 12, `{"api_url":"https://api.paradime.io/?token=s3cret"}`)
		job := jobOf(t, ib, 12)
		if string(job.EncodedArgs) != `{"run_id":12}` && string(job.EncodedArgs) != `{"run_id": 12}` {
			t.Errorf("job args %s, want the run id only", job.EncodedArgs)
		}
		if strings.Contains(string(job.Metadata), "s3cret") {
			t.Errorf("job metadata holds the payload: %s", job.Metadata)
		}
	})
}

func TestRetryableOutcomeIsRetriedThenDone(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		var calls atomic.Int32
		ib := open(t, fast(store(t), func(_ context.Context, _ int64, _ []byte) (Outcome, error) {
			switch calls.Add(1) {
			case 1:
				return Outcome{Retryable: true, Report: "a/report.json", Errors: []string{"download/expired: the URL expired"}}, nil
			case 2:
				return Outcome{}, errors.New("transport: connection reset")
			}
			return Outcome{Complete: true, Report: "a/report.json"}, nil
		}))
		enqueue(t, ib, 21, "{}")
		start(t, ib)
		st := waitState(t, ib, 21, StateDone)
		if st.Attempts != 3 || calls.Load() != 3 {
			t.Errorf("attempts %d, calls %d, want 3", st.Attempts, calls.Load())
		}
		if st.LastError != "transport: connection reset" {
			t.Errorf("last error %q", st.LastError)
		}
		if st.Report != "a/report.json" || st.FinishedAt == nil || st.ReceivedAt.IsZero() {
			t.Errorf("status %+v", st)
		}
		job := jobOf(t, ib, 21)
		if len(job.Errors) != 2 || !strings.Contains(job.Errors[0].Error, "download/expired: the URL expired") {
			t.Errorf("errors %+v", job.Errors)
		}
	})
}

func TestFailures(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		calls := map[int64]int{}
		var mu sync.Mutex
		cfg := fast(store(t), func(_ context.Context, runID int64, _ []byte) (Outcome, error) {
			mu.Lock()
			calls[runID]++
			mu.Unlock()
			switch runID {
			case 31: // unusable input
				return Outcome{}, Permanent(errors.New("api_url host evil.example is not allowed"))
			case 32: // every item error permanent
				return Outcome{Report: "r32.json", Errors: []string{"api_query/auth: 401", "download/not_found: 404"}}, nil
			default: // transient until the attempts run out
				return Outcome{Retryable: true, Errors: []string{"download/status: 503"}}, nil
			}
		})
		cfg.MaxAttempts = 3
		ib := open(t, cfg)
		for _, id := range []int64{31, 32, 33} {
			enqueue(t, ib, id, "{}")
		}
		start(t, ib)
		for _, tt := range []struct {
			run      int64
			attempts int
			errPart  string
		}{
			{31, 1, "evil.example is not allowed"},
			{32, 1, "api_query/auth: 401; download/not_found: 404"},
			{33, 3, "download/status: 503"},
		} {
			st := waitState(t, ib, tt.run, StateFailed)
			mu.Lock()
			n := calls[tt.run]
			mu.Unlock()
			if st.Attempts != tt.attempts || n != tt.attempts {
				t.Errorf("run %d: %d attempts, %d calls, want %d", tt.run, st.Attempts, n, tt.attempts)
			}
			if !strings.Contains(st.LastError, tt.errPart) || strings.Contains(st.LastError, "JobCancelError") {
				t.Errorf("run %d: last error %q, want it to hold %q", tt.run, st.LastError, tt.errPart)
			}
			if st.FinishedAt == nil {
				t.Errorf("run %d: no finished_at", tt.run)
			}
		}
		if st, _ := ib.Status(context.Background(), 32); st.Report != "r32.json" {
			t.Errorf("report of a failed run %q", st.Report)
		}
		// A failed run stays a duplicate.
		if r := enqueue(t, ib, 31, "{}"); !r.Duplicate || r.State != StateFailed {
			t.Errorf("re-delivery of a failed run: %+v", r)
		}
	})
}

func TestRetryAFailedRun(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		var fixed atomic.Bool
		ib := open(t, fast(store(t), func(context.Context, int64, []byte) (Outcome, error) {
			if fixed.Load() {
				return Outcome{Complete: true}, nil
			}
			return Outcome{}, Permanent(errors.New("host not allowed"))
		}))
		enqueue(t, ib, 41, "{}")
		start(t, ib)
		waitState(t, ib, 41, StateFailed)
		fixed.Store(true)
		if _, err := ib.Retry(context.Background(), 41); err != nil {
			t.Fatalf("Retry: %v", err)
		}
		st := waitState(t, ib, 41, StateDone)
		if st.Attempts != 2 {
			t.Errorf("attempts %d, want 2", st.Attempts)
		}
		if _, err := ib.Retry(context.Background(), 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("Retry of an unknown run: %v, want ErrNotFound", err)
		}
	})
}

// TestRetryWithoutAServer retries from a second inbox that never starts, as
// `boltfetch inbox retry` does.
func TestRetryWithoutAServer(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		ib := open(t, fast(store(t), func(context.Context, int64, []byte) (Outcome, error) {
			return Outcome{}, Permanent(errors.New("bad payload"))
		}))
		enqueue(t, ib, 42, "{}")
		start(t, ib)
		waitState(t, ib, 42, StateFailed)
		if err := ib.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		ops := open(t, store(t))
		st, err := ops.Retry(context.Background(), 42)
		if err != nil || st.State != StateQueued {
			t.Fatalf("Retry: %+v, %v", st, err)
		}
		list, err := ops.List(context.Background(), StateQueued, 10)
		if err != nil || len(list) != 1 || list[0].RunID != 42 {
			t.Errorf("List queued: %+v, %v", list, err)
		}
	})
}

func TestListStatusDepth(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		release := make(chan struct{})
		ib := open(t, fast(store(t), func(ctx context.Context, runID int64, _ []byte) (Outcome, error) {
			switch runID {
			case 51:
				return Outcome{Complete: true, Report: "51/report.json"}, nil
			case 52:
				return Outcome{}, Permanent(errors.New("bad payload"))
			}
			select { // 53 stays processing
			case <-release:
			case <-ctx.Done():
			}
			return Outcome{Complete: true}, nil
		}))
		defer close(release)
		ctx := context.Background()
		if _, err := ib.Status(ctx, 50); !errors.Is(err, ErrNotFound) {
			t.Errorf("Status of an unknown run: %v", err)
		}
		for _, id := range []int64{51, 52, 53} {
			enqueue(t, ib, id, "{}")
		}
		start(t, ib)
		waitState(t, ib, 51, StateDone)
		waitState(t, ib, 52, StateFailed)
		waitState(t, ib, 53, StateProcessing)
		enqueue(t, ib, 54, "{}") // 2 workers: 53 holds one, 54 may run or wait
		all, err := ib.List(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, s := range all {
			ids = append(ids, s.RunID)
		}
		if fmt.Sprint(ids) != "[54 53 52 51]" {
			t.Errorf("List all: %v, want newest first [54 53 52 51]", ids)
		}
		if l, _ := ib.List(ctx, StateDone, 10); len(l) != 1 || l[0].RunID != 51 || l[0].Report != "51/report.json" {
			t.Errorf("List done: %+v", l)
		}
		if l, _ := ib.List(ctx, StateFailed, 10); len(l) != 1 || l[0].RunID != 52 {
			t.Errorf("List failed: %+v", l)
		}
		if l, _ := ib.List(ctx, "", 2); len(l) != 2 {
			t.Errorf("List limit 2: %d runs", len(l))
		}
		if _, err := ib.List(ctx, "bogus", 10); err == nil {
			t.Error("List of an unknown state: no error")
		}
		d, err := ib.Depth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d[StateDone] != 1 || d[StateFailed] != 1 || d[StateProcessing]+d[StateQueued] != 2 {
			t.Errorf("depth %v", d)
		}
		if err := ib.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
		if _, err := ib.Retry(ctx, 53); !errors.Is(err, ErrRunning) {
			t.Errorf("Retry of a processing run: %v, want ErrRunning", err)
		}
	})
}

// TestRescueOfADeadWorker leaves a job as a worker that died leaves it
// (running, attempted long ago) and starts an inbox: SQLite requeues it at
// start (its lock proves the predecessor dead), PostgreSQL's rescuer after
// the job timeout.
func TestRescueOfADeadWorker(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		cfg := fast(store(t), func(context.Context, int64, []byte) (Outcome, error) {
			return Outcome{Complete: true}, nil
		})
		cfg.JobTimeout = 500 * time.Millisecond
		ib := open(t, cfg)
		enqueue(t, ib, 61, "{}")
		markRunning(t, ib, 61, 1, time.Now().Add(-time.Minute))
		if st, _ := ib.Status(context.Background(), 61); st.State != StateProcessing {
			t.Fatalf("state %q after marking", st.State)
		}
		start(t, ib)
		st := waitState(t, ib, 61, StateDone)
		if st.Attempts != 2 {
			t.Errorf("attempts %d, want 2", st.Attempts)
		}
		if job := jobOf(t, ib, 61); len(job.Errors) != 1 {
			t.Errorf("errors %+v, want the rescue recorded", job.Errors)
		}
	})
}

// TestRequeueAtStartFailsARunOutOfAttempts: a run that killed its worker on
// its last attempt is failed, not run again (or a crash loop never ends).
func TestRequeueAtStartFailsARunOutOfAttempts(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	cfg := fast(Config{DataDir: t.TempDir()}, func(context.Context, int64, []byte) (Outcome, error) {
		calls.Add(1)
		return Outcome{Complete: true}, nil
	})
	cfg.MaxAttempts = 2
	ib := open(t, cfg)
	enqueue(t, ib, 62, "{}")
	markRunning(t, ib, 62, 2, time.Now())
	start(t, ib)
	st := waitState(t, ib, 62, StateFailed)
	if calls.Load() != 0 || !strings.Contains(st.LastError, "died") {
		t.Errorf("calls %d, status %+v", calls.Load(), st)
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		started := make(chan int64, 2)
		var calls atomic.Int32
		f := func(ctx context.Context, runID int64, _ []byte) (Outcome, error) {
			n := calls.Add(1)
			started <- runID
			if runID == 71 {
				time.Sleep(200 * time.Millisecond) // finishes within Stop's time
				return Outcome{Complete: true}, nil
			}
			if n > 2 {
				return Outcome{Complete: true}, nil
			}
			<-ctx.Done() // run 72 only ends when cancelled
			return Outcome{Retryable: true, Errors: []string{"canceled"}}, ctx.Err()
		}
		ib := open(t, fast(store(t), f))
		enqueue(t, ib, 71, "{}")
		enqueue(t, ib, 72, "{}")
		start(t, ib)
		<-started
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := ib.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Stop: %v, want the deadline (it had to cancel run 72)", err)
		}
		if st, _ := ib.Status(context.Background(), 71); st.State != StateDone {
			t.Errorf("run 71 (finished within the stop time): %+v", st)
		}
		st, _ := ib.Status(context.Background(), 72)
		if st.State != StateQueued || st.Attempts != 0 {
			// a snooze gives its attempt back
			t.Errorf("run 72 after a cancelling stop: %+v, want queued with no attempt spent", st)
		}
		ib.Close()
		// The next start runs it again.
		ib2 := open(t, fast(store(t), f))
		start(t, ib2)
		waitState(t, ib2, 72, StateDone)
	})
}

func TestSQLiteDataDirIsLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	noop := func(context.Context, int64, []byte) (Outcome, error) { return Outcome{Complete: true}, nil }
	a := open(t, fast(Config{DataDir: dir}, noop))
	start(t, a)
	b := open(t, fast(Config{DataDir: dir}, noop))
	if err := b.Start(context.Background()); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Start on one data dir: %v, want ErrLocked", err)
	}
	// Operations without a server still work beside the running one.
	enqueue(t, b, 81, "{}")
	waitState(t, a, 81, StateDone)
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	start(t, b)
}

func TestRetention(t *testing.T) {
	t.Parallel()
	cfg, err := Config{DataDir: "x"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rc := riverConfig(cfg, &worker{})
	if rc.CompletedJobRetentionPeriod != 30*24*time.Hour || rc.CancelledJobRetentionPeriod != rc.CompletedJobRetentionPeriod || rc.DiscardedJobRetentionPeriod != rc.CompletedJobRetentionPeriod {
		t.Errorf("retention: completed %s, cancelled %s, discarded %s; want 30 days each",
			rc.CompletedJobRetentionPeriod, rc.CancelledJobRetentionPeriod, rc.DiscardedJobRetentionPeriod)
	}
	if rc.JobTimeout != 30*time.Minute || rc.RescueStuckJobsAfter < rc.JobTimeout || rc.MaxAttempts != 5 {
		t.Errorf("job timeout %s, rescue after %s, max attempts %d", rc.JobTimeout, rc.RescueStuckJobsAfter, rc.MaxAttempts)
	}
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		cfg := store(t)
		cfg.Retention = time.Hour
		ib := open(t, cfg)
		enqueue(t, ib, 91, "old")
		enqueue(t, ib, 92, "young")
		// River's cleaner removes a job past retention; the sweep then
		// removes its payload, and only when it is past retention too.
		for _, id := range []int64{91, 92} {
			if _, err := clientDelete(t, ib, jobOf(t, ib, id).ID); err != nil {
				t.Fatal(err)
			}
		}
		n, err := ib.b.sweep(context.Background(), time.Now().Add(time.Minute))
		if err != nil || n != 2 {
			t.Errorf("sweep: %d, %v; want 2 payloads removed", n, err)
		}
		// A re-delivery after the cleanup is a new run again.
		if r := enqueue(t, ib, 91, "again"); r.Duplicate {
			t.Errorf("re-delivery after cleanup: %+v", r)
		}
		n, err = ib.b.sweep(context.Background(), time.Now().Add(-time.Hour))
		if err != nil || n != 0 {
			t.Errorf("sweep of young payloads: %d, %v", n, err)
		}
	})
}

func TestConfigBounds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "data dir or a PostgreSQL URL"},
		{Config{PostgresURL: "mysql://x"}, "postgres://"},
		{Config{DataDir: "d", Workers: -1}, "workers -1"},
		{Config{DataDir: "d", Workers: 1000}, "workers 1000"},
		{Config{DataDir: "d", MaxAttempts: 101}, "max attempts"},
		{Config{DataDir: "d", JobTimeout: time.Millisecond}, "job timeout"},
		{Config{DataDir: "d", JobTimeout: time.Minute, RescueAfter: time.Second}, "rescue after"},
		{Config{DataDir: "d", Retention: time.Second}, "retention"},
		{Config{DataDir: "d", GroupCommitWindow: time.Hour}, "group commit window"},
		{Config{DataDir: "d", MaxBatch: -5}, "max batch"},
		{Config{DataDir: "d", FetchPollInterval: time.Hour}, "fetch poll interval"},
	} {
		_, err := Open(context.Background(), tt.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%+v): %v, want a ConfigError about %q", tt.cfg, err, tt.want)
		}
	}
	cfg, err := Config{DataDir: "d"}.withDefaults()
	if err != nil || cfg.Workers != 2 || cfg.MaxAttempts != 5 || cfg.JobTimeout != 30*time.Minute ||
		cfg.RescueAfter != 33*time.Minute || cfg.Retention != 30*24*time.Hour || cfg.GroupCommitWindow != 0 {
		t.Errorf("defaults %+v, %v", cfg, err)
	}
	ib := open(t, Config{DataDir: t.TempDir()})
	if err := ib.Start(context.Background()); err == nil {
		t.Error("Start without a follow-up: no error")
	}
}

func TestPostgresUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, Config{PostgresURL: "postgres://u:secretpw@127.0.0.1:1/db?connect_timeout=2"})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open on a closed port: %v, want ErrUnavailable", err)
	}
	if err != nil && strings.Contains(err.Error(), "secretpw") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestEnqueueAfterClose(t *testing.T) {
	t.Parallel()
	ib := open(t, Config{DataDir: t.TempDir()})
	ib.Close()
	if _, err := ib.Enqueue(context.Background(), 1, []byte("x")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Enqueue after Close: %v, want ErrUnavailable", err)
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	base := errors.New("host not allowed")
	err := fmt.Errorf("follow-up: %w", Permanent(base))
	if !IsPermanent(err) || !errors.Is(err, base) || err.Error() != "follow-up: host not allowed" {
		t.Errorf("Permanent: %v", err)
	}
	if IsPermanent(base) || Permanent(nil) != nil {
		t.Error("IsPermanent of a plain error, or Permanent(nil) not nil")
	}
}

// jobOf returns a run's River job row.
func jobOf(t *testing.T, ib *Inbox, runID int64) *rivertype.JobRow {
	t.Helper()
	var job *rivertype.JobRow
	var err error
	switch e := ib.b.(type) {
	case *engine[*sql.Tx]:
		job, err = e.job(context.Background(), runID)
	case *engine[pgx.Tx]:
		job, err = e.job(context.Background(), runID)
	}
	if err != nil || job == nil {
		t.Fatalf("job of run %d: %v", runID, err)
	}
	return job
}

func clientDelete(t *testing.T, ib *Inbox, id int64) (*rivertype.JobRow, error) {
	switch e := ib.b.(type) {
	case *engine[*sql.Tx]:
		return e.client.JobDelete(context.Background(), id)
	case *engine[pgx.Tx]:
		return e.client.JobDelete(context.Background(), id)
	}
	t.Fatal("unknown backend")
	return nil, nil
}

// markRunning leaves a run's job as a worker that died leaves it.
func markRunning(t *testing.T, ib *Inbox, runID int64, attempt int, at time.Time) {
	t.Helper()
	id := jobOf(t, ib, runID).ID
	p := &riverdriver.JobUpdateFullParams{ID: id, StateDoUpdate: true, State: rivertype.JobStateRunning,
		AttemptDoUpdate: true, Attempt: attempt, AttemptedAtDoUpdate: true, AttemptedAt: &at}
	var err error
	switch e := ib.b.(type) {
	case *engine[*sql.Tx]:
		_, err = e.driver.GetExecutor().JobUpdateFull(context.Background(), p)
	case *engine[pgx.Tx]:
		_, err = e.driver.GetExecutor().JobUpdateFull(context.Background(), p)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentOpen: replicas (or serve and the operator CLI) that start
// together migrate one database without tripping over each other.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, store func(*testing.T) Config) {
		cfg := store(t)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ib, err := Open(context.Background(), cfg)
				if err == nil {
					_, err = ib.Enqueue(context.Background(), int64(100+i), []byte("{}"))
					ib.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("open %d: %v", i, err)
			}
		}
	})
}

func TestIncompleteErrorIsBounded(t *testing.T) {
	t.Parallel()
	var errs []string
	for i := range 1000 {
		errs = append(errs, fmt.Sprintf("download/expired: resource %d: %s", i, strings.Repeat("é", 100)))
	}
	s := (&incompleteError{errs: errs}).Error()
	if len(s) > maxErrorBytes+100 || !strings.HasSuffix(s, "and 980 more (see the report)") {
		t.Errorf("%d bytes, ending %q", len(s), s[max(0, len(s)-60):])
	}
	if !utf8.ValidString(s) {
		t.Error("cut inside a character")
	}
	if got := (&incompleteError{errs: []string{"a", "b"}}).Error(); got != "follow-up incomplete: a; b" {
		t.Errorf("%q", got)
	}
}
