package rvole

import (
	"encoding/binary"
	"math/bits"
)

// element is an integer modulo the secp256k1 group order n, as four
// little-endian 64-bit words, always fully reduced (< n).
//
// The multiplication's inner loops are sums of hundreds of products; wide
// accumulates them unreduced and reduces once, which is why this package
// does its own arithmetic instead of reducing after every product with
// decred's ModNScalar. Every function here runs in time independent of the
// values: fixed loop bounds, no branches or indexing on data, carries and
// borrows turned into masks. field_test.go checks everything against
// math/big.
type element [4]uint64

// nWords is n = 2^256 − c, and cWords is c = 2^256 − n, a 129-bit number:
// 2^256 ≡ c (mod n), which is what the reduction folds with.
var (
	nWords = element{0xbfd25e8cd0364141, 0xbaaedce6af48a03b, 0xfffffffffffffffe, 0xffffffffffffffff}
	cWords = [3]uint64{0x402da1732fc9bebf, 0x4551231950b75fc4, 0x1}
)

// elementFromBytes interprets 32 big-endian bytes as an integer x < 2^256
// and returns x mod n. Since 2^256 < 2n one conditional subtraction
// suffices. For uniform bytes the result is within (2^256 − n)/2^256 < 2^−127
// of uniform.
func elementFromBytes(b []byte) element {
	return load(b).subNIfNotBelow()
}

// load reads 32 big-endian bytes as four little-endian words.
func load(b []byte) element {
	_ = b[31]
	return element{
		binary.BigEndian.Uint64(b[24:32]),
		binary.BigEndian.Uint64(b[16:24]),
		binary.BigEndian.Uint64(b[8:16]),
		binary.BigEndian.Uint64(b[0:8]),
	}
}

// decodeElement parses a canonical encoding: 32 big-endian bytes below n.
func decodeElement(b []byte) (element, bool) {
	if len(b) != 32 {
		return element{}, false
	}
	x := load(b)
	_, borrow := x.minusN()
	return x, borrow == 1
}

// bytes returns the 32-byte big-endian encoding.
func (x *element) bytes() []byte {
	b := make([]byte, 32)
	x.put(b)
	return b
}

// put writes the 32-byte big-endian encoding into b.
func (x *element) put(b []byte) {
	_ = b[31]
	binary.BigEndian.PutUint64(b[24:32], x[0])
	binary.BigEndian.PutUint64(b[16:24], x[1])
	binary.BigEndian.PutUint64(b[8:16], x[2])
	binary.BigEndian.PutUint64(b[0:8], x[3])
}

// minusN returns x − n modulo 2^256 and the borrow (1 when x < n).
func (x *element) minusN() (element, uint64) {
	var d element
	var b uint64
	d[0], b = bits.Sub64(x[0], nWords[0], 0)
	d[1], b = bits.Sub64(x[1], nWords[1], b)
	d[2], b = bits.Sub64(x[2], nWords[2], b)
	d[3], b = bits.Sub64(x[3], nWords[3], b)
	return d, b
}

// subNIfNotBelow returns x − n if x ≥ n and x otherwise, for x < 2n.
func (x element) subNIfNotBelow() element {
	d, borrow := x.minusN()
	return choose(borrow, &d, &x)
}

// choose returns x when bit is 0 and y when bit is 1; bit must be 0 or 1.
func choose(bit uint64, x, y *element) element {
	mask := -bit
	var r element
	for k := range r {
		r[k] = x[k]&^mask | y[k]&mask
	}
	return r
}

func add(x, y *element) element {
	var s element
	var carry uint64
	for k := range s {
		s[k], carry = bits.Add64(x[k], y[k], carry)
	}
	// x + y < 2n. Subtract n when the sum overflowed 2^256 or is ≥ n.
	d, borrow := s.minusN()
	return choose(carry|(1^borrow), &s, &d)
}

