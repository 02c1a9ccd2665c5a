package ot

import "encoding/binary"

// Bit vectors are little-endian throughout this package: bit j of a byte
// string is b[j/8]>>(j%8)&1, and bit j of a []uint64 is w[j/64]>>(j%64)&1,
// so loading a byte string as little-endian words keeps every bit's index.

// gf is an element of GF(2^256) = GF(2)[X]/(X^256 + X^10 + X^5 + X^2 + 1):
// bit p (in the little-endian order above) is the coefficient of X^p. The
// modulus is the pentanomial of Hankerson, Menezes and Vanstone, "Guide to
// Elliptic Curve Cryptography", Table A.1; its irreducibility is checked by
// TestModulusIrreducible.
type gf [4]uint64

// gfReduction is X^256 mod the modulus: X^10 + X^5 + X^2 + 1.
const gfReduction = 1<<10 | 1<<5 | 1<<2 | 1

func gfFromBytes(b []byte) (e gf) {
	for k := range e {
		e[k] = binary.LittleEndian.Uint64(b[8*k:])
	}
	return e
}

func (e gf) bytes() []byte {
	b := make([]byte, 32)
	for k := range e {
		binary.LittleEndian.PutUint64(b[8*k:], e[k])
	}
	return b
}

func (e gf) xor(f gf) gf { return gf{e[0] ^ f[0], e[1] ^ f[1], e[2] ^ f[2], e[3] ^ f[3]} }

// and returns e with every bit cleared when mask is 0 and kept when mask is
// all ones.
func (e gf) and(mask uint64) gf { return gf{e[0] & mask, e[1] & mask, e[2] & mask, e[3] & mask} }

// mulX returns e·X, in constant time.
func (e gf) mulX() gf {
	top := -(e[3] >> 63)
	return gf{
		e[0]<<1 ^ top&gfReduction,
		e[1]<<1 | e[0]>>63,
		e[2]<<1 | e[1]>>63,
		e[3]<<1 | e[2]>>63,
	}
}

// gfMul returns a·b. It runs in time independent of both operands (a
// shift-and-add over the 256 bits of b with masks, no branches or indexing
// on data); it serves the few products per extension that involve a secret.
func gfMul(a, b gf) gf {
	var r gf
	for k := 3; k >= 0; k-- {
		for bit := 63; bit >= 0; bit-- {
			r = r.mulX().xor(a.and(-(b[k] >> uint(bit) & 1)))
		}
	}
	return r
}

// transpose64 transposes a 64×64 bit matrix in place: bit c of row r moves
// to bit r of row c (Warren, "Hacker's Delight", 2nd ed., §7–3, with the
// block swaps adapted to little-endian bit order). It swaps the off-diagonal
// j×j blocks for j = 32, 16, …, 1 with masks only.
func transpose64(a *[64]uint64) {
	m := uint64(0x00000000ffffffff)
	for j := 32; j != 0; {
		for k := 0; k < 64; k = (k + j + 1) &^ j {
			t := (a[k]>>uint(j) ^ a[k+j]) & m
			a[k] ^= t << uint(j)
			a[k+j] ^= t
		}
		j >>= 1
		m ^= m << uint(j)
	}
}

// transposeToColumns transposes a Kappa×(64·w) bit matrix, given as Kappa
// rows of w words each (row i at rows[i*w:(i+1)*w]), into 64·w columns of
// Kappa bits: bit i of cols[c] is bit c of row i.
func transposeToColumns(rows []uint64, w int, cols []gf) {
	var blk [64]uint64
	for g := 0; g < Kappa/64; g++ { // 64-row group
		for c := 0; c < w; c++ { // 64-column group
			for r := range blk {
				blk[r] = rows[(64*g+r)*w+c]
			}
			transpose64(&blk)
			for r := range blk {
				cols[64*c+r][g] = blk[r]
			}
		}
	}
}

// transposeSquare transposes a 256×256 bit matrix given as 256 rows.
func transposeSquare(m *[256]gf) {
	var blk [64]uint64
	var out [256]gf
	for g := 0; g < 4; g++ {
		for c := 0; c < 4; c++ {
			for r := range blk {
				blk[r] = m[64*g+r][c]
			}
			transpose64(&blk)
			for r := range blk {
				out[64*c+r][g] = blk[r]
			}
		}
	}
	*m = out
}

// hashColumns evaluates the consistency check's universal hash on every one
// of the Kappa rows of a matrix given by its columns, bit-sliced.
//
// The matrix has len(cols) = nPad + 256 columns: blocks of 256 columns
// starting at 0 (the last one zero-padded past nPad) and the 256 mask columns
// [nPad, nPad+256). For a row y the hash is
//
//	h(y) = Σ_k χ_k·y_k + y_mask   in GF(2^256),
//
// with y_k the k-th block, as in the consistency check of KOS15 Fig. 10. It
// is GF(2)-linear in y. The result is h(row i) for i < Kappa.
//
// Multiplication by the public χ_k is a GF(2)-linear map M_k, so bit r of
// h over all rows at once is an XOR of columns selected by row r of M_k.
// The columns, which are secret, are combined eight at a time into a table
// of their 256 XOR-combinations, indexed by bytes of the public M_k (the
// "method of four Russians"): no memory access or branch depends on a secret.
func hashColumns(cols []gf, nPad int, chis []gf) [Kappa]gf {
	var planes [256]gf // planes[r] holds bit r of h(row i) at bit i
	copy(planes[:], cols[nPad:nPad+256])
	var m [256]gf
	var t0, t1 [256]gf
	for k, chi := range chis {
		// m[r] bit p = bit r of χ_k·X^p.
		v := chi
		for p := range m {
			m[p] = v
			v = v.mulX()
		}
		transposeSquare(&m)
		// Two chunks of eight columns per pass over the planes.
		for c := 0; c < 32; c += 2 {
			base := 256*k + 8*c
			if base >= nPad {
				break // the rest of the block is zero padding
			}
			fillTable(&t0, cols, base, nPad)
			fillTable(&t1, cols, base+8, nPad)
			shift := uint(8 * (c % 8))
			for r := range planes {
				w := m[r][c/8] >> shift
				planes[r] = planes[r].xor(t0[byte(w)]).xor(t1[byte(w>>8)])
			}
		}
	}
	transposeSquare(&planes)
	return planes
}

// fillTable sets t[v] to the XOR of the columns base+e for the bits e of v,
// columns at or past nPad counting as zero: t[v + 2^e] = t[v] ⊕ col_{base+e}.
func fillTable(t *[256]gf, cols []gf, base, nPad int) {
	t[0] = gf{}
	for e := 0; e < 8; e++ {
		var col gf
		if base+e < nPad {
			col = cols[base+e]
		}
		lo := t[:1<<e]
		hi := t[1<<e : 2<<e]
		for v := range lo {
			hi[v] = lo[v].xor(col)
		}
	}
}

// hashVector is h(x) for one bit vector x of nPad + 256 bits (given as
// words), the same hash as hashColumns computes per row, in constant time
// in x.
func hashVector(x []uint64, nPad int, chis []gf) gf {
	var r gf
	copy(r[:], x[nPad/64:nPad/64+4])
	for k, chi := range chis {
		var blk gf
		for w := 0; w < 4; w++ {
			if idx := 4*k + w; 64*idx < nPad {
				blk[w] = x[idx]
			}
		}
		r = r.xor(gfMul(chi, blk))
	}
	return r
}
