package frost

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/h2c"
)

// Suite is a FROST ciphersuite: a prime-order group and the hash functions
// H1…H5 of RFC 9591, section 6. The three suites are the package variables
// Ed25519, Secp256k1 and BIP340; there are no others.
type Suite struct {
	context string // RFC 9591 contextString
	curve   curve.Curve
	kind    suiteKind
}

type suiteKind uint8

const (
	kindEd25519 suiteKind = iota + 1
	kindSecp256k1
	kindBIP340
)

var (
	// Ed25519 is FROST(Ed25519, SHA-512), RFC 9591 section 6.1. Its
	// signatures are RFC 8032 Ed25519 signatures (H2 is plain SHA-512), so
	// crypto/ed25519.Verify accepts them under the 32-byte group key.
	Ed25519 = &Suite{context: "FROST-ED25519-SHA512-v1", curve: curve.Edwards25519, kind: kindEd25519}

	// Secp256k1 is FROST(secp256k1, SHA-256), RFC 9591 section 6.5.
	// Signatures are 65 bytes: SEC1-compressed R followed by z.
	Secp256k1 = &Suite{context: "FROST-secp256k1-SHA256-v1", curve: curve.Secp256k1, kind: kindSecp256k1}

	// BIP340 is FROST over secp256k1 producing BIP340 (Taproot) Schnorr
	// signatures: 64 bytes R.x‖s under the x-only group key, optionally
	// BIP341-tweaked (see Taproot). H1, H3, H4 and H5 are those of
	// FROST(secp256k1, SHA-256) under the context string
	// "FROST-secp256k1-SHA256-TR-v1"; the challenge H2 is
	// hash_BIP0340/challenge(R.x‖P.x‖m) mod n. The group key and the group
	// commitment are used in their even-y form, as BIP340 defines them:
	// when the group key has odd y every secret and verification share is
	// negated for signing, and when the group commitment R has odd y every
	// signer negates its nonces (and verifiers their commitment shares).
	// The suite reproduces the test vectors of the Zcash Foundation's
	// frost-secp256k1-tr.
	BIP340 = &Suite{context: "FROST-secp256k1-SHA256-TR-v1", curve: curve.Secp256k1, kind: kindBIP340}
)

// SuiteByName returns the suite whose Name is name, or nil.
func SuiteByName(name string) *Suite {
	for _, s := range []*Suite{Ed25519, Secp256k1, BIP340} {
		if s.context == name {
			return s
		}
	}
	return nil
}

// Name is the suite's RFC 9591 context string.
func (s *Suite) Name() string { return s.context }

// String returns Name.
func (s *Suite) String() string { return s.context }

// Curve is the suite's group.
func (s *Suite) Curve() curve.Curve { return s.curve }

// SignatureSize is the length of the suite's signatures.
func (s *Suite) SignatureSize() int {
	if s.kind == kindSecp256k1 {
		return 65
	}
	return 64
}

func (s *Suite) valid() bool {
	return s == Ed25519 || s == Secp256k1 || s == BIP340
}

// hashToScalar is H1, H2 (RFC suites only) and H3: SHA-512 reduced modulo
// the order for Ed25519, hash_to_field with expand_message_xmd(SHA-256) and
// L = 48 for secp256k1.
func (s *Suite) hashToScalar(tag string, parts ...[]byte) curve.Scalar {
	if s.kind == kindEd25519 {
		h := sha512.New()
		if tag != "chal" { // H2 is SHA-512 alone, for RFC 8032 compatibility
			h.Write([]byte(s.context))
			h.Write([]byte(tag))
		}
		for _, p := range parts {
			h.Write(p)
		}
		return s.curve.ReduceScalar(h.Sum(nil))
	}
	var msg []byte
	for _, p := range parts {
		msg = append(msg, p...)
	}
	u, err := h2c.ExpandMessageXMD(sha256.New, msg, []byte(s.context+tag), 48)
	if err != nil {
		panic(fmt.Sprintf("frost: unreachable: expand_message_xmd: %v", err)) // fixed, valid length and DST
	}
	return s.curve.ReduceScalar(u)
}

// h1 is H1, the binding factor hash.
func (s *Suite) h1(m []byte) curve.Scalar { return s.hashToScalar("rho", m) }

// h3 is H3, the nonce hash.
func (s *Suite) h3(parts ...[]byte) curve.Scalar { return s.hashToScalar("nonce", parts...) }

// h4 and h5 are H4 (message) and H5 (commitment list): the suite's hash over
// contextString‖tag‖m, not reduced.
func (s *Suite) h4(m []byte) []byte { return s.digest("msg", m) }
func (s *Suite) h5(m []byte) []byte { return s.digest("com", m) }

func (s *Suite) digest(tag string, m []byte) []byte {
	if s.kind == kindEd25519 {
		h := sha512.New()
		h.Write([]byte(s.context))
		h.Write([]byte(tag))
		h.Write(m)
		return h.Sum(nil)
	}
	h := sha256.New()
	h.Write([]byte(s.context))
	h.Write([]byte(tag))
	h.Write(m)
	return h.Sum(nil)
}
