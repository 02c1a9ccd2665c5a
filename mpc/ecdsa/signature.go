package ecdsa

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	decred "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Signature is an ECDSA signature (r, s) over secp256k1 in low-s form
// (s ≤ n/2, BIP62/EIP-2), with the recovery id that lets a verifier
// recover the public key from the signature and the digest.
type Signature struct {
	// R and S are r and s, 32 bytes big-endian each.
	R, S [32]byte
	// RecoveryID is 0–3: bit 0 is the parity of the y coordinate of the
	// nonce point kG (of the point for which s, as normalized, is valid),
	// bit 1 is set when its x coordinate is at least the group order n
	// (probability about 2^−128).
	RecoveryID byte
	// PublicKey is the SEC1 compressed key the signature verifies under
	// (the group key, tweaked if the request had a Tweak).
	PublicKey []byte
}

// Bytes is r ‖ s, 64 bytes.
func (s *Signature) Bytes() []byte { return append(s.R[:len(s.R):len(s.R)], s.S[:]...) }

// DER is the signature in the DER encoding Bitcoin's scripts use.
func (s *Signature) DER() []byte { return s.decred().Serialize() }

func (s *Signature) decred() *decred.Signature {
	var r, ss secp256k1.ModNScalar
	r.SetBytes(&s.R)
	ss.SetBytes(&s.S)
	return decred.NewSignature(&r, &ss)
}

// ErrInvalidSignature reports a signature that does not verify.
var ErrInvalidSignature error = &checkError{"ecdsa: signature does not verify", round.ErrBadSignature}

// Verify checks sig over the 32-byte digest under the SEC1-encoded public
// key pub with decred's ECDSA verifier, and that s is in low-s form and
// RecoveryID recovers pub.
func Verify(pub, digest []byte, sig *Signature) error {
	if sig == nil || len(digest) != 32 {
		return fmt.Errorf("%w: no signature or a digest that is not 32 bytes", ErrInvalidSignature)
	}
	pk, err := secp256k1.ParsePubKey(pub)
	if err != nil {
		return fmt.Errorf("%w: public key: %w", ErrInvalidSignature, err)
	}
	var r, s secp256k1.ModNScalar
	if r.SetBytes(&sig.R) != 0 || s.SetBytes(&sig.S) != 0 || r.IsZero() || s.IsZero() || s.IsOverHalfOrder() {
		return fmt.Errorf("%w: r or s out of range, or s not low", ErrInvalidSignature)
	}
	if !decred.NewSignature(&r, &s).Verify(digest, pk) {
		return ErrInvalidSignature
	}
	if sig.RecoveryID > 3 {
		return fmt.Errorf("%w: recovery id %d", ErrInvalidSignature, sig.RecoveryID)
	}
	got, _, err := decred.RecoverCompact(sig.Compact(), digest)
	if err != nil || !got.IsEqual(pk) {
		return fmt.Errorf("%w: the recovery id does not recover the key", ErrInvalidSignature)
	}
	return nil
}

// Compact is the 65-byte form decred's RecoverCompact takes (and Bitcoin's
// signed messages use): 27 + 4 + RecoveryID, then r ‖ s, for a compressed
// key.
func (s *Signature) Compact() []byte {
	out := make([]byte, 0, 65)
	out = append(out, 27+4+s.RecoveryID)
	out = append(out, s.R[:]...)
	return append(out, s.S[:]...)
}

// order is the secp256k1 group order n, big-endian.
var order = secp256k1.S256().N.FillBytes(make([]byte, 32))

// finish computes s = Σw · (Σu)^−1 (DKLs23 Protocol 3.6, phase 4),
// normalizes it to low s, sets the recovery id from R, and verifies the
// signature under pub before returning it (design §4 check 6). The values
// here are all public: they are the signature.
func finish(R, pub curve.Point, digest []byte, sumU, sumW curve.Scalar) (*Signature, error) {
	if sumU.IsZero() {
		return nil, errors.New("Σu = 0")
	}
	// Σu and Σw are public (every signer broadcast its u_j and w_j), so the
	// inversion may take variable time.
	var u, ss secp256k1.ModNScalar
	ub, wb := [32]byte(sumU.Bytes()), [32]byte(sumW.Bytes())
	u.SetBytes(&ub)
	ss.SetBytes(&wb)
	ss.Mul(u.InverseNonConst())
	Rb := R.Bytes()
	x := Rb[1:33]
	rx := curve.Secp256k1.ReduceScalar(x)
	if rx.IsZero() || ss.IsZero() {
		return nil, errors.New("r or s is zero")
	}
	sig := &Signature{R: [32]byte(rx.Bytes()), PublicKey: pub.Bytes()}
	odd := Rb[0] == 3
	if ss.IsOverHalfOrder() {
		// (r, −s) is valid for the nonce point −R, whose y parity is the
		// opposite.
		ss.Negate()
		odd = !odd
	}
	ss.PutBytes(&sig.S)
	if odd {
		sig.RecoveryID |= 1
	}
	if bytes.Compare(x, order) >= 0 {
		sig.RecoveryID |= 2
	}
	// The recovery id follows from R by construction; verifying the
	// signature is what the protocol needs (tests also check recovery).
	pk, err := secp256k1.ParsePubKey(sig.PublicKey)
	if err != nil {
		return nil, err
	}
	var r secp256k1.ModNScalar
	r.SetBytes(&sig.R)
	if !decred.NewSignature(&r, &ss).Verify(digest, pk) {
		return nil, ErrInvalidSignature
	}
	return sig, nil
}
