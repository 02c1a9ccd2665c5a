package ecdsa

import (
	"fmt"
	"slices"
	"sync"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/internal/ot"
	"github.com/cairn-mpc/cairn/mpc/internal/rvole"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// MaxParties bounds the party set of an ECDSA key. Each party keeps about
// 24 KB of OT state per counterparty, and the whole KeyShare must encode
// within the wire codec's 1 MiB limit.
const MaxParties = 32

// seedSize is the length of a zero-sharing seed and of its contributions.
const seedSize = 32

// KeyShare is one party's ECDSA key material: its Shamir share of the group
// secret (from the DKG), and for every counterparty j the long-lived state
// of the two pairwise multiplications (this party as Alice, the OT
// extension's sender, and as Bob, its receiver) and the zero-sharing seed
// s_ij of F_Zero.
//
// Everything in it but the public key is secret. String, GoString and every
// fmt verb print public parts only; MarshalBinary's encoding must be sealed
// at rest. A KeyShare is safe for concurrent use by several sessions. It
// changes in one way only: a counterparty that fails an OT-extension,
// multiplication or Γ-check is banned (Banned), and the caller must persist
// the share again (MarshalBinary) after a session that aborted with
// ErrBanned in its chain, so that the ban survives a restart.
type KeyShare struct {
	share *dkg.KeyShare
	keyID round.SessionID // the session that set up the OT state
	peers map[round.PartyID]*peer

	mu   sync.Mutex
	bans map[round.PartyID]struct{}
}

// peer is the pairwise state with one counterparty j.
type peer struct {
	send  *ot.Sender   // self as Alice (extension sender) in the pair (Alice = self, Bob = j)
	alice *rvole.Alice // wraps send
	recv  *ot.Receiver // self as Bob (extension receiver) in the pair (Alice = j, Bob = self)
	bob   *rvole.Bob   // wraps recv
	seed  [seedSize]byte
}

// pairID is the OT pair of the directional instance in which alice inputs
// the vector and bob samples χ, set up in session.
func pairID(session round.SessionID, alice, bob round.PartyID) ot.PairID {
	return ot.NewPairID(session[:], alice, bob)
}

// KeyID identifies the key: the session id of the ceremony that set up its
// pairwise state. It is bound into every signing session id.
func (k *KeyShare) KeyID() round.SessionID { return k.keyID }

// Self is the identifier of the party holding this share.
func (k *KeyShare) Self() round.PartyID { return k.share.Self }

// Threshold is the number of signers a signature needs.
func (k *KeyShare) Threshold() int { return k.share.Threshold }

// Parties lists every party of the key, ascending.
func (k *KeyShare) Parties() []round.PartyID { return slices.Clone(k.share.Parties) }

// GroupKey is the key's public key.
func (k *KeyShare) GroupKey() curve.Point { return k.share.GroupKey }

// PublicKey is the SEC1 compressed encoding of GroupKey (33 bytes).
func (k *KeyShare) PublicKey() []byte { return k.share.GroupKey.Bytes() }

// ChainCode is the BIP32 chain code the parties generated together.
func (k *KeyShare) ChainCode() [32]byte { return k.share.ChainCode }

// Public returns the public part of the threshold key.
func (k *KeyShare) Public() *dkg.PublicKey { return k.share.Public() }

// Banned lists the counterparties banned for this key, ascending: those
// that failed an OT-extension consistency check (against this party as
// Alice), a multiplication check (against this party as Bob) or a Γ-check.
func (k *KeyShare) Banned() []round.PartyID {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []round.PartyID
	for _, j := range k.share.Parties {
		if k.bannedLocked(j) {
			out = append(out, j)
		}
	}
	return out
}

func (k *KeyShare) bannedLocked(j round.PartyID) bool {
	p := k.peers[j]
	if p == nil {
		return false
	}
	_, banned := k.bans[j]
	return banned || !p.alice.Usable() || !p.bob.Usable()
}

// ban records that j failed a check that obliges a ban.
func (k *KeyShare) ban(j round.PartyID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.peers[j] != nil {
		k.bans[j] = struct{}{}
	}
}

// String describes the share without its secrets.
func (k *KeyShare) String() string {
	if k == nil || k.share == nil {
		return "ecdsa.KeyShare{}"
	}
	return fmt.Sprintf("ecdsa.KeyShare{party %d, %d-of-%d, group key %x, key id %v, banned %v, secrets redacted}",
		k.share.Self, k.share.Threshold, len(k.share.Parties), k.share.GroupKey.Bytes(), k.keyID, k.Banned())
}

// GoString is String.
func (k *KeyShare) GoString() string { return k.String() }

// Format makes every fmt verb print String.
func (k *KeyShare) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// keyShareEncoding is a KeyShare at rest. It is secret: seal it.
type keyShareEncoding struct {
	_     struct{} `cbor:",toarray"`
	Share []byte   // dkg.KeyShare.MarshalBinary
	KeyID []byte
	Peers []peerEncoding // ascending, every party but self
	Bans  []uint16       // ascending
}

type peerEncoding struct {
	_        struct{} `cbor:",toarray"`
	ID       uint16
	Sender   []byte // ot.Sender.MarshalBinary, with its usable flag
	Receiver []byte // ot.Receiver.MarshalBinary
	Seed     []byte
}

// MarshalBinary encodes k, secrets included, for sealed storage: the DKG
// share, every counterparty's OT state and zero-sharing seed, and the bans.
func (k *KeyShare) MarshalBinary() ([]byte, error) {
	if k == nil || k.share == nil {
		return nil, fmt.Errorf("%w: zero KeyShare", ErrInvalidKeyShare)
	}
	share, err := k.share.MarshalBinary()
	if err != nil {
		return nil, err
	}
	enc := keyShareEncoding{Share: share, KeyID: k.keyID[:]}
	defer func() {
		clear(enc.Share)
		for _, p := range enc.Peers {
			clear(p.Sender)
			clear(p.Receiver)
			clear(p.Seed)
		}
	}()
	for _, j := range k.share.Parties {
		p := k.peers[j]
		if p == nil {
			continue
		}
		s, err := p.send.MarshalBinary()
		if err != nil {
			return nil, err
		}
		r, err := p.recv.MarshalBinary()
		if err != nil {
			return nil, err
		}
		enc.Peers = append(enc.Peers, peerEncoding{ID: uint16(j), Sender: s, Receiver: r, Seed: slices.Clone(p.seed[:])})
	}
	for _, j := range k.Banned() {
		enc.Bans = append(enc.Bans, uint16(j))
	}
	return wire.Marshal(enc)
}

// UnmarshalBinary decodes and validates an encoding made by MarshalBinary:
// the DKG share (dkg.KeyShare.UnmarshalBinary), a secp256k1 key with
// 2 ≤ t ≤ n ≤ MaxParties, exactly one pairwise state per counterparty set up
// under this key's id in the right roles, and bans naming counterparties
// only. On error k is unchanged.
func (k *KeyShare) UnmarshalBinary(b []byte) error {
	var enc keyShareEncoding
	if err := wire.Unmarshal(b, &enc); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKeyShare, err)
	}
	defer func() {
		clear(enc.Share)
		for _, p := range enc.Peers {
			clear(p.Sender)
			clear(p.Receiver)
			clear(p.Seed)
		}
	}()
	share := new(dkg.KeyShare)
	if err := share.UnmarshalBinary(enc.Share); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKeyShare, err)
	}
	if err := checkShape(share); err != nil {
		return err
	}
	if len(enc.KeyID) != len(round.SessionID{}) || round.SessionID(enc.KeyID) == (round.SessionID{}) {
		return fmt.Errorf("%w: key id", ErrInvalidKeyShare)
	}
	keyID := round.SessionID(enc.KeyID)
	if len(enc.Peers) != len(share.Parties)-1 {
		return fmt.Errorf("%w: %d pairwise states for %d parties", ErrInvalidKeyShare, len(enc.Peers), len(share.Parties))
	}
	peers := make(map[round.PartyID]*peer, len(enc.Peers))
	i := 0
	for _, j := range share.Parties {
		if j == share.Self {
			continue
		}
		pe := enc.Peers[i]
		i++
		if round.PartyID(pe.ID) != j || len(pe.Seed) != seedSize {
			return fmt.Errorf("%w: pairwise state %d is not party %d's", ErrInvalidKeyShare, i, j)
		}
		s, err := ot.ParseSender(pe.Sender)
		if err != nil {
			return fmt.Errorf("%w: party %d: %w", ErrInvalidKeyShare, j, err)
		}
		r, err := ot.ParseReceiver(pe.Receiver)
		if err != nil {
			return fmt.Errorf("%w: party %d: %w", ErrInvalidKeyShare, j, err)
		}
		if s.Pair() != pairID(keyID, share.Self, j) || r.Pair() != pairID(keyID, j, share.Self) {
			return fmt.Errorf("%w: pairwise state with party %d was set up for another key or role", ErrInvalidKeyShare, j)
		}
		p := &peer{send: s, alice: rvole.NewAlice(s), recv: r, bob: rvole.NewBob(r)}
		copy(p.seed[:], pe.Seed)
		peers[j] = p
	}
	bans := map[round.PartyID]struct{}{}
	for i, j := range enc.Bans {
		if peers[round.PartyID(j)] == nil || (i > 0 && enc.Bans[i-1] >= j) {
			return fmt.Errorf("%w: ban list", ErrInvalidKeyShare)
		}
		bans[round.PartyID(j)] = struct{}{}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.share, k.keyID, k.peers, k.bans = share, keyID, peers, bans
	return nil
}

