package inbox

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Periodic is work the inbox runs every Every while it is started (the first
// pass at Start), as a River periodic job: on one process at a time, River's
// elected leader, so that replicas sharing a database do not all run it.
// serve's reconciler is one.
type Periodic struct {
	// Name identifies the task; unique among Config.Periodic.
	Name string
	// Every is the interval between passes (at least MinPeriodicEvery).
	Every time.Duration
	// Run does one pass, within Config.JobTimeout. An error is logged by
	// River and the pass is not retried: the next one runs at the next
	// interval.
	Run func(ctx context.Context) error
}

// MinPeriodicEvery is the shortest Periodic.Every.
const MinPeriodicEvery = 10 * time.Millisecond

// periodicKind and periodicQueue keep periodic passes apart from follow-ups:
// List, Depth and Status count only follow-ups, and a long pass never holds
// a follow-up worker.
const (
	periodicKind  = "boltfetch_periodic"
	periodicQueue = "boltfetch_periodic"
)

// periodicArgs name the task of one pass.
type periodicArgs struct {
	Name string `json:"name" river:"unique"`
}

// Kind names the job kind.
func (periodicArgs) Kind() string { return periodicKind }

// InsertOpts: one attempt, on the periodic queue, and at most one pass of a
// task waiting or running at a time (a slow pass is not stacked up).
func (periodicArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue: periodicQueue, MaxAttempts: 1,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}},
	}
}

type periodicWorker struct {
	river.WorkerDefaults[periodicArgs]
	tasks map[string]Periodic
}

func (w *periodicWorker) Work(ctx context.Context, job *river.Job[periodicArgs]) error {
	t, ok := w.tasks[job.Args.Name]
	if !ok {
		return river.JobCancel(fmt.Errorf("inbox: no periodic task %q in this process", job.Args.Name))
	}
	return t.Run(ctx)
}

// checkPeriodic returns the problems of Config.Periodic.
func checkPeriodic(ps []Periodic) []string {
	var p []string
	seen := map[string]bool{}
	for _, t := range ps {
		switch {
		case t.Name == "" || seen[t.Name]:
			p = append(p, fmt.Sprintf("periodic task %q: want a unique, non-empty name", t.Name))
		case t.Run == nil:
			p = append(p, fmt.Sprintf("periodic task %q: no function", t.Name))
		case t.Every < MinPeriodicEvery:
			p = append(p, fmt.Sprintf("periodic task %q every %s: want at least %s", t.Name, t.Every, MinPeriodicEvery))
		}
		seen[t.Name] = true
	}
	return p
}

// addPeriodic registers cfg's periodic tasks on a River config that runs
// workers.
func addPeriodic(rc *river.Config, workers *river.Workers, ps []Periodic) {
	if len(ps) == 0 {
		return
	}
	w := &periodicWorker{tasks: make(map[string]Periodic, len(ps))}
	for _, t := range ps {
		w.tasks[t.Name] = t
		name := t.Name
		rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(
			river.PeriodicInterval(t.Every),
			func() (river.JobArgs, *river.InsertOpts) { return periodicArgs{Name: name}, nil },
			&river.PeriodicJobOpts{RunOnStart: true},
		))
	}
	river.AddWorker(workers, w)
	rc.Queues[periodicQueue] = river.QueueConfig{MaxWorkers: 1}
}
