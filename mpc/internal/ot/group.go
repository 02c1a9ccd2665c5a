package ot

import (
	"crypto/subtle"
	"errors"
	"sync"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Group arithmetic of the base OT, on filippo.io/edwards25519 directly: the
// base OT does Kappa scalar multiplications per party, and three things
// that the generic curve package does per point are done here once per batch.
//
//   - comb: the receiver multiplies G and one point B by Kappa secret
//     scalars. A table of the multiples (m+1)·16^k·B, built once, turns each
//     product into 64 additions of constant-time table lookups, with no
//     doublings.
//   - encodeBatch: encoding a point costs a field inversion; Montgomery's
//     trick (one inversion and three multiplications per point) encodes a
//     whole batch for the price of one.
//   - decodeChoice: the receiver's points are projected onto the prime-order
//     subgroup by the cofactor instead of being tested for membership, which
//     costs a scalar multiplication per point (see decodeChoice).

// extended is a point in extended coordinates (X:Y:Z:T), with x = X/Z,
// y = Y/Z and x·y = T/Z (Hisil, Wong, Carter and Dawson, "Twisted Edwards
// Curves Revisited", ASIACRYPT 2008).
type extended struct{ X, Y, Z, T field.Element }

// niels is an affine point (x, y) as (y+x, y−x, 2d·x·y), the form in which
// a table entry is added to an extended point with seven multiplications.
type niels struct{ ypx, ymx, xy2d field.Element }

var (
	feOne = new(field.Element).One()
	// d2 is 2d for the curve constant d = −121665/121666.
	d2 = func() *field.Element {
		num := new(field.Element).Mult32(feOne, 121665)
		den := new(field.Element).Mult32(feOne, 121666)
		d := new(field.Element).Multiply(num, den.Invert(den))
		d.Negate(d)
		return d.Add(d, d)
	}()
	identityNiels = niels{ypx: *feOne, ymx: *feOne}
)

func (v *extended) setIdentity() {
	v.X.Zero()
	v.Y.One()
	v.Z.One()
	v.T.Zero()
}

func (v *extended) fromPoint(p *edwards25519.Point) {
	X, Y, Z, T := p.ExtendedCoordinates()
	v.X.Set(X)
	v.Y.Set(Y)
	v.Z.Set(Z)
	v.T.Set(T)
}

// addNiels sets v = v + q: "madd-2008-hwcd-3" of Hisil et al. §3.2 for
// a = −1 with Z₂ = 1 and k = 2d folded into q. The formulas are complete on
// edwards25519, so no input needs a special case.
func (v *extended) addNiels(q *niels) {
	var a, b, c, d, e, f, g, h field.Element
	a.Subtract(&v.Y, &v.X)
	a.Multiply(&a, &q.ymx)
	b.Add(&v.Y, &v.X)
	b.Multiply(&b, &q.ypx)
	c.Multiply(&v.T, &q.xy2d)
	d.Add(&v.Z, &v.Z)
	e.Subtract(&b, &a)
	f.Subtract(&d, &c)
	g.Add(&d, &c)
	h.Add(&b, &a)
	v.X.Multiply(&e, &f)
	v.Y.Multiply(&g, &h)
	v.T.Multiply(&e, &h)
	v.Z.Multiply(&f, &g)
}

// selectNiels sets v = a if cond == 1 and b if cond == 0, in constant time.
func (v *niels) selectNiels(a, b *niels, cond int) {
	v.ypx.Select(&a.ypx, &b.ypx, cond)
	v.ymx.Select(&a.ymx, &b.ymx, cond)
	v.xy2d.Select(&a.xy2d, &b.xy2d, cond)
}

// condNeg negates v if cond == 1, in constant time: −(x, y) = (−x, y).
func (v *niels) condNeg(cond int) {
	v.ypx.Swap(&v.ymx, cond)
	var neg field.Element
	neg.Negate(&v.xy2d)
	v.xy2d.Select(&neg, &v.xy2d, cond)
}

// toNiels converts points to niels form, with one inversion for all.
func toNiels(points []edwards25519.Point, out []niels) {
	ext := make([]extended, len(points))
	for i := range points {
		ext[i].fromPoint(&points[i])
	}
	x, y := affine(ext)
	for i := range out {
		out[i].ypx.Add(&y[i], &x[i])
		out[i].ymx.Subtract(&y[i], &x[i])
		out[i].xy2d.Multiply(&x[i], &y[i])
		out[i].xy2d.Multiply(&out[i].xy2d, d2)
	}
}

// comb is a precomputed table for multiplying one point P by secret scalars
// in constant time: table[k][m] = (m+1)·16^k·P. A product is 64 additions
// of table entries, one per signed radix-16 digit of the scalar, with no
// doublings: the fixed-base comb that Ed25519 uses for its base point
// (Bernstein, Duif, Lange, Schwabe and Yang, "High-speed high-security
// signatures", CHES 2011, §4), here for any point.
type comb struct {
	table [64][8]niels
}

func newComb(p *edwards25519.Point) *comb {
	points := make([]edwards25519.Point, 64*8)
	var q edwards25519.Point
	q.Set(p)
	for k := 0; k < 64; k++ {
		row := points[8*k : 8*k+8]
		row[0].Set(&q)
		for m := 1; m < 8; m++ {
			row[m].Add(&row[m-1], &q)
		}
		q.Add(&row[7], &row[7]) // 16^(k+1)·P
	}
	c := &comb{}
	flat := make([]niels, 64*8)
	toNiels(points, flat)
	for k := range c.table {
		copy(c.table[k][:], flat[8*k:8*k+8])
	}
	return c
}

// baseComb is the comb of the generator G.
var baseComb = sync.OnceValue(func() *comb { return newComb(edwards25519.NewGeneratorPoint()) })

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

// mul sets v = s·P for the digits e = radix16(s). Every entry of every row
// is read and the choice made with masks, so neither time nor memory access
// depends on s.
func (c *comb) mul(v *extended, e *[64]int8) {
	var sel niels
	v.setIdentity()
	for k := range c.table {
		d := e[k]
		sign := d >> 7 // −1 if d < 0, else 0
		abs := uint8((d ^ sign) - sign)
		sel = identityNiels
		for m := range c.table[k] {
			sel.selectNiels(&c.table[k][m], &sel, subtle.ConstantTimeByteEq(abs, uint8(m+1)))
		}
		sel.condNeg(int(sign & 1))
		v.addNiels(&sel)
	}
}

// affine returns the affine coordinates of points, with the inversions of
// all the Z coordinates batched into one (Montgomery's trick: one inversion
// and three multiplications per point). Every step is constant time, and Z
// is never zero for a point of the curve.
func affine(points []extended) (xs, ys []field.Element) {
	n := len(points)
	xs = make([]field.Element, n)
	ys = make([]field.Element, n)
	if n == 0 {
		return xs, ys
	}
	prefix := make([]field.Element, n) // prefix[i] = z_0·…·z_i
	prefix[0].Set(&points[0].Z)
	for i := 1; i < n; i++ {
		prefix[i].Multiply(&prefix[i-1], &points[i].Z)
	}
	var inv, zInv field.Element
	inv.Invert(&prefix[n-1]) // 1/(z_0·…·z_{n−1})
	for i := n - 1; i >= 0; i-- {
		if i > 0 {
			zInv.Multiply(&inv, &prefix[i-1]) // 1/z_i
			inv.Multiply(&inv, &points[i].Z)  // 1/(z_0·…·z_{i−1})
		} else {
			zInv.Set(&inv)
		}
		xs[i].Multiply(&points[i].X, &zInv)
		ys[i].Multiply(&points[i].Y, &zInv)
	}
	return xs, ys
}

// encodeBatch returns the RFC 8032 encodings of points, 32 bytes each, in
// order: what Point.Bytes computes, with one field inversion for the batch.
func encodeBatch(points []extended) []byte {
	out := make([]byte, 32*len(points))
	xs, ys := affine(points)
	for i := range points {
		enc := out[32*i : 32*i+32]
		copy(enc, ys[i].Bytes())
		enc[31] |= byte(xs[i].IsNegative() << 7)
	}
	clear(xs)
	clear(ys)
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
