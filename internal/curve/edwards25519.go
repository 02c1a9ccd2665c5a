package curve

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"

	"filippo.io/edwards25519"
)

// Edwards25519 is the prime-order subgroup of edwards25519 (RFC 8032
// encodings). DecodePoint refuses non-canonical encodings, the identity and
// points outside the prime-order subgroup, as RFC 9591 requires.
var Edwards25519 Curve = edCurve{}

type edCurve struct{}

type edScalar struct{ s edwards25519.Scalar }

type edPoint struct {
	p   edwards25519.Point
	enc encoding // Bytes is costly (a field inversion) and asked for often
}

func (edCurve) Name() string      { return "edwards25519" }
func (edCurve) ScalarSize() int   { return 32 }
func (edCurve) PointSize() int    { return 32 }
func (edCurve) NewScalar() Scalar { return &edScalar{} }

func (edCurve) ScalarFromUint64(v uint64) Scalar {
	var b [32]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (8 * i))
	}
	r := &edScalar{}
	if _, err := r.s.SetCanonicalBytes(b[:]); err != nil {
		panic("curve: unreachable: small integer is canonical")
	}
	return r
}

func (edCurve) RandomScalar(rand io.Reader) (Scalar, error) {
	var b [64]byte
	for {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return nil, fmt.Errorf("curve: reading randomness: %w", err)
		}
		r := &edScalar{}
		if _, err := r.s.SetUniformBytes(b[:]); err != nil {
			panic("curve: unreachable: 64 uniform bytes")
		}
		clear(b[:])
		if !r.IsZero() {
			return r, nil
		}
	}
}

func (edCurve) DecodeScalar(b []byte) (Scalar, error) {
	r := &edScalar{}
	if _, err := r.s.SetCanonicalBytes(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidScalar, err)
	}
	return r, nil
}

func (edCurve) ReduceScalar(b []byte) Scalar {
	if len(b) > 64 {
		panic("curve: ReduceScalar input longer than 64 bytes")
	}
	var w [64]byte
	copy(w[:], b)
	r := &edScalar{}
	if _, err := r.s.SetUniformBytes(w[:]); err != nil {
		panic("curve: unreachable: 64-byte input")
	}
	return r
}

func (edCurve) Identity() Point {
	r := &edPoint{}
	r.p.Set(edwards25519.NewIdentityPoint())
	return r
}

func (edCurve) Generator() Point {
	r := &edPoint{}
	r.p.Set(edwards25519.NewGeneratorPoint())
	return r
}

// edOrderMinus1 is ℓ − 1; [ℓ−1]P + P is the identity exactly when P is in
// the prime-order subgroup.
var edOrderMinus1 = func() *edwards25519.Scalar {
	one := [32]byte{1}
	s, _ := new(edwards25519.Scalar).SetCanonicalBytes(one[:])
	return new(edwards25519.Scalar).Negate(s)
}()

func (edCurve) DecodePoint(b []byte) (Point, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: edwards25519 point is %d bytes, want 32", ErrInvalidPoint, len(b))
	}
	r := &edPoint{}
	if _, err := r.p.SetBytes(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPoint, err)
	}
	if !bytes.Equal(r.Bytes(), b) {
		return nil, fmt.Errorf("%w: non-canonical edwards25519 encoding", ErrInvalidPoint)
	}
	if r.IsIdentity() {
		return nil, fmt.Errorf("%w: identity", ErrInvalidPoint)
	}
	var q edwards25519.Point
	q.VarTimeDoubleScalarBaseMult(edOrderMinus1, &r.p, edwards25519.NewScalar())
	q.Add(&q, &r.p)
	if q.Equal(edwards25519.NewIdentityPoint()) != 1 {
		return nil, fmt.Errorf("%w: not in the prime-order subgroup", ErrInvalidPoint)
	}
	return r, nil
}

func (edCurve) MulBase(s Scalar) Point {
	r := &edPoint{}
	r.p.ScalarBaseMult(&s.(*edScalar).s)
	return r
}

func (a *edScalar) Add(b Scalar) Scalar {
	r := &edScalar{}
	r.s.Add(&a.s, &b.(*edScalar).s)
	return r
}

func (a *edScalar) Sub(b Scalar) Scalar {
	r := &edScalar{}
	r.s.Subtract(&a.s, &b.(*edScalar).s)
	return r
}

func (a *edScalar) Mul(b Scalar) Scalar {
	r := &edScalar{}
	r.s.Multiply(&a.s, &b.(*edScalar).s)
	return r
}

func (a *edScalar) Negate() Scalar {
	r := &edScalar{}
	r.s.Negate(&a.s)
	return r
}

func (a *edScalar) Invert() Scalar {
	r := &edScalar{}
	r.s.Invert(&a.s)
	return r
}

func (a *edScalar) Equal(b Scalar) bool { return a.s.Equal(&b.(*edScalar).s) == 1 }

func (a *edScalar) IsZero() bool {
	return subtle.ConstantTimeCompare(a.s.Bytes(), make([]byte, 32)) == 1
}

func (a *edScalar) Bytes() []byte { return a.s.Bytes() }

// String never prints the value: scalars are often secret.
func (a *edScalar) String() string { return "edwards25519.Scalar(redacted)" }

// Format makes every fmt verb print String: without it %#v and %d print
// the scalar's words.
func (a *edScalar) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

func (p *edPoint) Add(q Point) Point {
	r := &edPoint{}
	r.p.Add(&p.p, &q.(*edPoint).p)
	return r
}

func (p *edPoint) Sub(q Point) Point {
	r := &edPoint{}
	r.p.Subtract(&p.p, &q.(*edPoint).p)
	return r
}

func (p *edPoint) Negate() Point {
	r := &edPoint{}
	r.p.Negate(&p.p)
	return r
}

func (p *edPoint) Mul(s Scalar) Point {
	r := &edPoint{}
	r.p.ScalarMult(&s.(*edScalar).s, &p.p)
	return r
}

func (p *edPoint) Equal(q Point) bool { return p.p.Equal(&q.(*edPoint).p) == 1 }

func (p *edPoint) IsIdentity() bool { return p.p.Equal(edwards25519.NewIdentityPoint()) == 1 }

func (p *edPoint) Bytes() []byte { return p.enc.get(p.p.Bytes) }
