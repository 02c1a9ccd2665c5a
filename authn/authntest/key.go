package authntest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/cairn-mpc/cairn/authn"
)

// KeySigner holds the private key of a key credential (or recovery key)
// and signs what authn asks key credentials to sign.
type KeySigner struct {
	alg  authn.Algorithm
	ed   ed25519.PrivateKey
	p256 *ecdsa.PrivateKey
	k1   *secp256k1.PrivateKey
}

// NewKeySigner generates a key for alg: authn.Ed25519, authn.ECDSAP256 or
// authn.ECDSASecp256k1.
func NewKeySigner(alg authn.Algorithm) (*KeySigner, error) {
	k := &KeySigner{alg: alg}
	var err error
	switch alg {
	case authn.Ed25519:
		_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	case authn.ECDSAP256:
		k.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case authn.ECDSASecp256k1:
		k.k1, err = secp256k1.GeneratePrivateKey()
	default:
		return nil, fmt.Errorf("authntest: %q is not a key-credential algorithm", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("authntest: generating %s key: %w", alg, err)
	}
	return k, nil
}

// MustKeySigner is NewKeySigner for a known-good alg; it panics on error.
func MustKeySigner(alg authn.Algorithm) *KeySigner {
	k, err := NewKeySigner(alg)
	if err != nil {
		panic(err)
	}
	return k
}

// Algorithm returns the key's algorithm.
func (k *KeySigner) Algorithm() authn.Algorithm { return k.alg }

// PublicKey returns the public key in authn's normalized encoding.
func (k *KeySigner) PublicKey() authn.PublicKey {
	var b []byte
	switch k.alg {
	case authn.Ed25519:
		b = k.ed.Public().(ed25519.PublicKey)
	case authn.ECDSAP256:
		b, _ = k.p256.PublicKey.Bytes()
	case authn.ECDSASecp256k1:
		b = k.k1.PubKey().SerializeCompressed()
	}
	return authn.PublicKey{Algorithm: k.alg, Key: b}
}

// CredentialID returns the id the key is registered under.
func (k *KeySigner) CredentialID() []byte {
	pub := k.PublicKey()
	id, err := authn.KeyCredentialID(pub.Algorithm, pub.Key)
	if err != nil {
		panic("authntest: own key refused: " + err.Error())
	}
	return id
}

// Sign signs msg as authn verifies key-credential signatures: pure
// Ed25519, or DER ECDSA over SHA-256 (low-S for secp256k1).
func (k *KeySigner) Sign(msg []byte) []byte {
	switch k.alg {
	case authn.Ed25519:
		return ed25519.Sign(k.ed, msg)
	case authn.ECDSAP256:
		d := sha256.Sum256(msg)
		sig, err := ecdsa.SignASN1(rand.Reader, k.p256, d[:])
		if err != nil {
			panic("authntest: signing: " + err.Error())
		}
		return sig
	default:
		d := sha256.Sum256(msg)
		return secpecdsa.Sign(k.k1, d[:]).Serialize()
	}
}

// Attest answers a key registration challenge (or, within a recovery,
// the recovery challenge) with a KeyAttestation.
func (k *KeySigner) Attest(challenge []byte) []byte {
	cd := authn.KeyClientData(authn.KeyCreate, challenge)
	return mustJSON(authn.KeyAttestation{
		Algorithm:  k.alg,
		PublicKey:  k.PublicKey().Key,
		ClientData: cd,
		Signature:  k.Sign(cd),
	})
}

// Assert answers a login or action challenge with a KeyAssertion.
func (k *KeySigner) Assert(challenge []byte) []byte {
	return k.assert(authn.KeyGet, challenge)
}

// SignRecovery returns the RecoveryRequest JSON that installs creds,
// signed by this recovery key over the recovery challenge.
func (k *KeySigner) SignRecovery(challenge []byte, creds []authn.NewCredential) ([]byte, error) {
	rc, err := authn.RecoveryChallenge(challenge, creds)
	if err != nil {
		return nil, err
	}
	return json.Marshal(authn.RecoveryRequest{Credentials: creds, Assertion: k.assert(authn.KeyRecover, rc)})
}

func (k *KeySigner) assert(typ authn.ClientDataType, challenge []byte) []byte {
	cd := authn.KeyClientData(typ, challenge)
	return mustJSON(authn.KeyAssertion{
		Type:       authn.KeyAssertionType,
		ID:         k.CredentialID(),
		ClientData: cd,
		Signature:  k.Sign(cd),
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("authntest: encoding: " + err.Error())
	}
	return b
}
