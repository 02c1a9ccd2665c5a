package frost

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/curve"
)

// taggedHash is BIP340's hash_tag(m) = SHA256(SHA256(tag)‖SHA256(tag)‖m).
func taggedHash(tag string, parts ...[]byte) []byte {
	th := sha256.Sum256([]byte(tag))
	h := sha256.New()
	h.Write(th[:])
	h.Write(th[:])
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// bip340Challenge is int(hash_BIP0340/challenge(R.x‖P.x‖m)) mod n.
func bip340Challenge(rx, px, msg []byte) curve.Scalar {
	return curve.Secp256k1.ReduceScalar(taggedHash("BIP0340/challenge", rx, px, msg))
}

// fieldPrime is p of secp256k1, big-endian.
var fieldPrime = []byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xfc, 0x2f,
}

// verifyBIP340 is the Verify algorithm of BIP340 for a 32-byte x-only public
// key, a message of any length and a 64-byte signature.
func verifyBIP340(pub, msg, sig []byte) error {
	if len(sig) != 64 {
		return fmt.Errorf("%w: BIP340 signature is %d bytes, want 64", ErrInvalidSignature, len(sig))
	}
	p, err := curve.LiftX(pub) // fails unless pub < p and x³+7 is a square
	if err != nil {
		return fmt.Errorf("%w: public key: %w", ErrInvalidSignature, err)
	}
	r := sig[:32]
	if bytes.Compare(r, fieldPrime) >= 0 {
		return fmt.Errorf("%w: r is not below the field prime", ErrInvalidSignature)
	}
	s, err := curve.Secp256k1.DecodeScalar(sig[32:])
	if err != nil {
		return fmt.Errorf("%w: s is not below the group order", ErrInvalidSignature)
	}
	e := bip340Challenge(r, pub, msg)
	R := curve.Secp256k1.MulBase(s).Sub(p.Mul(e))
	if R.IsIdentity() || !curve.HasEvenY(R) || !bytes.Equal(curve.XOnly(R), r) {
		return ErrInvalidSignature
	}
	return nil
}

// Taproot asks for a BIP341 key-path signature: the group key P is the
// internal key and signatures verify under the output key
// Q = lift_x(P.x) + t·G with t = hash_TapTweak(P.x‖MerkleRoot). It applies to
// the BIP340 suite only.
type Taproot struct {
	// MerkleRoot is the 32-byte root of the script tree, or empty for a key
	// with no script path (BIP86), where the tweak commits to P.x alone.
	MerkleRoot []byte
}

// ErrInvalidTweak reports a Taproot tweak that cannot be applied: a Merkle
// root of the wrong length, a tweak not below the group order, or an output
// key at infinity (BIP341 taproot_tweak_pubkey fails in the last two cases,
// which happen with negligible probability).
var ErrInvalidTweak = errors.New("frost: invalid taproot tweak")

// taprootTweak returns t and Q = lift_x(P.x) + t·G of BIP341
// taproot_tweak_pubkey.
func taprootTweak(p curve.Point, tr *Taproot) (curve.Scalar, curve.Point, error) {
	if len(tr.MerkleRoot) != 0 && len(tr.MerkleRoot) != 32 {
		return nil, nil, fmt.Errorf("%w: merkle root is %d bytes, want 0 or 32", ErrInvalidTweak, len(tr.MerkleRoot))
	}
	px := curve.XOnly(p)
	t, err := curve.Secp256k1.DecodeScalar(taggedHash("TapTweak", px, tr.MerkleRoot))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: tweak is not below the group order", ErrInvalidTweak)
	}
	even := p
	if !curve.HasEvenY(p) {
		even = p.Negate()
	}
	q := even.Add(curve.Secp256k1.MulBase(t))
	if q.IsIdentity() {
		return nil, nil, fmt.Errorf("%w: output key is the point at infinity", ErrInvalidTweak)
	}
	return t, q, nil
}

// OutputKey returns the x-only BIP341 output key Q.x of the BIP340 group key
// groupKey under tr: what a Taproot key-path signature verifies under. It
// needs no share, so a coordinator can check signatures with it.
func OutputKey(groupKey curve.Point, tr *Taproot) ([]byte, error) {
	if tr == nil {
		return nil, fmt.Errorf("%w: no tweak", ErrInvalidTweak)
	}
	_, q, err := taprootTweak(groupKey, tr)
	if err != nil {
		return nil, err
	}
	return curve.XOnly(q), nil
}
