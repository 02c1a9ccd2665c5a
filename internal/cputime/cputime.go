// Package cputime reads the CPU time the process has used, for benchmarks
// that report it beside wall time: on a shared machine it is the steadier
// measure.
package cputime

import "time"

// Process is the CPU time the process has used: user and system, all
// threads, the garbage collector's included. It is zero where the platform
// does not say.
func Process() time.Duration { return process() }
