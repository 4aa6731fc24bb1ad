//go:build !unix

package inbox

import (
	"errors"
	"os"
)

// dirLock is a lock file created exclusively. Without flock, a crash leaves it
// behind: remove it by hand once no boltfetch process uses the data dir.
type dirLock struct{ path string }

func lockDir(path string) (*dirLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, dataDirInUse(path, nil)
		}
		return nil, dataDirInUse(path, err)
	}
	f.Close()
	return &dirLock{path: path}, nil
}

func (l *dirLock) unlock() { os.Remove(l.path) }
