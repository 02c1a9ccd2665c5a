package curve

import (
	"crypto/subtle"
	"fmt"
	"io"
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Secp256k1 is the secp256k1 group of SEC 2, with SEC1 compressed points.
//
// Point multiplication uses decred's ScalarMultNonConst and
// ScalarBaseMultNonConst, the routines dcrd and btcd sign with; the scalar and
// field arithmetic around them is constant time.
var Secp256k1 Curve = secpCurve{}

type secpCurve struct{}

type secpScalar struct{ s secp256k1.ModNScalar }

// secpPoint is kept in Jacobian coordinates: sums and products skip the
// field inversion that affine form costs, which is paid only when a point is
// encoded.
type secpPoint struct {
	p   secp256k1.JacobianPoint
	enc encoding
}

var secpOrder = secp256k1.S256().N

func (secpCurve) Name() string      { return "secp256k1" }
func (secpCurve) ScalarSize() int   { return 32 }
func (secpCurve) PointSize() int    { return 33 }
func (secpCurve) NewScalar() Scalar { return &secpScalar{} }

func (secpCurve) ScalarFromUint64(v uint64) Scalar {
	var b [32]byte
	for i := 0; i < 8; i++ {
		b[31-i] = byte(v >> (8 * i))
	}
	r := &secpScalar{}
	r.s.SetBytes(&b)
	return r
}

func (c secpCurve) RandomScalar(rand io.Reader) (Scalar, error) {
	var b [32]byte
	for {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return nil, fmt.Errorf("curve: reading randomness: %w", err)
		}
		r := &secpScalar{}
		overflow := r.s.SetBytes(&b)
		clear(b[:])
		if overflow == 0 && !r.s.IsZero() {
			return r, nil
		}
	}
}

func (secpCurve) DecodeScalar(b []byte) (Scalar, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: secp256k1 scalar is %d bytes, want 32", ErrInvalidScalar, len(b))
	}
	var a [32]byte
	copy(a[:], b)
	r := &secpScalar{}
	if r.s.SetBytes(&a) != 0 {
		return nil, fmt.Errorf("%w: secp256k1 scalar not below the group order", ErrInvalidScalar)
	}
	return r, nil
}

// ReduceScalar reduces b, padded on the left to 64 bytes, as hi·2^256 + lo:
// ModNScalar.SetBytes reduces each half and the rest is one multiplication
// and one addition, all constant time. Its inputs include secrets (nonce
// derivations, the zero-sharing PRF), which math/big's division would
// handle in variable time.
func (secpCurve) ReduceScalar(b []byte) Scalar {
	if len(b) > 64 {
		panic("curve: ReduceScalar input longer than 64 bytes")
	}
	var w [64]byte
	copy(w[64-len(b):], b)
	var hi, lo secp256k1.ModNScalar
	hi.SetBytes((*[32]byte)(w[:32]))
	lo.SetBytes((*[32]byte)(w[32:]))
	clear(w[:])
	r := &secpScalar{}
	r.s.Mul2(&hi, &secpTwo256).Add(&lo)
	hi.Zero()
	lo.Zero()
	return r
}

// secpTwo256 is 2^256 mod n.
var secpTwo256 = func() secp256k1.ModNScalar {
	var b [32]byte
	new(big.Int).Mod(new(big.Int).Lsh(big.NewInt(1), 256), secpOrder).FillBytes(b[:])
	var s secp256k1.ModNScalar
	s.SetBytes(&b)
	return s
}()

func (secpCurve) Identity() Point { return &secpPoint{} }

func (secpCurve) Generator() Point {
	r := &secpPoint{}
	var one secp256k1.ModNScalar
	one.SetInt(1)
	secp256k1.ScalarBaseMultNonConst(&one, &r.p)
	return r
}

func (secpCurve) DecodePoint(b []byte) (Point, error) {
	if len(b) != 33 || (b[0] != 0x02 && b[0] != 0x03) {
		return nil, fmt.Errorf("%w: secp256k1 point must be 33-byte compressed SEC1", ErrInvalidPoint)
	}
	pk, err := secp256k1.ParsePubKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPoint, err)
	}
	r := &secpPoint{}
	pk.AsJacobian(&r.p)
	return r, nil
}

func (secpCurve) MulBase(s Scalar) Point {
	r := &secpPoint{}
	secp256k1.ScalarBaseMultNonConst(&s.(*secpScalar).s, &r.p)
	return r
}

