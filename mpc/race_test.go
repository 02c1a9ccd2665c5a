//go:build race

package mpc

// raceScale stretches test deadlines under the race detector, which slows
// the protocols' arithmetic several times over.
const raceScale = 5
