package curve

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var curves = []Curve{Secp256k1, Edwards25519}

func TestScalarField(t *testing.T) {
	t.Parallel()
	for _, c := range curves {
		t.Run(c.Name(), func(t *testing.T) {
			a, err := c.RandomScalar(rand.Reader)
			require.NoError(t, err)
			b, err := c.RandomScalar(rand.Reader)
			require.NoError(t, err)
			one := c.ScalarFromUint64(1)
			assert.True(t, a.Mul(a.Invert()).Equal(one), "a·a⁻¹ = 1")
			assert.True(t, a.Add(b).Sub(b).Equal(a))
			assert.True(t, a.Add(a.Negate()).IsZero())
			assert.True(t, c.NewScalar().Invert().IsZero(), "0⁻¹ = 0 by convention")
			assert.True(t, a.Mul(b).Equal(b.Mul(a)))
			// Point arithmetic agrees with scalar arithmetic.
			assert.True(t, c.MulBase(a.Add(b)).Equal(c.MulBase(a).Add(c.MulBase(b))))
			assert.True(t, c.MulBase(a.Mul(b)).Equal(c.MulBase(a).Mul(b)))
			assert.True(t, c.MulBase(a).Sub(c.MulBase(a)).IsIdentity())
			assert.True(t, c.MulBase(a).Negate().Equal(c.MulBase(a.Negate())))
			assert.True(t, c.Generator().Equal(c.MulBase(one)))
			// Encodings round-trip.
			a2, err := c.DecodeScalar(a.Bytes())
			require.NoError(t, err)
			assert.True(t, a.Equal(a2))
			P := c.MulBase(a)
			P2, err := c.DecodePoint(P.Bytes())
			require.NoError(t, err)
			assert.True(t, P.Equal(P2))
			assert.Len(t, P.Bytes(), c.PointSize())
			assert.Len(t, a.Bytes(), c.ScalarSize())
			// No fmt verb prints a scalar's value, alone or inside a struct.
			for _, f := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X"} {
				for _, v := range []any{a, struct{ K Scalar }{a}} {
					out := fmt.Sprintf(f, v)
					assert.Contains(t, out, "redacted", f)
					assert.NotContains(t, out, hex.EncodeToString(a.Bytes()), f)
				}
			}
		})
	}
}

func TestSecp256k1MatchesDecred(t *testing.T) {
	t.Parallel()
	priv, err := secp256k1.GeneratePrivateKey()
	require.NoError(t, err)
	kb := priv.Key.Bytes()
	s, err := Secp256k1.DecodeScalar(kb[:])
	require.NoError(t, err)
	assert.Equal(t, priv.PubKey().SerializeCompressed(), Secp256k1.MulBase(s).Bytes())
}

func TestEdwards25519MatchesStdlib(t *testing.T) {
	t.Parallel()
	// An RFC 8032 public key is [s]B for the clamped, reduced scalar s.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_ = priv
	P, err := Edwards25519.DecodePoint(pub)
	require.NoError(t, err)
	assert.Equal(t, []byte(pub), P.Bytes())
}

func TestDecodeScalarRejects(t *testing.T) {
	t.Parallel()
	n := secp256k1.S256().N
	secpN := n.FillBytes(make([]byte, 32))
	// ℓ for edwards25519, little-endian.
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	edL := l.FillBytes(make([]byte, 32))
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		edL[i], edL[j] = edL[j], edL[i]
	}
	cases := []struct {
		c Curve
		b []byte
	}{
		{Secp256k1, secpN},
		{Secp256k1, make([]byte, 31)},
		{Secp256k1, make([]byte, 33)},
		{Edwards25519, edL},
		{Edwards25519, make([]byte, 31)},
	}
	for _, tc := range cases {
		_, err := tc.c.DecodeScalar(tc.b)
		assert.ErrorIs(t, err, ErrInvalidScalar, "%s %x", tc.c.Name(), tc.b)
	}
}