func sub(x, y *element) element {
	var d element
	var borrow uint64
	for k := range d {
		d[k], borrow = bits.Sub64(x[k], y[k], borrow)
	}
	// On a borrow, d = x − y + 2^256: add n back, dropping the carry.
	mask := -borrow
	var carry uint64
	for k := range d {
		d[k], carry = bits.Add64(d[k], nWords[k]&mask, carry)
	}
	return d
}

func neg(x *element) element {
	var zero element
	return sub(&zero, x)
}

func mul(x, y *element) element {
	var w wide
	w.addMul(x, y)
	return w.reduce()
}

// wide is an unreduced sum of products and elements, below 2^576. Each
// product is below n² < 2^512, so up to 2^63 terms fit.
type wide [9]uint64

// addMul adds x·y.
func (w *wide) addMul(x, y *element) {
	var p [8]uint64
	for i := 0; i < 4; i++ {
		var carry uint64
		for j := 0; j < 4; j++ {
			// x_i·y_j + p_{i+j} + carry < 2^128, so hi never overflows.
			hi, lo := bits.Mul64(x[i], y[j])
			var c uint64
			lo, c = bits.Add64(lo, p[i+j], 0)
			hi += c
			lo, c = bits.Add64(lo, carry, 0)
			hi += c
			p[i+j], carry = lo, hi
		}
		p[i+4] = carry
	}
	var c uint64
	for k := range p {
		w[k], c = bits.Add64(w[k], p[k], c)
	}
	w[8] += c
}

// add adds x.
func (w *wide) add(x *element) {
	var c uint64
	for k := range x {
		w[k], c = bits.Add64(w[k], x[k], c)
	}
	for k := 4; k < len(w); k++ {
		w[k], c = bits.Add64(w[k], 0, c)
	}
}

// fold sets r = x[:4] + x[4:]·c, the same value modulo n; len(r) = len(x).
// The caller's bounds say how many of r's top words are zero.
func fold(r, x []uint64) {
	// r = x[4:]·c, schoolbook: row i adds x[4+i]·c at word i and leaves its
	// carry in word i+3, which no earlier row has written.
	clear(r)
	for i, h := range x[4:] {
		var carry uint64
		for j, cj := range cWords {
			// h·c_j + r_{i+j} + carry < 2^128, so hi never overflows.
			hi, lo := bits.Mul64(h, cj)
			var c uint64
			lo, c = bits.Add64(lo, r[i+j], 0)
			hi += c
			lo, c = bits.Add64(lo, carry, 0)
			hi += c
			r[i+j], carry = lo, hi
		}
		r[i+len(cWords)] = carry
	}
	// r += x[:4], one carry chain.
	var c uint64
	for k := range r {
		var lo uint64
		if k < 4 {
			lo = x[k]
		}
		r[k], c = bits.Add64(r[k], lo, c)
	}
}

// reduce returns the sum modulo n. With x = hi·2^256 + lo, x ≡ hi·c + lo,
// and c < 2^129 shrinks each fold by about 127 bits:
//
//	x  < 2^576                      (9 words)
//	r1 = fold(x)  < 2^449 + 2^256   (8 words)
//	r2 = fold(r1) < 2^323 + 2^256   (6 words)
//	r3 = fold(r2) < 2^197 + 2^256   (5 words, top word 0 or 1)
//	r4 = fold(r3) < 2^256           (when r3 ≥ 2^256 its low part is
//	                                 below 2^197, so adding c cannot wrap)
//
// and one conditional subtraction of n finishes.
func (w *wide) reduce() element {
	var r1 [9]uint64
	fold(r1[:], w[:])
	var r2 [8]uint64
	fold(r2[:], r1[:8])
	var r3 [6]uint64
	fold(r3[:], r2[:6])
	var r4 [5]uint64
	fold(r4[:], r3[:5])
	return element{r4[0], r4[1], r4[2], r4[3]}.subNIfNotBelow()
}
