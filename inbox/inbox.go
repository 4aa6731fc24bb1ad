package inbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Inbox is the durable queue of accepted deliveries: one River job per Bolt
// run, its payload stored byte-exact beside it. Open it, Start it to run
// follow-ups, Stop it to drain, Close it to release the database. Enqueue,
// Status, List, Depth, Ping and Retry work without Start (the operator CLI
// uses them on an inbox no server is running).
type Inbox struct {
	cfg        Config
	b          backend
	sqlite     bool
	cancelling atomic.Bool

	reqs     chan *enqueueReq
	quit     chan struct{}
	loopDone chan struct{}

	mu       sync.Mutex
	started  bool
	lock     *dirLock
	sweepEnd context.CancelFunc
	sweepWG  sync.WaitGroup
	closed   bool
	uiCtx    context.Context
	uiEnd    context.CancelFunc
}

// enqueueReq is one Enqueue waiting for its group commit.
type enqueueReq struct {
	runID   int64
	payload []byte
	res     EnqueueResult
	err     error
	done    chan struct{}
}

// Open opens the inbox that cfg names (the SQLite data dir, or PostgreSQL),
// running River's migrations and creating the payload table if needed.
func Open(ctx context.Context, cfg Config) (*Inbox, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ib := &Inbox{
		cfg:      cfg,
		reqs:     make(chan *enqueueReq, cfg.MaxBatch),
		quit:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	w := &worker{followUp: cfg.FollowUp, cancelling: &ib.cancelling}
	if cfg.PostgresURL != "" {
		e, err := openPostgres(ctx, cfg, w)
		if err != nil {
			return nil, err
		}
		ib.b, w.payload = e, e.payload
	} else {
		e, err := openSQLite(ctx, cfg, w)
		if err != nil {
			return nil, err
		}
		ib.b, w.payload, ib.sqlite = e, e.payload, true
	}
	go ib.commitLoop()
	return ib, nil
}

// Enqueue records one delivery of runID and returns once the transaction
// holding it has committed durably. Deliveries that queue up while another
// commit runs (or within Config.GroupCommitWindow) share one transaction. A
// run the inbox already knows, in any state, is a duplicate: its payload is
// not replaced and the result carries the existing run's state.
func (ib *Inbox) Enqueue(ctx context.Context, runID int64, payload []byte) (EnqueueResult, error) {
	r := &enqueueReq{runID: runID, payload: payload, done: make(chan struct{})}
	select {
	case <-ib.quit:
		return EnqueueResult{}, fmt.Errorf("%w: the inbox is closed", ErrUnavailable)
	default:
	}
	select {
	case ib.reqs <- r:
	case <-ib.quit:
		return EnqueueResult{}, fmt.Errorf("%w: the inbox is closed", ErrUnavailable)
	case <-ctx.Done():
		return EnqueueResult{}, ctx.Err()
	}
	select {
	case <-r.done:
		return r.res, r.err
	case <-ib.loopDone:
		select {
		case <-r.done:
			return r.res, r.err
		default:
			return EnqueueResult{}, fmt.Errorf("%w: the inbox is closed", ErrUnavailable)
		}
	case <-ctx.Done():
		// The delivery may still commit; a re-delivery is then a duplicate.
		return EnqueueResult{}, ctx.Err()
	}
}

// commitLoop collects Enqueue requests into batches and commits each batch
// in one transaction.
func (ib *Inbox) commitLoop() {
	defer close(ib.loopDone)
	batch := make([]*enqueueReq, 0, ib.cfg.MaxBatch)
	for {
		var first *enqueueReq
		select {
		case first = <-ib.reqs:
		case <-ib.quit:
			ib.drainClosed()
			return
		}
		batch = append(batch[:0], first)
		if w := ib.cfg.GroupCommitWindow; w > 0 {
			timer := time.NewTimer(w)
		collect:
			for len(batch) < ib.cfg.MaxBatch {
				select {
				case r := <-ib.reqs:
					batch = append(batch, r)
				case <-timer.C:
					break collect
				}
			}
			timer.Stop()
		}
		// Take what queued up meanwhile (during the previous commit, or the
		// window), without waiting: with no window this is natural batching.
	more:
		for len(batch) < ib.cfg.MaxBatch {
			select {
			case r := <-ib.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		ib.commit(batch)
	}
}

// commit inserts one batch and answers its callers.
func (ib *Inbox) commit(batch []*enqueueReq) {
	// The callers' contexts are theirs: a caller that gave up must not abort
	// the transaction of the others.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := ib.b.insertBatch(ctx, batch)
	if err != nil {
		err = unavailable(err)
		ib.cfg.Logger.Error("inbox: group commit failed", "deliveries", len(batch), "error", err)
	}
	for _, r := range batch {
		if err != nil {
			r.err = err
		}
		close(r.done)
	}
}

// drainClosed answers the requests left when the inbox closes.
func (ib *Inbox) drainClosed() {
	for {
		select {
		case r := <-ib.reqs:
			r.err = fmt.Errorf("%w: the inbox is closed", ErrUnavailable)
			close(r.done)
		default:
			return
		}
	}
}

// Status returns the status of one run, or ErrNotFound.
func (ib *Inbox) Status(ctx context.Context, runID int64) (RunStatus, error) {
	return ib.b.status(ctx, runID)
}

// List returns up to limit runs in state ("" for all), newest first. A limit
// below 1 means 50; it is capped at 10,000.
func (ib *Inbox) List(ctx context.Context, state State, limit int) ([]RunStatus, error) {
	switch state {
	case "", StateQueued, StateProcessing, StateDone, StateFailed:
	default:
		return nil, fmt.Errorf("inbox: unknown state %q (want queued, processing, done or failed)", state)
	}
	if limit < 1 {
		limit = 50
	}
	return ib.b.list(ctx, state, min(limit, 10000))
}

// Depth counts the runs in each state (every state is present, maybe 0).
func (ib *Inbox) Depth(ctx context.Context) (map[State]int, error) {
	return ib.b.depth(ctx)
}

// Ping checks that the database answers; it returns ErrUnavailable if not.
func (ib *Inbox) Ping(ctx context.Context) error {
	return ib.b.ping(ctx)
}

// Retry makes a known run available to be followed up again at once, whatever
// its state (done, failed, or waiting for a retry), keeping its stored
// payload. It returns ErrNotFound for an unknown run and ErrRunning for a run
// being followed up now. A run that had used all its attempts gets one more.
func (ib *Inbox) Retry(ctx context.Context, runID int64) (RunStatus, error) {
	return ib.b.retry(ctx, runID)
}

// Start runs the workers. With the SQLite inbox it first takes the data dir's
// lock (ErrLocked if another process holds it) and requeues at once every run
// that a dead predecessor left processing. The work runs until Stop, whatever
// becomes of ctx.
func (ib *Inbox) Start(ctx context.Context) error {
	if ib.cfg.FollowUp == nil {
		return errNoFollowUp
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if ib.closed {
		return fmt.Errorf("%w: the inbox is closed", ErrUnavailable)
	}
	if ib.started {
		return nil
	}
	if ib.sqlite {
		l, err := lockDir(filepath.Join(ib.cfg.DataDir, lockFile))
		if err != nil {
			return err
		}
		n, err := ib.b.requeueRunning(ctx, "the previous process died while following this run up; requeued at start")
		if err != nil {
			l.unlock()
			return unavailable(err)
		}
		if n > 0 {
			ib.cfg.Logger.Warn("inbox: requeued runs left processing by a previous process", "runs", n)
		}
		ib.lock = l
	}
	if err := ib.b.start(context.WithoutCancel(ctx)); err != nil {
		if ib.lock != nil {
			ib.lock.unlock()
			ib.lock = nil
		}
		return fmt.Errorf("inbox: start: %w", err)
	}
	ib.started = true
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ib.sweepEnd = cancel
	ib.sweepWG.Add(1)
	go ib.sweepLoop(sctx)
	return nil
}

// sweepLoop deletes the payloads of runs that River's cleaner removed after
// the retention period.
func (ib *Inbox) sweepLoop(ctx context.Context) {
	defer ib.sweepWG.Done()
	every := min(ib.cfg.Retention, time.Hour)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := ib.b.sweep(ctx, time.Now().Add(-ib.cfg.Retention)); err != nil && ctx.Err() == nil {
			ib.cfg.Logger.Warn("inbox: sweeping old payloads failed", "error", err)
		} else if n > 0 {
			ib.cfg.Logger.Info("inbox: swept payloads past retention", "runs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop stops taking new runs and lets running follow-ups finish until ctx
// ends; then it cancels them, waits up to CancelGrace for them to return, and
// leaves them queued to run again at the next start (without spending an
// attempt). It returns ctx's error if it had to cancel.
func (ib *Inbox) Stop(ctx context.Context) error {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if !ib.started {
		return nil
	}
	ib.started = false
	defer func() {
		ib.sweepEnd()
		ib.sweepWG.Wait()
		if ib.lock != nil {
			ib.lock.unlock()
			ib.lock = nil
		}
	}()
	err := ib.b.stop(ctx)
	if err == nil {
		return nil
	}
	ib.cancelling.Store(true)
	defer ib.cancelling.Store(false)
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CancelGrace)
	defer cancel()
	if herr := ib.b.stopAndCancel(hctx); herr != nil {
		return fmt.Errorf("inbox: follow-ups did not return within %s of being cancelled: %w", CancelGrace, herr)
	}
	return err
}

// Close stops the inbox if it runs (cancelling running follow-ups at once),
// answers pending Enqueue calls with ErrUnavailable, and closes the database.
func (ib *Inbox) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = ib.Stop(ctx)
	ib.mu.Lock()
	if ib.closed {
		ib.mu.Unlock()
		return nil
	}
	ib.closed = true
	ib.mu.Unlock()
	if ib.uiEnd != nil {
		ib.uiEnd()
	}
	close(ib.quit)
	<-ib.loopDone
	return ib.b.close()
}

// dataDirInUse wraps ErrLocked with the lock file's path.
func dataDirInUse(path string, err error) error {
	if err != nil && !errors.Is(err, ErrLocked) {
		return fmt.Errorf("inbox: lock %s: %w", path, err)
	}
	return fmt.Errorf("%w (%s)", ErrLocked, path)
}