// ParseKeyShare decodes a KeyShare from MarshalBinary's encoding.
func ParseKeyShare(b []byte) (*KeyShare, error) {
	k := new(KeyShare)
	if err := k.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return k, nil
}

// checkShape checks what this package needs of a DKG share beyond its own
// validation: secp256k1, 2 ≤ t, n ≤ MaxParties.
func checkShape(s *dkg.KeyShare) error {
	switch {
	case s == nil || s.Curve == nil || s.Secret == nil || s.GroupKey == nil:
		return fmt.Errorf("%w: incomplete DKG share", ErrInvalidKeyShare)
	case s.Curve.Name() != curve.Secp256k1.Name():
		return fmt.Errorf("%w: DKG share on %s, want secp256k1", ErrInvalidKeyShare, s.Curve.Name())
	case s.Threshold < 2:
		return fmt.Errorf("%w: threshold %d, DKLs23 needs at least 2", ErrInvalidKeyShare, s.Threshold)
	case s.GroupKey.IsIdentity() || s.GroupKey.Equal(curve.Secp256k1.Generator()):
		// As 0xCarbon's DKG does: a key of 0 or 1 is known to everyone.
		return fmt.Errorf("%w: the group key is ∞ or G", ErrInvalidKeyShare)
	case len(s.Parties) > MaxParties:
		return fmt.Errorf("%w: %d parties, at most %d", ErrInvalidKeyShare, len(s.Parties), MaxParties)
	}
	return nil
}
