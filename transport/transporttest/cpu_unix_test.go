//go:build unix

package transporttest_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) this process has used, so
// benchmarks can report cost per operation that a loaded machine does not
// inflate the way it inflates wall-clock time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
