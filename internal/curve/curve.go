// Package curve gives the protocols one interface over the two prime-order
// groups Cairn signs with: secp256k1 (decred's constant-time field and scalar
// arithmetic) and edwards25519 (filippo.io/edwards25519).
//
// Values are immutable: every operation returns a new value. Decoders are the
// only way peer bytes become group elements, and they validate everything a
// protocol relies on: scalars are canonical and below the group order, points
// are canonical, on the curve, in the prime-order subgroup and not the
// identity. Mixing values of two curves is a programming error and panics.
package curve

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// ErrInvalidScalar reports bytes that are not a canonical scalar encoding.
var ErrInvalidScalar = errors.New("curve: invalid scalar encoding")

// ErrInvalidPoint reports bytes that are not a canonical encoding of a
// non-identity point of the prime-order group.
var ErrInvalidPoint = errors.New("curve: invalid point encoding")

// Curve is a prime-order group with a fixed generator.
type Curve interface {
	// Name is a stable identifier ("secp256k1", "edwards25519") used in
	// session ids and encodings.
	Name() string
	// ScalarSize and PointSize are the lengths of Scalar.Bytes and Point.Bytes.
	ScalarSize() int
	PointSize() int

	// NewScalar returns zero.
	NewScalar() Scalar
	// ScalarFromUint64 returns v mod the group order.
	ScalarFromUint64(v uint64) Scalar
	// RandomScalar returns a uniform non-zero scalar read from rand.
	RandomScalar(rand io.Reader) (Scalar, error)
	// DecodeScalar parses a canonical encoding (zero allowed).
	DecodeScalar(b []byte) (Scalar, error)
	// ReduceScalar interprets b (at most 64 bytes) as an integer in the
	// curve's byte order (big-endian for secp256k1, little-endian for
	// edwards25519) and reduces it modulo the group order.
	ReduceScalar(b []byte) Scalar

	// Identity and Generator of the group.
	Identity() Point
	Generator() Point
	// DecodePoint parses and validates a point from a peer; the identity is
	// refused.
	DecodePoint(b []byte) (Point, error)
	// MulBase returns s·G.
	MulBase(s Scalar) Point
}

// Scalar is an integer modulo the group order.
type Scalar interface {
	Add(Scalar) Scalar
	Sub(Scalar) Scalar
	Mul(Scalar) Scalar
	Negate() Scalar
	// Invert returns the multiplicative inverse, computed in constant time;
	// the inverse of zero is zero.
	Invert() Scalar
	// Equal reports equality in constant time.
	Equal(Scalar) bool
	IsZero() bool
	// Bytes is the canonical fixed-length encoding.
	Bytes() []byte
}

// Point is an element of the prime-order group.
type Point interface {
	Add(Point) Point
	Sub(Point) Point
	Negate() Point
	Mul(Scalar) Point
	Equal(Point) bool
	IsIdentity() bool
	// Bytes is the canonical encoding: SEC1 compressed (33 bytes) for
	// secp256k1, RFC 8032 (32 bytes) for edwards25519. The identity of
	// secp256k1 has no SEC1 compressed form and encodes as 33 zero bytes,
	// which DecodePoint refuses.
	Bytes() []byte
}

// ByName returns the curve with the given Name, or nil.
func ByName(name string) Curve {
	switch name {
	case Secp256k1.Name():
		return Secp256k1
	case Edwards25519.Name():
		return Edwards25519
	}
	return nil
}

// Lagrange returns the Lagrange coefficient at zero of party id within the set
// ids: Π_{j≠id} x_j / (x_j − x_id), with x = the identifier as a scalar. ids
// must be distinct and non-zero and contain id; callers validate that.
func Lagrange(c Curve, id uint16, ids []uint16) (Scalar, error) {
	xi := c.ScalarFromUint64(uint64(id))
	num := c.ScalarFromUint64(1)
	den := c.ScalarFromUint64(1)
	found := false
	for _, j := range ids {
		if j == id {
			if found {
				return nil, errors.New("curve: duplicate identifier in Lagrange set")
			}
			found = true
			continue
		}
		if j == 0 {
			return nil, errors.New("curve: zero identifier in Lagrange set")
		}
		xj := c.ScalarFromUint64(uint64(j))
		num = num.Mul(xj)
		den = den.Mul(xj.Sub(xi))
	}
	if !found || id == 0 {
		return nil, errors.New("curve: identifier not in Lagrange set")
	}
	return num.Mul(den.Invert()), nil
}

// EvalPolynomial returns Σ coeffs[k]·x^k by Horner's rule.
func EvalPolynomial(c Curve, coeffs []Scalar, x Scalar) Scalar {
	if len(coeffs) == 0 {
		return c.NewScalar()
	}
	acc := coeffs[len(coeffs)-1]
	for k := len(coeffs) - 2; k >= 0; k-- {
		acc = acc.Mul(x).Add(coeffs[k])
	}
	return acc
}

// EvalCommitment returns Σ commits[k]·x^k, the public image of a polynomial
// evaluated at x (Feldman verification), with len(commits)−1 point
// multiplications.
func EvalCommitment(c Curve, commits []Point, x Scalar) Point {
	if len(commits) == 0 {
		return c.Identity()
	}
	acc := commits[len(commits)-1]
	for k := len(commits) - 2; k >= 0; k-- {
		acc = acc.Mul(x).Add(commits[k])
	}
	return acc
}

// encoding caches a point's encoding: points are immutable, and encoding
// costs a field inversion.
type encoding struct {
	once sync.Once
	b    []byte
}

// get returns a copy of the encoding, computing it with f the first time.
func (e *encoding) get(f func() []byte) []byte {
	e.once.Do(func() { e.b = f() })
	return bytes.Clone(e.b)
}
