//go:build unix

package fetcher

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) this process has used, so a
// benchmark on a shared machine can report CPU per operation beside wall
// time.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
