//go:build race

package audit_test

// raceEnabled makes the slowest tests sample rather than cover everything
// under the race detector, which slows signature checks several times over.
const raceEnabled = true
