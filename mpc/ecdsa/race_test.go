//go:build race

package ecdsa

// raceEnabled skips the largest key shapes under the race detector, which
// slows the base OTs about tenfold.
const raceEnabled = true
