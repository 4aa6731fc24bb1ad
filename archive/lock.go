package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"time"
)

// Locker is implemented by stores that can serialise the writers of one
// folder, across processes where the store allows it. Writers that hold a
// folder's lock can read, merge and rewrite the records in it without losing
// what another writer recorded.
type Locker interface {
	// Lock waits until it holds the exclusive lock of folder (a clean key),
	// or until ctx ends. Once it holds the lock, Lock removes the temp files
	// that writers which died left in folder and below: a live writer of
	// that folder would hold the lock. Locks of a folder and of a folder
	// inside it do not exclude each other; the sweep of the outer one skips
	// any folder that has a lock of its own. unlock releases the lock; it
	// may be called more than once.
	Lock(ctx context.Context, folder string) (unlock func(), err error)
}

// LockName is the file that holds a folder's lock in a Local store. It is
// kept after use: removing it could let two writers lock two different files.
const LockName = ".boltfetch.lock"

// lockPoll bounds the wait between two tries at a lock held by another
// process (flock cannot wait on a context).
const lockPoll = 50 * time.Millisecond

// localLocks serialises the Lock calls of this process on one folder of one
// archive, whichever *Local they go through, before the file lock is tried.
var localLocks = struct {
	sync.Mutex
	held map[string]chan struct{}
}{held: map[string]chan struct{}{}}

// Lock implements Locker with a lock file, LockName in folder: an flock on
// Unix, held for as long as the lock. A process killed while holding it
// releases it with its open files.
func (l *Local) Lock(ctx context.Context, folder string) (func(), error) {
	if err := CheckKey(folder); err != nil {
		return nil, err
	}
	id := l.dir + "\x00" + folder
	// In-process first: a channel per held folder, closed on unlock.
	for {
		localLocks.Lock()
		ch, busy := localLocks.held[id]
		if !busy {
			localLocks.held[id] = make(chan struct{})
			localLocks.Unlock()
			break
		}
		localLocks.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	releaseLocal := func() {
		localLocks.Lock()
		close(localLocks.held[id])
		delete(localLocks.held, id)
		localLocks.Unlock()
	}
	f, err := l.openLockFile(folder)
	if err != nil {
		releaseLocal()
		return nil, err
	}
	wait := 5 * time.Millisecond
	for {
		ok, err := tryLockFile(f)
		if err != nil {
			f.Close()
			releaseLocal()
			return nil, fmt.Errorf("archive: lock %s: %w", folder, err)
		}
		if ok {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			f.Close()
			releaseLocal()
			return nil, ctx.Err()
		}
		wait = min(2*wait, lockPoll)
	}
	var once sync.Once
	unlock := func() {
		once.Do(func() {
			f.Close() // releases the flock
			releaseLocal()
		})
	}
	if err := l.sweep(folder); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// openLockFile opens (creating it and its folder) the lock file of folder,
// refusing symbolic links on the way.
func (l *Local) openLockFile(folder string) (*os.File, error) {
	key := folder + "/" + LockName
	if err := l.checkNoSymlinks(key); err != nil {
		return nil, err
	}
	if err := l.root.MkdirAll(folder, 0o755); err != nil {
		return nil, fmt.Errorf("archive: create folder %s: %w", folder, err)
	}
	f, err := l.root.OpenFile(key, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("archive: open lock %s: %w", key, err)
	}
	return f, nil
}

// sweep removes the temp files under folder, skipping folders that have a
// lock of their own. It runs with folder's lock held, so no live writer owns
// them.
func (l *Local) sweep(folder string) error {
	var errs []error
	err := fs.WalkDir(l.root.FS(), folder, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			errs = append(errs, err)
			return nil
		}
		if d.IsDir() {
			if p != folder {
				if _, err := l.root.Lstat(p + "/" + LockName); err == nil {
					return fs.SkipDir
				}
			}
			return nil
		}
		if d.Type().IsRegular() && strings.HasPrefix(d.Name(), tempPrefix) {
			if err := l.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("archive: remove stale temp files in %s: %w", folder, errors.Join(errs...))
	}
	return nil
}

// isLockName reports whether key names a lock file, which no Create may
// replace.
func isLockName(key string) bool { return path.Base(key) == LockName }
