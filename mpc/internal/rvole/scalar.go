package rvole

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/cairn-mpc/cairn/internal/curve"
)

// Scalars modulo the secp256k1 group order n, as decred's constant-time
// ModNScalar: the hot loops run on it directly, without the allocation per
// operation of the curve.Scalar interface.
type scalar = secp256k1.ModNScalar

// scalarFrom32 reduces 32 bytes (big-endian) modulo n. For uniform input the
// result is within statistical distance (2^256 − n)/2^256 < 2^−127 of
// uniform, since n > 2^256 − 2^129.
func scalarFrom32(b []byte) scalar {
	var a [32]byte
	copy(a[:], b)
	var s scalar
	s.SetBytes(&a)
	clear(a[:])
	return s
}

// decodeScalar parses a canonical 32-byte encoding from a peer.
func decodeScalar(b []byte) (scalar, bool) {
	var a [32]byte
	copy(a[:], b)
	var s scalar
	overflow := s.SetBytes(&a)
	return s, len(b) == 32 && overflow == 0
}

// pick returns x when bit is 0 and y when bit is 1, in constant time.
func pick(bit int, x, y *scalar) scalar {
	xb, yb := x.Bytes(), y.Bytes()
	subtle.ConstantTimeCopy(bit, xb[:], yb[:])
	var r scalar
	r.SetBytes(&xb)
	clear(xb[:])
	clear(yb[:])
	return r
}

func fromCurve(s curve.Scalar) scalar {
	return scalarFrom32(s.Bytes())
}

func toCurve(s *scalar) curve.Scalar {
	b := s.Bytes()
	c, err := curve.Secp256k1.DecodeScalar(b[:])
	clear(b[:])
	if err != nil {
		panic("rvole: unreachable: a reduced scalar is canonical")
	}
	return c
}

// gadget returns the public gadget vector g ∈ Z_n^Xi of a session:
// AES-256-CTR keyed by a hash of the session id, 32 bytes per element.
func gadget(key [32]byte) []scalar {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic("rvole: unreachable: AES-256 key of 32 bytes")
	}
	stream := make([]byte, 32*Xi)
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(stream, stream)
	g := make([]scalar, Xi)
	for j := range g {
		g[j] = scalarFrom32(stream[32*j:])
	}
	return g
}
