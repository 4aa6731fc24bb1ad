package pull_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/internal/fakebolt"
	"github.com/boltfetch/boltfetch/pull"
)

// TestReconcileWithInbox: webhooks arrive for only half of 40 runs (five of
// them also while the reconciler runs); after one shortened reconcile
// period every run is done, and none was followed up twice (the fake's
// download counter).
func TestReconcileWithInbox(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testReconcileWithInbox(t, inbox.Config{DataDir: t.TempDir()}) })
	t.Run("postgres", func(t *testing.T) { testReconcileWithInbox(t, pgInbox(t)) })
}

// pgInbox returns an inbox config in a fresh schema of the database
// BOLTFETCH_TEST_POSTGRES names, or skips.
func pgInbox(t *testing.T) inbox.Config {
	t.Helper()
	dsn := os.Getenv("BOLTFETCH_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("BOLTFETCH_TEST_POSTGRES is not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "pull_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to BOLTFETCH_TEST_POSTGRES: %v", err)
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
		_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return inbox.Config{PostgresURL: u.String()}
}

func testReconcileWithInbox(t *testing.T, store inbox.Config) {
	const n = 40
	// One a minute, the newest an hour ago: all past the grace, all within
	// the lookback.
	runs := fakebolt.TinyRuns(fakebolt.TinyRunsOptions{
		N: n, Schedule: "hourly", Newest: time.Now().Add(-time.Hour).UTC(), Every: time.Minute,
		Manifest: tinyManifest, RunResults: tinyRunResults, Status: "failed",
	})
	e := newEnv(t, runs)
	ctx := context.Background()
	var (
		ib     *inbox.Inbox
		missed atomic.Int64
		passes atomic.Int64
	)
	const period = 500 * time.Millisecond
	cfg := store
	cfg.FetchPollInterval = 20 * time.Millisecond
	ib, err := inbox.Open(ctx, inbox.Config{
		DataDir:           cfg.DataDir,
		PostgresURL:       cfg.PostgresURL,
		FetchPollInterval: cfg.FetchPollInterval,
		Workers:           4,
		FollowUp: func(ctx context.Context, runID int64, payload []byte) (inbox.Outcome, error) {
			rep, err := fetcher.Fetch(ctx, bytes.NewReader(payload), fetcher.Options{Client: e.api, Archive: e.store})
			if err != nil {
				return inbox.Outcome{}, inbox.Permanent(err)
			}
			return inbox.Outcome{Complete: rep.Summary.Complete, Report: rep.Archive.Folder + "/report.json"}, nil
		},
		Periodic: []inbox.Periodic{{Name: "reconcile", Every: period, Run: func(ctx context.Context) error {
			res, err := pull.Reconcile(ctx, pull.ReconcileOptions{
				API: e.api, Queue: pull.InboxQueue(ib), Schedules: []string{"hourly"}, Workspace: "tiny-ws", APIURL: e.fake.APIURL(),
			})
			missed.Add(int64(res.Missed))
			passes.Add(1)
			return err
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ib.Close() })

	webhook := func(r int) {
		raw, err := e.fake.CompletedPayload(runs[r].ID)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := ib.Enqueue(ctx, runs[r].ID, raw); err != nil {
			t.Error(err)
		}
	}
	for r := 0; r < n; r += 2 { // the webhooks of half the runs
		webhook(r)
	}
	began := time.Now()
	if err := ib.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = ib.Stop(sctx)
	}()
	for r := 1; r < 10; r += 2 { // five late webhooks race the reconciler
		webhook(r)
	}

	deadline := time.Now().Add(90 * time.Second)
	for {
		done := 0
		for _, r := range runs {
			st, err := ib.Status(ctx, r.ID)
			if err == nil && st.State == inbox.StateDone {
				done++
			}
			if err == nil && st.State == inbox.StateFailed {
				t.Fatalf("run %d failed: %s", r.ID, st.LastError)
			}
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			for _, r := range runs {
				st, err := ib.Status(ctx, r.ID)
				if err != nil || st.State != inbox.StateDone {
					t.Logf("run %d: %+v %v", r.ID, st, err)
				}
			}
			t.Fatalf("%d of %d runs done after %s (%d reconcile passes)", done, n, time.Since(began), passes.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("all %d runs done %s after start; %d reconcile passes", n, time.Since(began).Round(time.Millisecond), passes.Load())
	if got := missed.Load(); got < n/2-5 || got > n/2 {
		t.Errorf("the reconciler enqueued %d runs, want the 15 to 20 the webhooks missed", got)
	}
	// Two artifacts per run, each downloaded once.
	if got := e.fake.Stats().Requests["download"]; got != 2*n {
		t.Errorf("%d downloads for %d runs: some run was followed up twice (or not at all)", got, n)
	}
}
