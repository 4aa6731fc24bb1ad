//go:build unix

package inbox

import (
	"errors"
	"os"
	"syscall"
)

// dirLock is an exclusive lock on a file in the data dir, held while the
// process runs workers; the kernel releases it when the process dies, so a
// crash never leaves a stale lock.
type dirLock struct{ f *os.File }

func lockDir(path string) (*dirLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, dataDirInUse(path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, dataDirInUse(path, nil)
		}
		return nil, dataDirInUse(path, err)
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) unlock() {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
	l.f.Close()
}
