package inbox_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/boltfetch/boltfetch/inbox"
)

// Example receives two deliveries of one run and a second run, follows both
// up with two workers, and reads their status, as `boltfetch serve` does with
// the embedded SQLite inbox.
func Example() {
	dir, err := os.MkdirTemp("", "inbox-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	done := make(chan int64, 2)
	ctx := context.Background()
	ib, err := inbox.Open(ctx, inbox.Config{
		DataDir: dir, // or PostgresURL: "postgres://…" for several replicas
		Workers: 2,
		FollowUp: func(ctx context.Context, runID int64, payload []byte) (inbox.Outcome, error) {
			// cmd wires fetcher.Fetch here; a permanent problem (a payload
			// that cannot be used) is returned as inbox.Permanent(err).
			defer func() { done <- runID }()
			return inbox.Outcome{Complete: true, Report: fmt.Sprintf("ws/daily/%d/report.json", runID)}, nil
		},
		FetchPollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer ib.Close()

	for _, d := range []struct {
		run     int64
		payload string
	}{{63187, `{"event":"bolt.run.completed"}`}, {63187, `{"event":"bolt.run.completed"}`}, {63188, `{}`}} {
		res, err := ib.Enqueue(ctx, d.run, []byte(d.payload)) // returns after a durable commit
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: %s, duplicate %v\n", res.RunID, res.State, res.Duplicate)
	}

	if err := ib.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-done
	<-done
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ib.Stop(stopCtx); err != nil { // running follow-ups finish first
		log.Fatal(err)
	}
	st, err := ib.Status(ctx, 63187)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("run %d: %s after %d attempt, report %s\n", st.RunID, st.State, st.Attempts, st.Report)
	depth, err := ib.Depth(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("done:", depth[inbox.StateDone], "queued:", depth[inbox.StateQueued])
	// Output:
	// run 63187: queued, duplicate false
	// run 63187: queued, duplicate true
	// run 63188: queued, duplicate false
	// run 63187: done after 1 attempt, report ws/daily/63187/report.json
	// done: 2 queued: 0
}
