package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/webhook"
)

// inboxDrivers opens a real inbox on each database: SQLite in a temporary
// data dir always, and PostgreSQL (in a schema of its own) when
// BOLTFETCH_TEST_POSTGRES is set.
func inboxDrivers(t *testing.T) map[string]func(t *testing.T) *inbox.Inbox {
	open := func(t *testing.T, cfg inbox.Config) *inbox.Inbox {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ib, err := inbox.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ib.Close() })
		return ib
	}
	drivers := map[string]func(t *testing.T) *inbox.Inbox{
		"sqlite": func(t *testing.T) *inbox.Inbox { return open(t, inbox.Config{DataDir: t.TempDir()}) },
	}
	if dsn := os.Getenv("BOLTFETCH_TEST_POSTGRES"); dsn != "" {
		drivers["postgres"] = func(t *testing.T) *inbox.Inbox {
			return open(t, inbox.Config{PostgresURL: testSchema(t, dsn)})
		}
	}
	return drivers
}

// testSchema creates a schema for this test alone and returns a DSN that
// selects it; the schema is dropped when the test ends.
func testSchema(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("BOLTFETCH_TEST_POSTGRES: %v", err)
	}
	schema := fmt.Sprintf("webhook_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestIntakeOnRealInbox: the duplicate contract (20 concurrent posts of one
// payload: one 202, nineteen 200s, one run) and the status endpoints on the
// real inbox, on each database; then, with the inbox closed, deliveries get
// 503 and /readyz fails while /healthz stays up.
func TestIntakeOnRealInbox(t *testing.T) {
	t.Parallel()
	for name, open := range inboxDrivers(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ib := open(t)
			// Short, so that a delivery the closed inbox never answers
			// costs the test 2 s, not the default 20 s.
			h := newHandler(t, ib, func(c *webhook.Config) { c.EnqueueTimeout = 2 * time.Second })

			accepted, dups := postConcurrently(t, h, completedPayload(t, 424242), 20)
			if accepted != 1 || dups != 19 {
				t.Fatalf("%d accepted and %d duplicates, want 1 and 19", accepted, dups)
			}
			if w := do(h, request{body: completedPayload(t, 424243), header: bearer(testToken)}); w.Code != 202 {
				t.Fatalf("second run: %d %s", w.Code, w.Body.String())
			}
			w := do(h, request{method: http.MethodGet, target: "/runs/424242", header: bearer(testToken)})
			m := decodeBody(t, w)
			if w.Code != 200 || m["run_id"] != 424242.0 || m["state"] != "queued" {
				t.Fatalf("/runs/424242: %d %s", w.Code, w.Body.String())
			}
			if w := do(h, request{method: http.MethodGet, target: "/runs/1", header: bearer(testToken)}); w.Code != 404 {
				t.Fatalf("/runs/1: %d %s", w.Code, w.Body.String())
			}
			w = do(h, request{method: http.MethodGet, target: "/runs?state=queued&limit=50", header: bearer(testToken)})
			if w.Code != 200 || strings.Count(w.Body.String(), `"run_id"`) != 2 {
				t.Fatalf("/runs: %d %s", w.Code, w.Body.String())
			}
			text := scrape(t, h)
			if got := metricValue(t, text, `boltfetch_inbox_runs{state="queued"}`); got != "2" {
				t.Errorf("queued depth %s, want 2", got)
			}
			if do(h, request{method: http.MethodGet, target: "/readyz"}).Code != 200 {
				t.Fatal("/readyz fails on an open inbox")
			}

			if err := ib.Close(); err != nil {
				t.Fatal(err)
			}
			if w := do(h, request{body: completedPayload(t, 424244), header: bearer(testToken)}); w.Code != 503 {
				t.Errorf("delivery to a closed inbox: %d %s", w.Code, w.Body.String())
			}
			time.Sleep(1100 * time.Millisecond) // past the reuse of the last ping
			if do(h, request{method: http.MethodGet, target: "/readyz"}).Code != 503 {
				t.Error("/readyz passes on a closed inbox")
			}
			if do(h, request{method: http.MethodGet, target: "/healthz"}).Code != 200 {
				t.Error("/healthz fails")
			}
		})
	}
}

var _ webhook.Queue = (*inbox.Inbox)(nil)
