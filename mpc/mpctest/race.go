//go:build race

package mpctest

// raceScale stretches default timeouts under the race detector.
const raceScale = 5
