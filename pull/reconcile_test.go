package pull_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/fetcher"
	"github.com/boltfetch/boltfetch/pull"
)

// memQueue is a queue unique by run id, as the inbox is.
type memQueue struct {
	mu       sync.Mutex
	payloads map[int64][]byte
	fail     map[int64]bool
}

func (q *memQueue) Known(_ context.Context, id int64) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.payloads[id]
	return ok, nil
}

func (q *memQueue) Enqueue(_ context.Context, id int64, payload []byte) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail[id] {
		return false, errors.New("queue unavailable")
	}
	if _, ok := q.payloads[id]; ok {
		return true, nil
	}
	q.payloads[id] = payload
	return false, nil
}

func TestReconcile(t *testing.T) {
	now := time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)
	// 12 runs, one every 5 minutes, the newest started 5 minutes ago (and
	// ended 30 s later): the two newest are within the 10m grace.
	runs := tiny(12, now.Add(-5*time.Minute))
	for i := range runs {
		runs[i].Start = now.Add(-time.Duration(12-i) * 5 * time.Minute)
		runs[i].End = runs[i].Start.Add(30 * time.Second)
	}
	runs[0].Status = "running"
	e := newEnv(t, runs)
	q := &memQueue{payloads: map[int64][]byte{}, fail: map[int64]bool{runs[1].ID: true}}
	// Webhooks arrived for half of the older runs.
	for i := 2; i < 10; i += 2 {
		q.payloads[runs[i].ID] = []byte("webhook")
	}
	opts := pull.ReconcileOptions{
		API: e.api, Queue: q, Schedules: []string{"hourly"}, Workspace: "tiny-ws", APIURL: e.fake.APIURL(),
		Now: func() time.Time { return now },
	}
	res, err := pull.Reconcile(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := pull.ReconcileResult{Listed: 12, NotFinished: 1, TooRecent: 2, Known: 4, Missed: 4, Failed: 1}
	if res != want {
		t.Errorf("first pass %+v, want %+v", res, want)
	}
	for i := 3; i < 10; i += 2 {
		p, ok := q.payloads[runs[i].ID]
		if !ok {
			t.Fatalf("run %d (missed) not enqueued", runs[i].ID)
		}
		fp, err := fetcher.ParsePayload(p)
		if err != nil || fetcher.RunFolder(fp) != "tiny-ws/hourly/"+itoa(runs[i].ID) {
			t.Errorf("run %d: enqueued payload %v, folder %s", runs[i].ID, err, fetcher.RunFolder(fp))
		}
	}
	if string(q.payloads[runs[2].ID]) != "webhook" {
		t.Error("a webhook's payload was replaced")
	}

	// Later: the grace has passed, the running run finished, the queue is
	// back. Everything is enqueued, nothing twice.
	now = now.Add(20 * time.Minute)
	delete(q.fail, runs[1].ID)
	if err := e.fake.SetRunStatus(runs[0].ID, "succeeded", time.Time{}); err != nil {
		t.Fatal(err)
	}
	res, err = pull.Reconcile(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want = pull.ReconcileResult{Listed: 12, Known: 8, Missed: 4}
	if res != want {
		t.Errorf("second pass %+v, want %+v", res, want)
	}
	if len(q.payloads) != 12 {
		t.Errorf("%d runs queued, want 12", len(q.payloads))
	}
	if _, err := pull.Reconcile(context.Background(), pull.ReconcileOptions{API: e.api, Queue: q}); !errors.Is(err, pull.ErrBadOptions) {
		t.Errorf("no schedule: %v", err)
	}
}
