package rvole

import (
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/stretchr/testify/require"
)

var order = secp256k1.S256().N

func toBig(x element) *big.Int { b := x.bytes(); return new(big.Int).SetBytes(b) }

func fromBig(v *big.Int) element {
	var b [32]byte
	v.FillBytes(b[:])
	x, ok := decodeElement(b[:])
	if !ok {
		panic("not below n")
	}
	return x
}

// specials are values where carries and borrows are most likely to go
// wrong.
func specials() []*big.Int {
	n := order
	one := big.NewInt(1)
	vals := []*big.Int{big.NewInt(0), one, big.NewInt(2), new(big.Int).Sub(n, one), new(big.Int).Sub(n, big.NewInt(2)),
		new(big.Int).Rsh(n, 1), new(big.Int).Lsh(one, 255), new(big.Int).Sub(new(big.Int).Lsh(one, 128), one),
		new(big.Int).Lsh(one, 64), new(big.Int).Sub(new(big.Int).Lsh(one, 192), one)}
	for range 40 {
		v, _ := rand.Int(rand.Reader, n)
		vals = append(vals, v)
	}
	return vals
}

func TestFieldMatchesBig(t *testing.T) {
	t.Parallel()
	n := order
	vals := specials()
	for _, a := range vals {
		for _, b := range vals {
			x, y := fromBig(a), fromBig(b)
			want := new(big.Int)
			require.Zero(t, want.Add(a, b).Mod(want, n).Cmp(toBig(add(&x, &y))), "add")
			require.Zero(t, want.Sub(a, b).Mod(want, n).Cmp(toBig(sub(&x, &y))), "sub")
			require.Zero(t, want.Mul(a, b).Mod(want, n).Cmp(toBig(mul(&x, &y))), "mul")
		}
		x := fromBig(a)
		want := new(big.Int).Neg(a)
		require.Zero(t, want.Mod(want, n).Cmp(toBig(neg(&x))), "neg")
	}
}

func TestWideAccumulation(t *testing.T) {
	t.Parallel()
	n := order
	nm1 := fromBig(new(big.Int).Sub(n, big.NewInt(1)))
	// The largest sums the package forms, and more.
	for _, terms := range []int{1, 2, Xi, 4096} {
		var w wide
		want := new(big.Int)
		for range terms {
			w.addMul(&nm1, &nm1)
			w.add(&nm1)
			want.Add(want, new(big.Int).Mul(toBig(nm1), toBig(nm1)))
			want.Add(want, toBig(nm1))
		}
		require.Zero(t, want.Mod(want, n).Cmp(toBig(w.reduce())), "%d terms", terms)
	}
	// Random sums.
	vals := specials()
	var w wide
	want := new(big.Int)
	for i, a := range vals {
		b := vals[(i*7+3)%len(vals)]
		x, y := fromBig(a), fromBig(b)
		w.addMul(&x, &y)
		want.Add(want, new(big.Int).Mul(a, b))
	}
	require.Zero(t, want.Mod(want, n).Cmp(toBig(w.reduce())))
}

func TestElementEncoding(t *testing.T) {
	t.Parallel()
	n := order
	all := make([]byte, 32)
	for i := range all {
		all[i] = 0xff
	}
	two256m1 := new(big.Int).SetBytes(all)
	for _, v := range append(specials(), n, new(big.Int).Add(n, big.NewInt(5)), two256m1) {
		var b [32]byte
		v.FillBytes(b[:])
		want := new(big.Int).Mod(v, n)
		require.Zero(t, want.Cmp(toBig(elementFromBytes(b[:]))))
		x, ok := decodeElement(b[:])
		require.Equal(t, v.Cmp(n) < 0, ok)
		if ok {
			require.Equal(t, b[:], x.bytes())
		}
	}
	_, ok := decodeElement(make([]byte, 31))
	require.False(t, ok)
}

func FuzzField(f *testing.F) {
	f.Add(make([]byte, 32), make([]byte, 32))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a) != 32 || len(b) != 32 {
			return
		}
		n := order
		x, y := elementFromBytes(a), elementFromBytes(b)
		ba, bb := new(big.Int).Mod(new(big.Int).SetBytes(a), n), new(big.Int).Mod(new(big.Int).SetBytes(b), n)
		want := new(big.Int)
		if want.Mul(ba, bb).Mod(want, n).Cmp(toBig(mul(&x, &y))) != 0 {
			t.Fatal("mul")
		}
		if want.Add(ba, bb).Mod(want, n).Cmp(toBig(add(&x, &y))) != 0 {
			t.Fatal("add")
		}
		if want.Sub(ba, bb).Mod(want, n).Cmp(toBig(sub(&x, &y))) != 0 {
			t.Fatal("sub")
		}
	})
}
