package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/cairn-mpc/cairn/internal/wire"
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
// and KEM opens the frames sealed to it. Keep it secret: fmt (every verb)
// and log/slog print it redacted, so a logged Config shows no key.
type Identity struct {
	Signing ed25519.PrivateKey
	KEM     hpke.PrivateKey
}

// redacted is what String, Format and LogValue show for an Identity.
const redacted = "e2e.Identity{REDACTED}"

// String returns a fixed string, never the keys.
func (id Identity) String() string { return redacted }

// Format keeps the keys out of every fmt verb, %#v and %x included: without
// it fmt would print the struct's fields, the private keys among them.
func (id Identity) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue keeps the keys out of log/slog, whose JSON handler would
// otherwise encode the fields.
func (id Identity) LogValue() slog.Value { return slog.StringValue(redacted) }

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

// kemNames are the names Peer's text form uses for each KEM.
var kemNames = map[KEM]string{X25519: "x25519", MLKEM768X25519: "mlkem768x25519"}

// MarshalText encodes p for configuration files as
// "ed25519:<key>,<kem>:<key>", keys in unpadded base64url and <kem> one of
// "x25519" and "mlkem768x25519". encoding/json uses it, so a directory can
// be a JSON object of node ids to these strings.
func (p Peer) MarshalText() ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("e2e: peer %w", err)
	}
	kem := KEM(p.KEM.KEM().ID())
	b64 := base64.RawURLEncoding
	return fmt.Appendf(nil, "ed25519:%s,%s:%s", b64.EncodeToString(p.Signing), kemNames[kem], b64.EncodeToString(p.KEM.Bytes())), nil
}

// UnmarshalText parses the form MarshalText writes.
func (p *Peer) UnmarshalText(text []byte) error {
	sig, kem, ok := strings.Cut(string(text), ",")
	if !ok {
		return errors.New("e2e: peer keys: want \"ed25519:<key>,<kem>:<key>\"")
	}
	b64 := base64.RawURLEncoding
	sigKey, ok := strings.CutPrefix(sig, "ed25519:")
	if !ok {
		return errors.New("e2e: peer keys: first key is not ed25519")
	}
	s, err := b64.DecodeString(sigKey)
	if err != nil || len(s) != ed25519.PublicKeySize {
		return errors.New("e2e: peer keys: malformed ed25519 key")
	}
	name, kemKey, ok := strings.Cut(kem, ":")
	if !ok {
		return errors.New("e2e: peer keys: malformed KEM key")
	}
	var k KEM
	for id, n := range kemNames {
		if n == name {
			k = id
		}
	}
	hk, err := k.hpke()
	if err != nil {
		return fmt.Errorf("e2e: peer keys: unknown KEM %q", name)
	}
	raw, err := b64.DecodeString(kemKey)
	if err != nil {
		return fmt.Errorf("e2e: peer keys: malformed %s key", name)
	}
	pub, err := hk.NewPublicKey(raw)
	if err != nil {
		return fmt.Errorf("e2e: peer keys: %s key: %w", name, err)
	}
	*p = Peer{Signing: ed25519.PublicKey(s), KEM: pub}
	return nil
}

// identityFile is Identity's binary form.
type identityFile struct {
	_       struct{} `cbor:",toarray"`
	Seed    []byte   // Ed25519 seed
	KEM     uint16   // KEM id
	KEMPriv []byte   // the KEM's serialised private key
}

// MarshalBinary encodes id (secret: store it as such, e.g. in a file of
// mode 0600 or sealed) in the internal/wire format.
func (id Identity) MarshalBinary() ([]byte, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	priv, err := id.KEM.Bytes()
	if err != nil {
		return nil, fmt.Errorf("e2e: encoding KEM key: %w", err)
	}
	return wire.Marshal(identityFile{Seed: id.Signing.Seed(), KEM: id.KEM.KEM().ID(), KEMPriv: priv})
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (id *Identity) UnmarshalBinary(b []byte) error {
	var f identityFile
	if err := wire.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("e2e: identity: %w", err)
	}
	if len(f.Seed) != ed25519.SeedSize {
		return errors.New("e2e: identity: malformed signing key")
	}
	k, err := KEM(f.KEM).hpke()
	if err != nil {
		return fmt.Errorf("e2e: identity: %w", err)
	}
	priv, err := k.NewPrivateKey(f.KEMPriv)
	if err != nil {
		return fmt.Errorf("e2e: identity: KEM key: %w", err)
	}
	*id = Identity{Signing: ed25519.NewKeyFromSeed(f.Seed), KEM: priv}
	return nil
}
