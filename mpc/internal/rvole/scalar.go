package rvole

import (
	"crypto/aes"
	"crypto/cipher"

	"github.com/cairn-mpc/cairn/internal/curve"
)

func fromCurve(s curve.Scalar) element {
	return elementFromBytes(s.Bytes())
}

func toCurve(x *element) curve.Scalar {
	b := x.bytes()
	s, err := curve.Secp256k1.DecodeScalar(b)
	clear(b)
	if err != nil {
		panic("rvole: unreachable: a reduced element is a canonical scalar")
	}
	return s
}

// gadget returns the public gadget vector g ∈ Z_n^Xi for a key derived from
// the session id: AES-256-CTR from a zero counter, 32 bytes per element.
func gadget(key [32]byte) []element {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic("rvole: unreachable: AES-256 key of 32 bytes")
	}
	stream := make([]byte, 32*Xi)
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(stream, stream)
	g := make([]element, Xi)
	for j := range g {
		g[j] = elementFromBytes(stream[32*j:])
	}
	return g
}
