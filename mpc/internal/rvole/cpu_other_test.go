//go:build !unix

package rvole

import "time"

// processCPU is unavailable here; benchmarks report zero CPU time.
func processCPU() time.Duration { return 0 }
