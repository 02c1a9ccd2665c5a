// Package h2c implements expand_message_xmd from RFC 9380, section 5.3.1:
// the message expansion under hash_to_field, which FROST(secp256k1, SHA-256)
// (RFC 9591, section 6.5) uses for its H1, H2 and H3.
//
// Only the expander is here; reducing its output modulo a group order is the
// caller's job (for FROST, curve.Curve.ReduceScalar).
package h2c

import (
	"errors"
	"fmt"
	"hash"
)

// ErrLength reports a requested output length or domain separation tag that
// RFC 9380 does not allow.
var ErrLength = errors.New("h2c: invalid length")

// oversizeDSTPrefix is the prefix RFC 9380, section 5.3.3, hashes a DST longer
// than 255 bytes with.
const oversizeDSTPrefix = "H2C-OVERSIZE-DST-"

// ExpandMessageXMD returns n bytes of expand_message_xmd(msg, dst, n) with the
// Merkle–Damgård hash h (for example sha256.New). A dst longer than 255 bytes
// is first hashed as RFC 9380, section 5.3.3, prescribes. It fails when n is
// zero, above 65535, or above 255 hash outputs.
//
// RFC 9380 requires the hash to have collision resistance of at least the
// target security level and a dst unique to the protocol; both are the
// caller's contract.
func ExpandMessageXMD(h func() hash.Hash, msg, dst []byte, n int) ([]byte, error) {
	hh := h()
	bInBytes, sInBytes := hh.Size(), hh.BlockSize()
	if len(dst) > 255 {
		hh.Write([]byte(oversizeDSTPrefix))
		hh.Write(dst)
		dst = hh.Sum(nil)
		hh.Reset()
	}
	ell := (n + bInBytes - 1) / bInBytes
	if n <= 0 || n > 65535 || ell > 255 {
		return nil, fmt.Errorf("%w: expand_message_xmd output of %d bytes", ErrLength, n)
	}
	dstPrime := append(dst[:len(dst):len(dst)], byte(len(dst)))

	// b_0 = H(Z_pad || msg || I2OSP(n, 2) || I2OSP(0, 1) || DST_prime)
	hh.Write(make([]byte, sInBytes))
	hh.Write(msg)
	hh.Write([]byte{byte(n >> 8), byte(n), 0})
	hh.Write(dstPrime)
	b0 := hh.Sum(nil)

	// b_1 = H(b_0 || I2OSP(1, 1) || DST_prime),
	// b_i = H(strxor(b_0, b_(i-1)) || I2OSP(i, 1) || DST_prime).
	out := make([]byte, 0, ell*bInBytes)
	prev := make([]byte, bInBytes)
	for i := 1; i <= ell; i++ {
		for j := range prev {
			prev[j] ^= b0[j]
		}
		hh.Reset()
		hh.Write(prev)
		hh.Write([]byte{byte(i)})
		hh.Write(dstPrime)
		prev = hh.Sum(prev[:0])
		out = append(out, prev...)
	}
	return out[:n], nil
}
