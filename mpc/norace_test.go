//go:build !race

package mpc

const raceScale = 1
