package fetcher

import (
	"context"
	"sync"

	"github.com/boltfetch/boltfetch/archive"
)

// lockRun takes the lock of a run's folder for the whole follow-up: through
// the store when it is an archive.Locker (across processes, and sweeping the
// temp files of writers that died), else in this process only. Every
// record in the folder (command.json, report.json) is read, merged and
// written under it, so two follow-ups of one run, side by side or one after
// a crash, never lose what the other recorded; the second one then finds the
// first one's files archived and fetches only what is missing.
func lockRun(ctx context.Context, store archive.Store, folder string) (func(), error) {
	if l, ok := store.(archive.Locker); ok {
		return l.Lock(ctx, folder)
	}
	return processLocks.lock(ctx, store.Location()+"\x00"+folder)
}

// processLocks serialises follow-ups of one folder in this process, for
// stores that have no lock of their own.
var processLocks = keyedLocks{held: map[string]chan struct{}{}}

type keyedLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	for {
		k.mu.Lock()
		ch, busy := k.held[key]
		if !busy {
			ch = make(chan struct{})
			k.held[key] = ch
			k.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					k.mu.Lock()
					delete(k.held, key)
					close(ch)
					k.mu.Unlock()
				})
			}, nil
		}
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
