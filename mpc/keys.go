package mpc

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/ecdsa"
	"github.com/cairn-mpc/cairn/mpc/frost"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
)

// Scheme names a signature scheme a key is generated for.
type Scheme string

// The schemes Cairn serves.
const (
	// Ed25519 is FROST(Ed25519, SHA-512): RFC 8032 signatures (Solana, …).
	Ed25519 Scheme = "ed25519"
	// Schnorr is FROST on secp256k1 in BIP340 mode (Bitcoin Taproot).
	Schnorr Scheme = "bip340"
	// SchnorrRFC is FROST(secp256k1, SHA-256) of RFC 9591.
	SchnorrRFC Scheme = "frost-secp256k1"
	// ECDSA is threshold ECDSA on secp256k1, DKLs23 (Ethereum and EVM
	// chains, Bitcoin SegWit v0, …). It needs a threshold of at least 2.
	ECDSA Scheme = "ecdsa-secp256k1"
)

// ErrUnknownScheme reports a scheme this build does not serve.
var ErrUnknownScheme = errors.New("mpc: unknown scheme")

func (s Scheme) suite() (*frost.Suite, error) {
	switch s {
	case Ed25519:
		return frost.Ed25519, nil
	case Schnorr:
		return frost.BIP340, nil
	case SchnorrRFC:
		return frost.Secp256k1, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownScheme, string(s))
}

// valid reports whether this build serves s.
func (s Scheme) valid() error {
	if s == ECDSA {
		return nil
	}
	_, err := s.suite()
	return err
}

// KeySpec asks for a new threshold key.
type KeySpec struct {
	Scheme    Scheme
	Threshold int                // signers needed to sign, 1 ≤ Threshold ≤ len(Signers)
	Signers   []transport.NodeID // the signers that will hold shares; all must take part in the DKG
}

// KeyParty places one share of a key: its party id and the signer holding it.
type KeyParty struct {
	ID   round.PartyID
	Node transport.NodeID
}

// KeyInfo is the public record of a threshold key. It holds nothing secret.
type KeyInfo struct {
	ID        string
	Scheme    Scheme
	Threshold int
	Parties   []KeyParty
	// PublicKey is the key signatures verify under: 32 bytes for Ed25519,
	// the 32-byte x-only key for BIP340, 33-byte SEC1 for SchnorrRFC and
	// ECDSA.
	PublicKey []byte
	// Public is the key's public record from the DKG: group key, every
	// party's verification share, threshold, chain code.
	Public *dkg.PublicKey
}

// SignRequest asks for one signature.
type SignRequest struct {
	KeyID string
	// Message is what is signed: for BIP340 and ECDSA the 32-byte digest
	// (sighash), for Ed25519 the message itself.
	Message []byte
	// Taproot, for BIP340 keys, signs under the BIP341 output key tweaked
	// from the key (nil: the key itself).
	Taproot *frost.Taproot
	// Evidence travels to every signer's gate unchanged (GateRequest.Evidence):
	// what justifies this signature, for a gate that checks it. Opaque to mpc.
	Evidence []byte
}

// Signature is a verified signature.
type Signature struct {
	KeyID     string
	Scheme    Scheme
	PublicKey []byte // what it verifies under (the tweaked key for Taproot)
	// Bytes is the signature: 64 bytes for Ed25519 and BIP340, 65 (R‖z) for
	// SchnorrRFC, and for ECDSA 65 bytes r‖s‖v with s low (BIP62, EIP-2)
	// and v the recovery id (0–3).
	Bytes   []byte
	Signers []transport.NodeID // the quorum that produced it
}

// keyRecord is what a signer keeps (sealed) for one key.
type keyRecord struct {
	_       struct{} `cbor:",toarray"`
	KeyID   string
	Scheme  string
	Parties []partyRef
	Share   []byte // the dkg or ecdsa KeyShare's MarshalBinary
}

// encodeKeyRecord is what a signer seals for one key: the key id, scheme and
// party set with the share's own encoding (dkg or ecdsa). The share's bytes
// are cleared once encoded.
func encodeKeyRecord(id string, scheme Scheme, parties []partyRef, share interface{ MarshalBinary() ([]byte, error) }) ([]byte, error) {
	b, err := share.MarshalBinary()
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return wire.Marshal(keyRecord{KeyID: id, Scheme: string(scheme), Parties: parties, Share: b})
}