func (a *secpScalar) Add(b Scalar) Scalar {
	r := &secpScalar{}
	r.s.Add2(&a.s, &b.(*secpScalar).s)
	return r
}

func (a *secpScalar) Sub(b Scalar) Scalar {
	var nb secp256k1.ModNScalar
	nb.NegateVal(&b.(*secpScalar).s)
	r := &secpScalar{}
	r.s.Add2(&a.s, &nb)
	return r
}

func (a *secpScalar) Mul(b Scalar) Scalar {
	r := &secpScalar{}
	r.s.Mul2(&a.s, &b.(*secpScalar).s)
	return r
}

func (a *secpScalar) Negate() Scalar {
	r := &secpScalar{}
	r.s.NegateVal(&a.s)
	return r
}

// secpOrderMinus2 is n − 2, the Fermat exponent for inversion.
var secpOrderMinus2 = new(big.Int).Sub(secpOrder, big.NewInt(2)).Bytes()

// Invert computes a^(n−2) by square-and-multiply over the public exponent, so
// its timing does not depend on a (decred's own inverse is variable time).
func (a *secpScalar) Invert() Scalar {
	r := &secpScalar{}
	r.s.SetInt(1)
	for _, byt := range secpOrderMinus2 {
		for bit := 7; bit >= 0; bit-- {
			r.s.Square()
			if byt>>uint(bit)&1 == 1 {
				r.s.Mul(&a.s)
			}
		}
	}
	return r
}

func (a *secpScalar) Equal(b Scalar) bool {
	x, y := a.s.Bytes(), b.(*secpScalar).s.Bytes()
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

func (a *secpScalar) IsZero() bool { return a.s.IsZero() }

func (a *secpScalar) Bytes() []byte {
	b := a.s.Bytes()
	return b[:]
}

// String never prints the value: scalars are often secret.
func (a *secpScalar) String() string { return "secp256k1.Scalar(redacted)" }

// Format makes every fmt verb print String: without it %#v and %d print
// the scalar's words.
func (a *secpScalar) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

func (p *secpPoint) Add(q Point) Point {
	r := &secpPoint{}
	secp256k1.AddNonConst(&p.p, &q.(*secpPoint).p, &r.p)
	return r
}

func (p *secpPoint) Sub(q Point) Point { return p.Add(q.Negate()) }

func (p *secpPoint) Negate() Point {
	r := &secpPoint{}
	r.p.Set(&p.p)
	if !p.IsIdentity() {
		r.p.Y.Negate(1).Normalize()
	}
	return r
}

func (p *secpPoint) Mul(s Scalar) Point {
	r := &secpPoint{}
	secp256k1.ScalarMultNonConst(&s.(*secpScalar).s, &p.p, &r.p)
	return r
}

func (p *secpPoint) Equal(q Point) bool {
	qq := q.(*secpPoint)
	if p.IsIdentity() || qq.IsIdentity() {
		return p.IsIdentity() && qq.IsIdentity()
	}
	return p.p.EquivalentNonConst(&qq.p)
}

func (p *secpPoint) IsIdentity() bool {
	return p.p.Z.IsZero() || (p.p.X.IsZero() && p.p.Y.IsZero())
}

// affine returns p with Z = 1; p must not be the identity.
func (p *secpPoint) affine() secp256k1.JacobianPoint {
	a := p.p
	if !a.Z.IsOne() {
		a.ToAffine()
	}
	return a
}

func (p *secpPoint) Bytes() []byte {
	return p.enc.get(func() []byte {
		if p.IsIdentity() {
			return make([]byte, 33)
		}
		a := p.affine()
		return secp256k1.NewPublicKey(&a.X, &a.Y).SerializeCompressed()
	})
}

// XOnly returns the 32-byte x coordinate of a secp256k1 point (BIP340).
func XOnly(p Point) []byte {
	b := p.(*secpPoint).Bytes()
	return b[1:]
}

// HasEvenY reports whether a secp256k1 point has an even y coordinate
// (BIP340). The identity reports false.
func HasEvenY(p Point) bool {
	b := p.(*secpPoint).Bytes()
	return b[0] == 0x02
}

// LiftX returns the secp256k1 point with x coordinate b and even y (BIP340).
func LiftX(b []byte) (Point, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: x-only key is %d bytes, want 32", ErrInvalidPoint, len(b))
	}
	return Secp256k1.DecodePoint(append([]byte{0x02}, b...))
}
