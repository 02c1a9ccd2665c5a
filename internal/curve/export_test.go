package curve

import "filippo.io/edwards25519"

type edPointRaw = edwards25519.Point
