package mpc

import "github.com/cairn-mpc/cairn/internal/wire"

var wireMarshal = wire.Marshal
