package main

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/inbox"
	"github.com/boltfetch/boltfetch/internal/safetext"
)

// TestLineageErrorLineIsSafe: a lineage error quotes outside text (an
// endpoint's answer, a payload's command id); every hostile string comes out
// on one line with no raw control.
func TestLineageErrorLineIsSafe(t *testing.T) {
	t.Parallel()
	for _, h := range safetext.Hostile {
		var e fetcher.ItemError
		safetext.FillStrings(reflect.ValueOf(&e), h)
		var b bytes.Buffer
		printLineageError(&b, e)
		out := b.String()
		if bad, ok := safetext.Clean(out, "\n"); !ok || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
			t.Errorf("%q: printed %q (raw %q)", h, out, bad)
		}
	}
}

// TestInboxListIsSafe: a run's last error quotes outside text; `inbox list`
// prints each run on one line with no raw control.
func TestInboxListIsSafe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	ib, err := inbox.Open(ctx, inbox.Config{
		DataDir:           dir,
		MaxAttempts:       1,
		FetchPollInterval: 20 * time.Millisecond,
		FollowUp: func(_ context.Context, runID int64, _ []byte) (inbox.Outcome, error) {
			return inbox.Outcome{}, errors.New("endpoint said: " + safetext.Hostile[runID-1])
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ib.Close()
	for i := range safetext.Hostile {
		if _, err := ib.Enqueue(ctx, int64(i+1), []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	if err := ib.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		runs, err := ib.List(ctx, inbox.StateFailed, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == len(safetext.Hostile) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runs failed", len(runs), len(safetext.Hostile))
		}
		time.Sleep(20 * time.Millisecond)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"inbox", "list", "--data-dir", dir}, &iostreams{Out: &out, Err: &errb, Getenv: func(string) string { return "" }}); code != 0 {
		t.Fatalf("inbox list: %d %s", code, errb.String())
	}
	if bad, ok := safetext.Clean(out.String(), "\n"); !ok {
		t.Errorf("raw %q in:\n%s", bad, out.String())
	}
	if n := strings.Count(out.String(), "\n"); n != len(safetext.Hostile)+1 {
		t.Errorf("%d lines for %d runs:\n%s", n, len(safetext.Hostile), out.String())
	}
}
