package policy_test

import "github.com/cairn-mpc/cairn/internal/cputime"

// processCPU is the process's CPU time, reported by the benchmarks.
var processCPU = cputime.Process
