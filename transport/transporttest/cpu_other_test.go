//go:build !unix

package transporttest_test

import "time"

// cpuTime is not measured on this platform.
func cpuTime() time.Duration { return 0 }
