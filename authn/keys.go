package authn

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Algorithm names how a credential's public key is encoded and how its
// signatures are checked.
type Algorithm string

const (
	// Ed25519 keys are the 32-byte RFC 8032 encoding; a signature is the
	// 64-byte pure Ed25519 signature of the message itself.
	Ed25519 Algorithm = "Ed25519"
	// ECDSAP256 keys are SEC1 points on P-256 (compressed or not; stored
	// uncompressed); a signature is ASN.1 DER ECDSA over SHA-256 of the
	// message.
	ECDSAP256 Algorithm = "ECDSA-P256"
	// ECDSASecp256k1 keys are SEC1 points on secp256k1 (stored compressed);
	// a signature is strict ASN.1 DER ECDSA over SHA-256 of the message,
	// with S in the lower half of the order (no malleable twin).
	ECDSASecp256k1 Algorithm = "ECDSA-secp256k1"
	// WebAuthn keys are the COSE_Key of a passkey; a signature is a WebAuthn
	// assertion signature over authenticatorData ‖ SHA-256(clientDataJSON).
	WebAuthn Algorithm = "WebAuthn"
)

// PublicKey is a credential's public key with the algorithm that reads it.
type PublicKey struct {
	Algorithm Algorithm `json:"algorithm" cbor:"1,keyasint"`
	Key       Base64URL `json:"key" cbor:"2,keyasint"`
}

// maxPublicKeySize caps an encoded public key (a COSE RSA-4096 key fits).
const maxPublicKeySize = 1024

// normalizeKey checks that key is a valid public key for alg (on the
// curve, not the identity) and returns its stored encoding.
func normalizeKey(alg Algorithm, key []byte) ([]byte, error) {
	if len(key) > maxPublicKeySize {
		return nil, fmt.Errorf("%w: public key of %d bytes", ErrTooLarge, len(key))
	}
	switch alg {
	case Ed25519:
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrMalformed, len(key))
		}
		return append([]byte(nil), key...), nil
	case ECDSAP256:
		pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), uncompressP256(key))
		if err != nil {
			return nil, fmt.Errorf("%w: P-256 public key: %v", ErrMalformed, err)
		}
		out, err := pk.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: P-256 public key: %v", ErrMalformed, err)
		}
		return out, nil
	case ECDSASecp256k1:
		pk, err := secp256k1.ParsePubKey(key)
		if err != nil {
			return nil, fmt.Errorf("%w: secp256k1 public key: %v", ErrMalformed, err)
		}
		return pk.SerializeCompressed(), nil
	case WebAuthn:
		if _, err := webauthncose.ParsePublicKey(key); err != nil {
			return nil, fmt.Errorf("%w: COSE public key: %v", ErrMalformed, err)
		}
		return append([]byte(nil), key...), nil
	default:
		return nil, fmt.Errorf("%w: unknown algorithm %q", ErrMalformed, truncate(string(alg)))
	}
}

// uncompressP256 expands a compressed P-256 point so that the standard
// library's parser, which takes only the uncompressed form, can check it.
// Anything else is returned unchanged for the parser to judge.
func uncompressP256(key []byte) []byte {
	if len(key) != 33 || (key[0] != 2 && key[0] != 3) {
		return key
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), key)
	if x == nil {
		return key
	}
	out := make([]byte, 65)
	out[0] = 4
	x.FillBytes(out[1:33])
	y.FillBytes(out[33:])
	return out
}

// verifyKeySignature checks sig over msg under a key credential's public
// key, in its stored encoding. It returns nil or an error wrapping
// ErrBadSignature.
func verifyKeySignature(pub PublicKey, msg, sig []byte) error {
	ok := false
	switch pub.Algorithm {
	case Ed25519:
		ok = len(pub.Key) == ed25519.PublicKeySize && len(sig) == ed25519.SignatureSize &&
			ed25519.Verify(ed25519.PublicKey(pub.Key), msg, sig)
	case ECDSAP256:
		pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub.Key)
		if err != nil {
			return fmt.Errorf("%w: stored P-256 key: %v", ErrBadSignature, err)
		}
		digest := sha256.Sum256(msg)
		ok = ecdsa.VerifyASN1(pk, digest[:], sig)
	case ECDSASecp256k1:
		pk, err := secp256k1.ParsePubKey(pub.Key)
		if err != nil {
			return fmt.Errorf("%w: stored secp256k1 key: %v", ErrBadSignature, err)
		}
		s, err := secpecdsa.ParseDERSignature(sig)
		if err != nil {
			return fmt.Errorf("%w: secp256k1 signature: %v", ErrBadSignature, err)
		}
		sv := s.S()
		if sv.IsOverHalfOrder() {
			return fmt.Errorf("%w: secp256k1 signature with high S", ErrBadSignature)
		}
		digest := sha256.Sum256(msg)
		ok = s.Verify(digest[:], pk)
	default:
		return fmt.Errorf("%w: %q is not a key-credential algorithm", ErrBadSignature, pub.Algorithm)
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrBadSignature, pub.Algorithm)
	}
	return nil
}
