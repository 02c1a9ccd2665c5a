package gg20

import (
	"crypto/elliptic"
	"math/big"

	"github.com/coinbase/kryptology/pkg/core/curves"
)

// Secp256k1 is kryptology's own secp256k1 (curves.K256Curve, on its native
// field arithmetic) with one correction: scalars are reduced modulo the group
// order before multiplication.
//
// K256Curve keeps only the low 32 bytes of a longer scalar instead of
// reducing it, and GG20's MtA-with-check proof calls ScalarBaseMult on α
// drawn from Z_{q³} (about 96 bytes), so with the bare curve every signing
// fails in round 3 ("e != eHat"). kryptology's own GG20 tests never hit this:
// they use btcd's btcec.S256, which reduces. The reduction is one big.Int
// Mod per call; the multiplication itself is K256Curve's.
var Secp256k1 elliptic.Curve = k256{curves.K256Curve()}

type k256 struct{ *curves.Koblitz256 }

func (c k256) reduce(k []byte) []byte {
	n := c.Params().N
	v := new(big.Int).SetBytes(k)
	if v.Cmp(n) < 0 {
		return k
	}
	return v.Mod(v, n).Bytes()
}

func (c k256) ScalarMult(x, y *big.Int, k []byte) (*big.Int, *big.Int) {
	return c.Koblitz256.ScalarMult(x, y, c.reduce(k))
}

func (c k256) ScalarBaseMult(k []byte) (*big.Int, *big.Int) {
	return c.Koblitz256.ScalarBaseMult(c.reduce(k))
}