// loadedKey is a key share ready to sign with: frost for the Schnorr
// schemes, ecdsa for ECDSA.
type loadedKey struct {
	id        string
	scheme    Scheme
	parties   []partyRef
	self      round.PartyID
	threshold int
	frost     *frost.KeyShare
	ecdsa     *ecdsa.KeyShare
}

func decodeKeyRecord(b []byte) (*loadedKey, error) {
	var rec keyRecord
	if err := wire.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	k := &loadedKey{id: rec.KeyID, scheme: Scheme(rec.Scheme), parties: rec.Parties}
	if k.scheme == ECDSA {
		ks, err := ecdsa.ParseKeyShare(rec.Share)
		if err != nil {
			return nil, err
		}
		k.ecdsa, k.self, k.threshold = ks, ks.Self(), ks.Threshold()
		return k, nil
	}
	ks := &dkg.KeyShare{}
	if err := ks.UnmarshalBinary(rec.Share); err != nil {
		return nil, err
	}
	suite, err := k.scheme.suite()
	if err != nil {
		return nil, err
	}
	if k.frost, err = frost.NewKeyShare(suite, ks.Self, ks.Threshold, ks.Secret, ks.GroupKey, ks.VerificationShares); err != nil {
		return nil, err
	}
	k.self, k.threshold = ks.Self, ks.Threshold
	return k, nil
}

// keyInfoFrom builds the public record of a key from a signer's public
// key record.
func keyInfoFrom(id string, scheme Scheme, parties []partyRef, pub *dkg.PublicKey) (*KeyInfo, error) {
	info := &KeyInfo{ID: id, Scheme: scheme, Threshold: pub.Threshold, Public: pub}
	for _, p := range parties {
		info.Parties = append(info.Parties, KeyParty{ID: round.PartyID(p.ID), Node: transport.NodeID(p.Node)})
	}
	if scheme == ECDSA {
		if pub.Curve != curve.Secp256k1 {
			return nil, fmt.Errorf("mpc: ECDSA key %s is on %s", id, pub.Curve.Name())
		}
		info.PublicKey = pub.GroupKey.Bytes()
		return info, nil
	}
	suite, err := scheme.suite()
	if err != nil {
		return nil, err
	}
	if pub.Curve != suite.Curve() {
		return nil, fmt.Errorf("mpc: key %s is on %s, not %s's curve", id, pub.Curve.Name(), scheme)
	}
	info.PublicKey = verifyingKey(suite, pub.GroupKey)
	return info, nil
}

// ecdsaSignatureBytes is the 65-byte r‖s‖v form of an ECDSA signature.
func ecdsaSignatureBytes(sig *ecdsa.Signature) []byte {
	return append(sig.Bytes(), sig.RecoveryID)
}

// verifySignature checks a signature of scheme on msg under pub, as
// Signature.Bytes encodes it.
func verifySignature(scheme Scheme, pub, msg, sig []byte) error {
	if scheme == ECDSA {
		if len(sig) != 65 || sig[64] > 3 {
			return fmt.Errorf("%w: an ECDSA signature is 65 bytes r‖s‖v", ecdsa.ErrInvalidSignature)
		}
		s := &ecdsa.Signature{RecoveryID: sig[64]}
		copy(s.R[:], sig[:32])
		copy(s.S[:], sig[32:64])
		return ecdsa.Verify(pub, msg, s)
	}
	suite, err := scheme.suite()
	if err != nil {
		return err
	}
	return frost.Verify(suite, pub, msg, sig)
}

func verifyingKey(suite *frost.Suite, group curve.Point) []byte {
	if suite == frost.BIP340 {
		return curve.XOnly(group)
	}
	return group.Bytes()
}

// partyRefs is the key's party set as a ceremony request carries it.
func (k *KeyInfo) partyRefs() []partyRef {
	out := make([]partyRef, len(k.Parties))
	for i, p := range k.Parties {
		out[i] = partyRef{ID: uint16(p.ID), Node: string(p.Node)}
	}
	return out
}

func (k *KeyInfo) node(id round.PartyID) transport.NodeID {
	i := slices.IndexFunc(k.Parties, func(p KeyParty) bool { return p.ID == id })
	if i < 0 {
		return ""
	}
	return k.Parties[i].Node
}
