package mpc

import (
	"time"

	"github.com/cairn-mpc/cairn/internal/wire"
)

var wireMarshal = wire.Marshal

// Scaled stretches a test deadline under the race detector.
func Scaled(d time.Duration) time.Duration { return d * raceScale }

func scaled(d time.Duration) time.Duration { return Scaled(d) }
