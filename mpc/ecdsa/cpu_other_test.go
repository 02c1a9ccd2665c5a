//go:build !unix

package ecdsa

import "time"

// processCPU is unavailable here; benchmarks report zero CPU time.
func processCPU() time.Duration { return 0 }
