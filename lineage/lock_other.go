//go:build !unix

package lineage

import (
	"os"
	"sync"
)

// appendMu serialises appends within the process where advisory file locks
// are not available: concurrent runs of one process still never interleave.
var appendMu sync.Mutex

func lockFile(f *os.File) error {
	appendMu.Lock()
	return nil
}

func unlockFile(f *os.File) error {
	appendMu.Unlock()
	return nil
}
