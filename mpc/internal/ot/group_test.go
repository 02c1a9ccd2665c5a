package ot

import (
	"bytes"
	"crypto/rand"
	"testing"

	"filippo.io/edwards25519"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

func randomEdScalar(t testing.TB) *edwards25519.Scalar {
	t.Helper()
	var b [64]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	s, err := new(edwards25519.Scalar).SetUniformBytes(b[:])
	require.NoError(t, err)
	return s
}

func smallScalar(t testing.TB, v uint64) *edwards25519.Scalar {
	t.Helper()
	var b [32]byte
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(b[:])
	require.NoError(t, err)
	return s
}

// order2 is (0, −1), the point of order 2.
func order2(t testing.TB) *edwards25519.Point {
	t.Helper()
	p, err := new(edwards25519.Point).SetBytes(append([]byte{0xec}, append(bytes.Repeat([]byte{0xff}, 30), 0x7f)...))
	require.NoError(t, err)
	return p
}

// order8 returns a point of order 8: the torsion component of a point
// decoded from an encoding, which is in the full group.
func order8(t testing.TB) *edwards25519.Point {
	t.Helper()
	var p edwards25519.Point
	for y := byte(2); ; y++ {
		enc := make([]byte, 32)
		enc[0] = y
		if _, err := p.SetBytes(enc); err != nil {
			continue
		}
		// T = ℓ·P is P's torsion component; keep it if its order is 8.
		var T edwards25519.Point
		T.ScalarMult(new(edwards25519.Scalar).Negate(smallScalar(t, 1)), &p)
		T.Add(&T, &p)
		var T4 edwards25519.Point
		T4.Add(&T, &T)
		T4.Add(&T4, &T4)
		if T4.Equal(edwards25519.NewIdentityPoint()) == 0 {
			return &T
		}
	}
}

// toPoint converts v for comparison, checking that it is on the curve.
func toPoint(t testing.TB, v *extended) *edwards25519.Point {
	t.Helper()
	p, err := new(edwards25519.Point).SetExtendedCoordinates(&v.X, &v.Y, &v.Z, &v.T)
	require.NoError(t, err)
	return p
}

func TestCombMatchesScalarMult(t *testing.T) {
	t.Parallel()
	P := new(edwards25519.Point).ScalarBaseMult(randomEdScalar(t))
	P.Add(P, order8(t)) // any point of the curve, not only of the subgroup
	c := newComb(P)
	minusOne := new(edwards25519.Scalar).Negate(smallScalar(t, 1))
	scalars := []*edwards25519.Scalar{
		edwards25519.NewScalar(), smallScalar(t, 1), smallScalar(t, 7), smallScalar(t, 8),
		smallScalar(t, 9), smallScalar(t, 0x8888888888888888), smallScalar(t, 0xffffffffffffffff), minusOne,
	}
	for range 64 {
		scalars = append(scalars, randomEdScalar(t))
	}
	var got extended
	var want edwards25519.Point
	for i, s := range scalars {
		e := radix16(s)
		// s·P for a point outside the subgroup differs from s'·P for
		// s' ≡ s mod ℓ, so compare with a multiplication by the same
		// integer: ScalarMult uses the same reduced scalar.
		c.mul(&got, &e)
		want.ScalarMult(s, P)
		assert.Equal(t, 1, toPoint(t, &got).Equal(&want), "scalar %d", i)
		baseComb().mul(&got, &e)
		want.ScalarBaseMult(s)
		assert.Equal(t, 1, toPoint(t, &got).Equal(&want), "base, scalar %d", i)
	}
}

func TestAddNiels(t *testing.T) {
	t.Parallel()
	points := make([]edwards25519.Point, 6)
	for i := range points {
		points[i].ScalarBaseMult(randomEdScalar(t))
	}
	points[1].Set(edwards25519.NewIdentityPoint())
	points[2].Set(order2(t))
	points[3].Set(&points[0]) // doubling through the addition formula
	ns := make([]niels, len(points))
	toNiels(points, ns)
	for i := range points {
		for j := range points {
			var v extended
			v.fromPoint(&points[i])
			v.addNiels(&ns[j])
			want := new(edwards25519.Point).Add(&points[i], &points[j])
			assert.Equal(t, 1, toPoint(t, &v).Equal(want), "%d + %d", i, j)
			v.fromPoint(&points[i])
			n := ns[j]
			n.condNeg(1)
			v.addNiels(&n)
			want.Subtract(&points[i], &points[j])
			assert.Equal(t, 1, toPoint(t, &v).Equal(want), "%d − %d", i, j)
		}
	}
	var v extended
	v.setIdentity()
	v.addNiels(&identityNiels)
	assert.Equal(t, 1, toPoint(t, &v).Equal(edwards25519.NewIdentityPoint()))
}

func TestRadix16(t *testing.T) {
	t.Parallel()
	for range 256 {
		s := randomEdScalar(t)
		e := radix16(s)
		// Σ e_k·16^k, evaluated with scalar arithmetic, is s again.
		acc := edwards25519.NewScalar()
		sixteen := smallScalar(t, 16)
		for k := 63; k >= 0; k-- {
			d := smallScalar(t, uint64(max(e[k], -e[k])))
			if e[k] < 0 {
				d.Negate(d)
			}
			acc.Multiply(acc, sixteen)
			acc.Add(acc, d)
			if k < 63 {
				assert.True(t, e[k] >= -8 && e[k] < 8, "digit %d = %d", k, e[k])
			} else {
				assert.True(t, e[k] >= 0 && e[k] <= 8, "top digit %d", e[k])
			}
		}
		assert.Equal(t, 1, acc.Equal(s))
	}
}

func TestEncodeBatchMatchesBytes(t *testing.T) {
	t.Parallel()
	points := make([]edwards25519.Point, 33)
	for i := range points {
		points[i].ScalarBaseMult(randomEdScalar(t))
		if i%3 == 1 { // Z ≠ 1 and points outside the subgroup too
			points[i].Add(&points[i], order8(t))
		}
	}
	points[5].Set(edwards25519.NewIdentityPoint())
	ext := make([]extended, len(points))
	for i := range points {
		ext[i].fromPoint(&points[i])
	}
	enc := encodeBatch(ext)
	require.Len(t, enc, 32*len(points))
	for i := range points {
		assert.Equal(t, points[i].Bytes(), enc[32*i:32*i+32], "point %d", i)
	}
	assert.Empty(t, encodeBatch(nil))
}

func TestDecodeChoice(t *testing.T) {
	t.Parallel()
	P := new(edwards25519.Point).ScalarBaseMult(randomEdScalar(t))
	var eight edwards25519.Point
	eight.MultByCofactor(P)
	var v edwards25519.Point

	require.NoError(t, decodeChoice(&v, P.Bytes()))
	assert.Equal(t, 1, v.Equal(&eight))

	// A small-order component is projected away.
	withTorsion := new(edwards25519.Point).Add(P, order8(t))
	require.NoError(t, decodeChoice(&v, withTorsion.Bytes()))
	assert.Equal(t, 1, v.Equal(&eight))

	// Refused: the identity, small-order points, non-canonical encodings
	// (y ≥ p, and x = 0 with the sign bit set), off-curve bytes, bad lengths.
	identity := edwards25519.NewIdentityPoint().Bytes()
	negZero := bytes.Clone(identity)
	negZero[31] |= 0x80
	nonCanonical := []byte{0xee} // y = p + 1, which reduces to 1
	nonCanonical = append(nonCanonical, bytes.Repeat([]byte{0xff}, 30)...)
	nonCanonical = append(nonCanonical, 0x7f)
	var offCurve []byte
	for y := byte(2); ; y++ {
		enc := make([]byte, 32)
		enc[0] = y
		if _, err := new(edwards25519.Point).SetBytes(enc); err != nil {
			offCurve = enc
			break
		}
	}
	for name, b := range map[string][]byte{
		"identity": identity, "order 2": order2(t).Bytes(), "order 8": order8(t).Bytes(),
		"x = −0": negZero, "y ≥ p": nonCanonical, "off curve": offCurve,
		"short": P.Bytes()[:31], "long": append(P.Bytes(), 0),
	} {
		assert.ErrorIs(t, decodeChoice(&v, b), errChoicePoint, name)
	}
	// canonicalY accepts p − 1 and refuses p.
	pMinus1 := append([]byte{0xec}, append(bytes.Repeat([]byte{0xff}, 30), 0x7f)...)
	p := append([]byte{0xed}, append(bytes.Repeat([]byte{0xff}, 30), 0x7f)...)
	assert.True(t, canonicalY(pMinus1))
	assert.False(t, canonicalY(p))
	assert.True(t, canonicalY(append(bytes.Repeat([]byte{0xff}, 31), 0x3f)))
}

// A receiver that adds small-order components to its A_i gets exactly the
// outputs of an honest run: the sender works with the prime-order part, so
// the torsion neither breaks the OT nor tells the receiver anything about
// the sender's b. Points of small order are refused.
func TestBaseOTProjectsTorsion(t *testing.T) {
	t.Parallel()
	s, key, err := NewBaseSender(testPair, nil)
	require.NoError(t, err)
	r, choice, err := NewBaseReceiver(testPair, key, nil)
	require.NoError(t, err)
	var m vectorMsg
	require.NoError(t, wire.Unmarshal(choice, &m))
	T8, T2 := order8(t), order2(t)
	for i := 0; i < Kappa; i++ {
		var A edwards25519.Point
		_, err := A.SetBytes(m.V[32*i : 32*i+32])
		require.NoError(t, err)
		if i%2 == 0 {
			A.Add(&A, T8)
		} else {
			A.Add(&A, T2)
		}
		copy(m.V[32*i:], A.Bytes())
	}
	tampered, err := wire.Marshal(m)
	require.NoError(t, err)
	chal, err := s.Challenge(tampered)
	require.NoError(t, err)
	resp, err := r.Respond(chal)
	require.NoError(t, err)
	opn, recv, err := s.Open(resp)
	require.NoError(t, err)
	send, err := r.Finish(opn)
	require.NoError(t, err)
	for i := 0; i < Kappa; i++ {
		bit := send.delta[i/8] >> (i % 8) & 1
		assert.Equal(t, recv.seeds[i][bit], send.seeds[i], "OT %d", i)
		assert.NotEqual(t, recv.seeds[i][1-bit], send.seeds[i], "OT %d", i)
	}

	// A choice of small order is refused, and the sender stays usable.
	s, key, err = NewBaseSender(testPair, nil)
	require.NoError(t, err)
	_, choice, err = NewBaseReceiver(testPair, key, nil)
	require.NoError(t, err)
	require.NoError(t, wire.Unmarshal(choice, &m))
	orig := bytes.Clone(m.V[32*7 : 32*8])
	copy(m.V[32*7:], T8.Bytes())
	bad, err := wire.Marshal(m)
	require.NoError(t, err)
	_, err = s.Challenge(bad)
	assert.ErrorIs(t, err, round.ErrMalformed)
	copy(m.V[32*7:], orig)
	good, err := wire.Marshal(m)
	require.NoError(t, err)
	_, err = s.Challenge(good)
	assert.NoError(t, err)
}

func BenchmarkComb(b *testing.B) {
	P := new(edwards25519.Point).ScalarBaseMult(randomEdScalar(b))
	s := randomEdScalar(b)
	e := radix16(s)
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			newComb(P)
		}
	})
	c := newComb(P)
	var v extended
	b.Run("mul", func(b *testing.B) {
		for b.Loop() {
			c.mul(&v, &e)
		}
	})
	var p edwards25519.Point
	b.Run("ScalarMult", func(b *testing.B) {
		for b.Loop() {
			p.ScalarMult(s, P)
		}
	})
	b.Run("ScalarBaseMult", func(b *testing.B) {
		for b.Loop() {
			p.ScalarBaseMult(s)
		}
	})
}
