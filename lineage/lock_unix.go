//go:build unix

package lineage

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f, waiting for it: other
// boltfetch processes appending to the same file wait their turn.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
