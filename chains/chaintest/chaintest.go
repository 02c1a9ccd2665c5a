// Package chaintest holds whole, in-memory keys that implement
// chains.Signer, for tests of chain adapters where no threshold key is
// available or wanted.
//
// Never use it outside tests: the keys exist whole in one process, which is
// what Cairn exists to avoid.
package chaintest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	becdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/txscript"

	"github.com/cairn-mpc/cairn/chains"
)

// ECDSAKey is a secp256k1 key that signs chains.ECDSA digests as 65 bytes
// R‖S‖V (V the recovery id 0 or 1, S low).
type ECDSAKey struct{ priv *btcec.PrivateKey }

// NewECDSAKey returns a fresh random key.
func NewECDSAKey() *ECDSAKey {
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		panic(err)
	}
	return &ECDSAKey{priv: priv}
}

// ECDSAKeyFromBytes returns the key with the 32-byte big-endian scalar b.
func ECDSAKeyFromBytes(b []byte) *ECDSAKey {
	priv, _ := btcec.PrivKeyFromBytes(b)
	return &ECDSAKey{priv: priv}
}

// Public returns the 33-byte compressed public key.
func (k *ECDSAKey) Public() chains.PublicKey {
	return chains.PublicKey{Scheme: chains.ECDSA, Bytes: k.priv.PubKey().SerializeCompressed()}
}

// Sign implements chains.Signer.
func (k *ECDSAKey) Sign(_ context.Context, d chains.Digest) ([]byte, error) {
	if d.Scheme != chains.ECDSA || len(d.Bytes) != 32 {
		return nil, fmt.Errorf("chaintest: an ECDSA key cannot sign a %q digest of %d bytes", d.Scheme, len(d.Bytes))
	}
	compact := becdsa.SignCompact(k.priv, d.Bytes, true)
	// compact is [27 + 4 + recid] ‖ R ‖ S.
	sig := make([]byte, 65)
	copy(sig, compact[1:])
	sig[64] = compact[0] - 27 - 4
	return sig, nil
}

// SchnorrKey is a secp256k1 key that signs chains.BIP340 digests, applying
// the BIP341 tweak a digest asks for.
type SchnorrKey struct{ priv *btcec.PrivateKey }

// NewSchnorrKey returns a fresh random key.
func NewSchnorrKey() *SchnorrKey {
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		panic(err)
	}
	return &SchnorrKey{priv: priv}
}

// SchnorrKeyFromBytes returns the key with the 32-byte big-endian scalar b.
func SchnorrKeyFromBytes(b []byte) *SchnorrKey {
	priv, _ := btcec.PrivKeyFromBytes(b)
	return &SchnorrKey{priv: priv}
}

// Public returns the 32-byte x-only public key.
func (k *SchnorrKey) Public() chains.PublicKey {
	return chains.PublicKey{Scheme: chains.BIP340, Bytes: schnorr.SerializePubKey(k.priv.PubKey())}
}

// Sign implements chains.Signer.
func (k *SchnorrKey) Sign(_ context.Context, d chains.Digest) ([]byte, error) {
	if d.Scheme != chains.BIP340 || len(d.Bytes) != 32 {
		return nil, fmt.Errorf("chaintest: a Schnorr key cannot sign a %q digest of %d bytes", d.Scheme, len(d.Bytes))
	}
	priv := k.priv
	if d.Taproot != nil {
		priv = txscript.TweakTaprootPrivKey(*k.priv, d.Taproot.MerkleRoot)
	}
	sig, err := schnorr.Sign(priv, d.Bytes)
	if err != nil {
		return nil, err
	}
	return sig.Serialize(), nil
}

// Ed25519Key signs chains.Ed25519 digests.
type Ed25519Key struct{ priv ed25519.PrivateKey }

// NewEd25519Key returns a fresh random key.
func NewEd25519Key() *Ed25519Key {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Ed25519Key{priv: priv}
}

// Public returns the 32-byte public key.
func (k *Ed25519Key) Public() chains.PublicKey {
	return chains.PublicKey{Scheme: chains.Ed25519, Bytes: k.priv.Public().(ed25519.PublicKey)}
}

// Sign implements chains.Signer.
func (k *Ed25519Key) Sign(_ context.Context, d chains.Digest) ([]byte, error) {
	if d.Scheme != chains.Ed25519 {
		return nil, fmt.Errorf("chaintest: an Ed25519 key cannot sign a %q digest", d.Scheme)
	}
	return ed25519.Sign(k.priv, d.Bytes), nil
}

// Func adapts a function to chains.Signer.
type Func func(ctx context.Context, d chains.Digest) ([]byte, error)

// Sign implements chains.Signer.
func (f Func) Sign(ctx context.Context, d chains.Digest) ([]byte, error) { return f(ctx, d) }
