package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"errors"
	"fmt"
)

// KEM names the HPKE key encapsulation mechanism a node's sealing key uses.
// Its value is the RFC 9180 / draft-ietf-hpke-pq KEM identifier.
type KEM uint16

const (
	// X25519 is DHKEM(X25519, HKDF-SHA256), the default.
	X25519 KEM = 0x0020
	// MLKEM768X25519 is the hybrid post-quantum KEM ML-KEM-768 + X25519
	// (X-Wing) from draft-ietf-hpke-pq. Its encapsulated key is 1120 bytes,
	// carried in every frame, against 32 for X25519.
	MLKEM768X25519 KEM = 0x647a
)

// String returns the KEM's name.
func (k KEM) String() string {
	switch k {
	case X25519:
		return "X25519"
	case MLKEM768X25519:
		return "MLKEM768-X25519"
	}
	return fmt.Sprintf("KEM(0x%04x)", uint16(k))
}

// hpke returns the crypto/hpke KEM, or an error for a KEM this package does
// not accept.
func (k KEM) hpke() (hpke.KEM, error) {
	switch k {
	case X25519, MLKEM768X25519:
		return hpke.NewKEM(uint16(k))
	}
	return nil, fmt.Errorf("e2e: unsupported KEM %v", k)
}

// Identity is a node's secret keys: Signing signs every frame the node sends
// and KEM opens the frames sealed to it. Keep it secret; it has no String
// method that would print it.
type Identity struct {
	Signing ed25519.PrivateKey
	KEM     hpke.PrivateKey
}

// Peer is a node's public keys, as the other nodes' configuration lists
// them.
type Peer struct {
	Signing ed25519.PublicKey
	KEM     hpke.PublicKey
}

// GenerateIdentity returns fresh keys from crypto/rand: an Ed25519 signing
// key and an HPKE key for kem.
func GenerateIdentity(kem KEM) (Identity, error) {
	k, err := kem.hpke()
	if err != nil {
		return Identity{}, err
	}
	_, sig, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Identity{}, fmt.Errorf("e2e: generating signing key: %w", err)
	}
	priv, err := k.GenerateKey()
	if err != nil {
		return Identity{}, fmt.Errorf("e2e: generating %v key: %w", kem, err)
	}
	return Identity{Signing: sig, KEM: priv}, nil
}

// Public returns the public half of id, to give to the other nodes.
func (id Identity) Public() Peer {
	return Peer{Signing: id.Signing.Public().(ed25519.PublicKey), KEM: id.KEM.PublicKey()}
}

func (id Identity) validate() error {
	if len(id.Signing) != ed25519.PrivateKeySize {
		return errors.New("e2e: identity needs an Ed25519 signing key")
	}
	if id.KEM == nil {
		return errors.New("e2e: identity needs an HPKE key")
	}
	if _, err := KEM(id.KEM.KEM().ID()).hpke(); err != nil {
		return err
	}
	return nil
}

func (p Peer) validate() error {
	if len(p.Signing) != ed25519.PublicKeySize {
		return errors.New("needs an Ed25519 public key")
	}
	if p.KEM == nil {
		return errors.New("needs an HPKE public key")
	}
	if _, err := KEM(p.KEM.KEM().ID()).hpke(); err != nil {
		return err
	}
	return nil
}

// equal reports whether p and q are the same keys.
func (p Peer) equal(q Peer) bool {
	return p.Signing.Equal(q.Signing) && p.KEM.KEM().ID() == q.KEM.KEM().ID() &&
		bytes.Equal(p.KEM.Bytes(), q.KEM.Bytes())
}
