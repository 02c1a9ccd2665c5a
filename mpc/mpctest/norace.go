//go:build !race

package mpctest

const raceScale = 1
