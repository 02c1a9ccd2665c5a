package ot

import (
	"crypto/rand"
	"encoding/binary"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func randomWords(t testing.TB, n int) []uint64 {
	b := make([]byte, 8*n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	w := make([]uint64, n)
	for k := range w {
		w[k] = binary.LittleEndian.Uint64(b[8*k:])
	}
	return w
}

func randomGF(t testing.TB) gf {
	return gf(randomWords(t, 4))
}

func bit(w []uint64, j int) uint64 { return w[j/64] >> (j % 64) & 1 }

func TestTranspose64(t *testing.T) {
	t.Parallel()
	var a [64]uint64
	copy(a[:], randomWords(t, 64))
	orig := a
	transpose64(&a)
	for r := 0; r < 64; r++ {
		for c := 0; c < 64; c++ {
			require.Equal(t, orig[r]>>c&1, a[c]>>r&1, "row %d column %d", r, c)
		}
	}
}

func TestTransposeToColumns(t *testing.T) {
	t.Parallel()
	for _, words := range []int{4, 5, 11} {
		rows := randomWords(t, Kappa*words)
		cols := make([]gf, 64*words)
		transposeToColumns(rows, words, cols)
		for i := 0; i < Kappa; i++ {
			for c := 0; c < 64*words; c++ {
				require.Equal(t, bit(rows[i*words:], c), bit(cols[c][:], i))
			}
		}
	}
}

func TestTransposeSquare(t *testing.T) {
	t.Parallel()
	var m [256]gf
	for r := range m {
		m[r] = randomGF(t)
	}
	orig := m
	transposeSquare(&m)
	for r := 0; r < 256; r++ {
		for c := 0; c < 256; c++ {
			require.Equal(t, bit(orig[r][:], c), bit(m[c][:], r))
		}
	}
}

// Polynomials over GF(2) as big.Int bit sets, for reference arithmetic.

var modulus = func() *big.Int {
	p := new(big.Int)
	for _, e := range []int{256, 10, 5, 2, 0} {
		p.SetBit(p, e, 1)
	}
	return p
}()

func polyOf(e gf) *big.Int {
	p := new(big.Int)
	for j := 0; j < 256; j++ {
		p.SetBit(p, j, uint(bit(e[:], j)))
	}
	return p
}

func polyMul(a, b *big.Int) *big.Int {
	r := new(big.Int)
	for j := 0; j < b.BitLen(); j++ {
		if b.Bit(j) == 1 {
			r.Xor(r, new(big.Int).Lsh(a, uint(j)))
		}
	}
	return r
}

func polyMod(a, m *big.Int) *big.Int {
	r := new(big.Int).Set(a)
	for r.BitLen() >= m.BitLen() {
		r.Xor(r, new(big.Int).Lsh(m, uint(r.BitLen()-m.BitLen())))
	}
	return r
}

func polyGCD(a, b *big.Int) *big.Int {
	a, b = new(big.Int).Set(a), new(big.Int).Set(b)
	for b.Sign() != 0 {
		a, b = b, polyMod(a, b)
	}
	return a
}

func TestGFMulMatchesReference(t *testing.T) {
	t.Parallel()
	for range 200 {
		a, b := randomGF(t), randomGF(t)
		want := polyMod(polyMul(polyOf(a), polyOf(b)), modulus)
		require.Zero(t, want.Cmp(polyOf(gfMul(a, b))))
	}
	a := randomGF(t)
	x := gf{2}
	assert.Equal(t, a.mulX(), gfMul(a, x))
	assert.Equal(t, a, gfMul(a, gf{1}))
	assert.Equal(t, gf{}, gfMul(a, gf{}))
}

// TestModulusIrreducible checks X^256 + X^10 + X^5 + X^2 + 1 with Rabin's
// test: a polynomial P of degree 256 = 2^8 is irreducible over GF(2) iff
// X^(2^256) ≡ X mod P and gcd(X^(2^128) − X, P) = 1.
func TestModulusIrreducible(t *testing.T) {
	t.Parallel()
	x := gf{2}
	p := x
	for k := 1; k <= 256; k++ {
		p = gfMul(p, p)
		if k == 128 {
			diff := polyOf(p.xor(x))
			require.Zero(t, polyGCD(modulus, diff).Cmp(big.NewInt(1)), "gcd(X^(2^128) − X, P) ≠ 1")
		}
	}
	require.Equal(t, x, p, "X^(2^256) ≢ X mod P")
}

// naiveHash is h(y) = Σ_k χ_k·y_k + y_mask for one row y of nPad+256 bits.
func naiveHash(y []uint64, nPad int, chis []gf) gf {
	r := gf(y[nPad/64 : nPad/64+4])
	for k, chi := range chis {
		var blk gf
		for w := 0; w < 4; w++ {
			if 64*(4*k+w) < nPad {
				blk[w] = y[4*k+w]
			}
		}
		r = r.xor(gfMul(chi, blk))
	}
	return r
}

func TestHashColumns(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 64, 416, 512, 700} {
		nPad, cols, words := layout(n)
		rows := randomWords(t, Kappa*words)
		chis := make([]gf, (nPad+checkBits-1)/checkBits)
		for k := range chis {
			chis[k] = randomGF(t)
		}
		colsT := make([]gf, cols)
		transposeToColumns(rows, words, colsT)
		got := hashColumns(colsT, nPad, chis)
		for i := 0; i < Kappa; i++ {
			row := rows[i*words : (i+1)*words]
			require.Equal(t, naiveHash(row, nPad, chis), got[i], "n=%d row %d", n, i)
			require.Equal(t, naiveHash(row, nPad, chis), hashVector(row, nPad, chis))
		}
	}
}
