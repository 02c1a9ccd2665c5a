//go:build !unix

package ot

import "time"

// processCPU is unavailable here; benchmarks report zero CPU time.
func processCPU() time.Duration { return 0 }