func TestDecodePointRejects(t *testing.T) {
	t.Parallel()
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	cases := []struct {
		name string
		c    Curve
		b    []byte
	}{
		{"secp identity", Secp256k1, make([]byte, 33)},
		{"secp uncompressed", Secp256k1, Secp256k1.Generator().(*secpPoint).uncompressed()},
		{"secp x not on curve", Secp256k1, append([]byte{2}, make([]byte, 32)...)},
		{"secp x ≥ p", Secp256k1, mustHex("02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc30")},
		{"secp bad prefix", Secp256k1, append([]byte{5}, Secp256k1.Generator().Bytes()[1:]...)},
		{"ed identity", Edwards25519, mustHex("0100000000000000000000000000000000000000000000000000000000000000")},
		// A point of order 8 (from the small-order list of RFC 8032 checkers).
		{"ed small order", Edwards25519, mustHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")},
		// A point of mixed order: G plus a point of order 2 is not in the subgroup.
		{"ed torsion component", Edwards25519, edMixed()},
		// Non-canonical encoding of the identity (y = p + 1).
		{"ed non-canonical", Edwards25519, mustHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")},
		{"ed short", Edwards25519, make([]byte, 31)},
	}
	for _, tc := range cases {
		_, err := tc.c.DecodePoint(tc.b)
		assert.ErrorIs(t, err, ErrInvalidPoint, tc.name)
	}
}

func (p *secpPoint) uncompressed() []byte {
	a := p.affine()
	return secp256k1.NewPublicKey(&a.X, &a.Y).SerializeUncompressed()
}

// edMixed returns G + T2, where T2 = (0, −1) has order 2.
func edMixed() []byte {
	t2, err := new(edPointRaw).SetBytes(mustDecode("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
	if err != nil {
		panic(err)
	}
	g := Edwards25519.Generator().(*edPoint)
	return new(edPointRaw).Add(&g.p, t2).Bytes()
}

func mustDecode(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestReduceScalar(t *testing.T) {
	t.Parallel()
	// 2^256 mod n for secp256k1, computed with math/big.
	b := make([]byte, 33)
	b[0] = 1
	want := new(big.Int).Mod(new(big.Int).Lsh(big.NewInt(1), 256), secp256k1.S256().N)
	assert.Equal(t, want.FillBytes(make([]byte, 32)), Secp256k1.ReduceScalar(b).Bytes())
	// Every length up to 64 bytes, and the extremes, agree with math/big.
	n := secp256k1.S256().N
	inputs := [][]byte{nil, make([]byte, 64), bytes.Repeat([]byte{0xff}, 64), bytes.Repeat([]byte{0xff}, 32), n.Bytes()}
	for l := 0; l <= 64; l++ {
		in := make([]byte, l)
		_, err := rand.Read(in)
		require.NoError(t, err)
		inputs = append(inputs, in)
	}
	for _, in := range inputs {
		want := new(big.Int).Mod(new(big.Int).SetBytes(in), n)
		assert.Equal(t, want.FillBytes(make([]byte, 32)), Secp256k1.ReduceScalar(in).Bytes(), "%x", in)
	}
	// Little-endian reduction for edwards25519: 1 stays 1.
	assert.True(t, Edwards25519.ReduceScalar([]byte{1}).Equal(Edwards25519.ScalarFromUint64(1)))
}

func TestLagrangeInterpolates(t *testing.T) {
	t.Parallel()
	for _, c := range curves {
		secret, err := c.RandomScalar(rand.Reader)
		require.NoError(t, err)
		coeffs := []Scalar{secret}
		for range 2 {
			k, err := c.RandomScalar(rand.Reader)
			require.NoError(t, err)
			coeffs = append(coeffs, k)
		}
		ids := []uint16{2, 4, 5}
		sum := c.NewScalar()
		for _, id := range ids {
			l, err := Lagrange(c, id, ids)
			require.NoError(t, err)
			sum = sum.Add(l.Mul(EvalPolynomial(c, coeffs, c.ScalarFromUint64(uint64(id)))))
		}
		assert.True(t, sum.Equal(secret), c.Name())
		commits := []Point{c.MulBase(coeffs[0]), c.MulBase(coeffs[1]), c.MulBase(coeffs[2])}
		x := c.ScalarFromUint64(7)
		assert.True(t, EvalCommitment(c, commits, x).Equal(c.MulBase(EvalPolynomial(c, coeffs, x))))
		_, err = Lagrange(c, 3, ids)
		assert.Error(t, err)
		_, err = Lagrange(c, 2, []uint16{2, 2, 4})
		assert.Error(t, err)
		_, err = Lagrange(c, 2, []uint16{0, 2})
		assert.Error(t, err)
	}
}

func FuzzDecodePoint(f *testing.F) {
	f.Add(Secp256k1.Generator().Bytes())
	f.Add(Edwards25519.Generator().Bytes())
	f.Add(make([]byte, 33))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range curves {
			P, err := c.DecodePoint(b)
			if err != nil {
				continue
			}
			if P.IsIdentity() {
				t.Fatalf("%s decoded the identity", c.Name())
			}
			if string(P.Bytes()) != string(b) {
				t.Fatalf("%s accepted a non-canonical encoding", c.Name())
			}
		}
	})
}

func FuzzDecodeScalar(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add(secp256k1.S256().N.FillBytes(make([]byte, 32)))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range curves {
			s, err := c.DecodeScalar(b)
			if err == nil && string(s.Bytes()) != string(b) {
				t.Fatalf("%s accepted a non-canonical scalar", c.Name())
			}
		}
	})
}
