package ot

import (
	"crypto/subtle"
	"errors"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Group arithmetic of the base OT, on filippo.io/edwards25519 directly: the
// base OT does Kappa scalar multiplications per party, and three things
// that the generic curve package does per point are done here once per batch.
//
//   - fixedBase: the receiver multiplies one point B by Kappa secret
//     scalars. A table of the multiples (m+1)·16^k·B, built once, turns each
//     product into 64 additions of constant-time table lookups, with no
//     doublings: the comb method behind every fixed-base multiplication
//     (Bernstein, Duif, Lange, Schwabe and Yang, "High-speed high-security
//     signatures", §4, uses it for the Ed25519 base point).
//   - encodeBatch: encoding a point costs a field inversion; Montgomery's
//     trick (one inversion and three multiplications per point) encodes a
//     whole batch for the price of one.
//   - decodeChoice: the receiver's points are projected onto the prime-order
//     subgroup by the cofactor instead of being tested for membership, which
//     costs a scalar multiplication per point (see decodeChoice).

// fixedBase is a precomputed table for multiplying one point by secret
// scalars in constant time: table[k][m] = (m+1)·16^k·P.
type fixedBase struct {
	table [64][8]edwards25519.Point
}

func newFixedBase(p *edwards25519.Point) *fixedBase {
	f := &fixedBase{}
	var q edwards25519.Point
	q.Set(p)
	for k := range f.table {
		row := &f.table[k]
		row[0].Set(&q)
		for m := 1; m < len(row); m++ {
			row[m].Add(&row[m-1], &q)
		}
		q.Add(&row[7], &row[7]) // 16^(k+1)·P
	}
	return f
}

// radix16 writes s as Σ e_k·16^k with digits e_k ∈ [−8, 8), the top one in
// [0, 8]. The recoding runs in time independent of s: shifts and adds only.
func radix16(s *edwards25519.Scalar) (e [64]int8) {
	b := s.Bytes()
	for i, v := range b {
		e[2*i] = int8(v & 15)
		e[2*i+1] = int8(v >> 4)
	}
	clear(b)
	for i := 0; i < 63; i++ {
		carry := (e[i] + 8) >> 4
		e[i] -= carry << 4
		e[i+1] += carry
	}
	return e
}

// mul sets v = s·P and returns v. Every table entry of every row is read and
// the choice made with masks, so neither time nor memory access depends on
// s.
func (f *fixedBase) mul(v *edwards25519.Point, s *edwards25519.Scalar) *edwards25519.Point {
	e := radix16(s)
	var sel, neg edwards25519.Point
	v.Set(edwards25519.NewIdentityPoint())
	for k := range f.table {
		d := e[k]
		sign := d >> 7 // −1 if d < 0, else 0
		abs := uint8((d ^ sign) - sign)
		sel.Set(edwards25519.NewIdentityPoint())
		for m := range f.table[k] {
			sel.Select(&f.table[k][m], &sel, subtle.ConstantTimeByteEq(abs, uint8(m+1)))
		}
		neg.Negate(&sel)
		sel.Select(&neg, &sel, int(sign&1))
		v.Add(v, &sel)
	}
	clear(e[:])
	return v
}

// encodeBatch returns the RFC 8032 encodings of points, 32 bytes each, in
// order. It computes what Point.Bytes does, with the inversions of all the
// Z coordinates batched into one (Montgomery's trick); every step is
// constant time, and Z is never zero for a point of the curve.
func encodeBatch(points []edwards25519.Point) []byte {
	n := len(points)
	out := make([]byte, 32*n)
	if n == 0 {
		return out
	}
	xs := make([]field.Element, n)
	ys := make([]field.Element, n)
	prefix := make([]field.Element, n) // prefix[i] = z_0·…·z_i
	zs := make([]field.Element, n)
	for i := range points {
		X, Y, Z, _ := points[i].ExtendedCoordinates()
		xs[i].Set(X)
		ys[i].Set(Y)
		zs[i].Set(Z)
		if i == 0 {
			prefix[0].Set(Z)
		} else {
			prefix[i].Multiply(&prefix[i-1], Z)
		}
	}
	var inv, zInv field.Element
	inv.Invert(&prefix[n-1]) // 1/(z_0·…·z_{n−1})
	for i := n - 1; i >= 0; i-- {
		if i > 0 {
			zInv.Multiply(&inv, &prefix[i-1]) // 1/z_i
			inv.Multiply(&inv, &zs[i])        // 1/(z_0·…·z_{i−1})
		} else {
			zInv.Set(&inv)
		}
		xs[i].Multiply(&xs[i], &zInv)
		ys[i].Multiply(&ys[i], &zInv)
		enc := out[32*i : 32*i+32]
		copy(enc, ys[i].Bytes())
		enc[31] |= byte(xs[i].IsNegative() << 7)
	}
	return out
}

// errChoicePoint reports a receiver's point that is not a canonical
// encoding of a curve point, or one of small order.
var errChoicePoint = errors.New("not a canonical encoding of a point of large order")

// canonicalY reports whether the 255-bit y of an encoding is below
// p = 2^255 − 19. The bytes are public.
func canonicalY(b []byte) bool {
	if b[31]&0x7f != 0x7f {
		return true
	}
	for _, v := range b[1:31] {
		if v != 0xff {
			return true
		}
	}
	return b[0] < 0xed
}

// decodeChoice decodes a receiver's point A and returns 8·A.
//
// edwards25519 has cofactor 8. A receiver could add a small-order
// component T to A; the sender then works with its image 8·A in the
// prime-order subgroup instead of refusing it, multiplying by b·8⁻¹ mod ℓ
// instead of b, so that (b·8⁻¹)·(8·A) = b·A for every A of the prime-order
// subgroup (an honest receiver's) and = b·(A − T) otherwise: T has no
// effect, and in particular reveals nothing about b mod 8. This is
// cofactor Diffie–Hellman (NIST SP 800-56A Rev. 3, §5.7.1.2; SEC 1 v2,
// §3.3.2) with its compatibility scalar h⁻¹·b, and what X25519's clamping to
// a multiple of 8 achieves (RFC 7748, §5). It replaces a membership test,
// which costs a scalar multiplication per point. Non-canonical encodings
// and points of small order (8·A = identity) are still refused.
//
// The sender's own key B, which the receiver's privacy rests on (a
// small-order component in B would reveal the choice bits through A_i), is
// still decoded with the full subgroup check.
func decodeChoice(v *edwards25519.Point, b []byte) error {
	if len(b) != 32 || !canonicalY(b) {
		return errChoicePoint
	}
	if _, err := v.SetBytes(b); err != nil {
		return errChoicePoint
	}
	v.MultByCofactor(v)
	if v.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errChoicePoint
	}
	return nil
}

// invCofactor is 8⁻¹ mod ℓ.
var invCofactor = func() *edwards25519.Scalar {
	eight := [32]byte{8}
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(eight[:])
	if err != nil {
		panic("ot: unreachable: 8 is a canonical scalar")
	}
	return new(edwards25519.Scalar).Invert(s)
}()
