package ecdsa

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/internal/ot"
	"github.com/cairn-mpc/cairn/mpc/internal/rvole"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// KeygenConfig sets up one party of a key generation ceremony.
type KeygenConfig struct {
	// Session binds every message to this ceremony and becomes the key's
	// KeyID. It must be fresh for every ceremony, a retry included
	// (round.NewSessionID with a new nonce), and is refused if zero.
	Session round.SessionID
	// Self is this party's identifier, a member of Parties.
	Self round.PartyID
	// Parties is the ordered party set (round.ValidateParties), at most
	// MaxParties.
	Parties []round.PartyID
	// Threshold t is the number of signers a signature needs:
	// 2 ≤ t ≤ len(Parties).
	Threshold int
	// Evidence checks the signed envelopes that DKG complaints carry: in
	// production the runner's keyring of identity keys. Required.
	Evidence round.EvidenceVerifier
	// Rand is the source of every secret the ceremony samples. Nil means
	// crypto/rand.Reader; anything else is for tests only.
	Rand io.Reader
}

// Number of the rounds of the pairwise setup (base OTs and zero seeds).
const setupRounds = 5

// dkgRounds is the number of rounds of dkg.Start's ceremony.
const dkgRounds = 3

// NewKeygen starts this party's part in a key generation ceremony of
// dkgRounds + setupRounds = 8 rounds:
//
//   - Rounds 1–3 are the DKG of package dkg (Pedersen/Feldman with proofs of
//     knowledge and a complaint round), unchanged: its messages are passed
//     through as they are, so its complaints' evidence stays the DKG's own.
//   - Rounds 4–8 are the pairwise setup of NewSetup on the DKG's share, under
//     the same session id, which becomes the key's KeyID.
//
// The result, in the final *round.Output, is a *KeyShare. The pairwise
// setup is sequential after the DKG rather than interleaved with it: every
// round of the DKG but the first already carries a direct message per pair,
// and carrying the OT messages inside the DKG's would change the envelopes
// that its complaints forward as evidence.
//
// A party that finishes holds a usable share only if every other party
// finished too: the caller must collect every party's acknowledgement (with
// the key's public key) before using the key, as for the DKG alone.
func NewKeygen(cfg KeygenConfig) (round.Round, []round.Message, error) {
	if cfg.Threshold < 2 {
		return nil, nil, fmt.Errorf("%w: threshold %d, DKLs23 needs at least 2", ErrInvalidRequest, cfg.Threshold)
	}
	if len(cfg.Parties) > MaxParties {
		return nil, nil, fmt.Errorf("%w: %d parties, at most %d", ErrInvalidRequest, len(cfg.Parties), MaxParties)
	}
	first, out, err := dkg.Start(dkg.Config{
		Curve: curve.Secp256k1, Session: cfg.Session, Self: cfg.Self, Parties: cfg.Parties,
		Threshold: cfg.Threshold, Evidence: cfg.Evidence, Rand: cfg.Rand,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return &dkgStage{inner: first, session: cfg.Session, rand: cfg.Rand}, out, nil
}

// dkgStage passes rounds 1–3 to the DKG and turns its output into the
// setup's first round.
type dkgStage struct {
	inner   round.Round
	session round.SessionID
	rand    io.Reader
}

func (r *dkgStage) Number() uint16              { return r.inner.Number() }
func (r *dkgStage) Expect() round.Expectation   { return r.inner.Expect() }
func (r *dkgStage) Store(m round.Message) error { return r.inner.Store(m) }

func (r *dkgStage) Finalize() (round.Round, []round.Message, error) {
	next, out, err := r.inner.Finalize()
	if err != nil {
		return nil, nil, err
	}
	o, ok := next.(*round.Output)
	if !ok {
		return &dkgStage{inner: next, session: r.session, rand: r.rand}, out, nil
	}
	share, ok := o.Result.(*dkg.KeyShare)
	if !ok {
		return nil, nil, errors.New("ecdsa: unreachable: the DKG returned no key share")
	}
	if err := checkShape(share); err != nil {
		return nil, nil, &round.Error{Protocol: Protocol, Round: dkgRounds, Reason: "the DKG's key is unusable", Err: err}
	}
	return startSetup(share, r.session, dkgRounds, r.rand)
}

// SetupConfig sets up one party of a pairwise setup on an existing DKG
// share (NewSetup).
type SetupConfig struct {
	// Session binds the ceremony and becomes the key's KeyID; fresh and
	// non-zero, as for KeygenConfig.
	Session round.SessionID
	// Rand is as for KeygenConfig.
	Rand io.Reader
}

// NewSetup starts this party's part in the pairwise setup of DKLs23's key
// generation (design §2) on an existing secp256k1 DKG share, with every
// other party of the share: five rounds of direct messages in which, for
// every ordered pair, both directions run in parallel.
//
//   - Base OTs. For each counterparty j, this party runs Verified Simplest
//     OT (package ot) twice: as base-OT sender (the future Bob, extension
//     receiver) in the instance (Alice = j, Bob = self) and as base-OT
//     receiver (the future Alice, whose choice bits become Δ) in the
//     instance (Alice = self, Bob = j). Each takes five alternating
//     messages, the sender's first; since every party is sender in one
//     instance and receiver in the other, round k carries message k of both.
//   - Zero-sharing seeds (F_Zero, DKLs23 Functionality 3.4). In round 1 each
//     party sends every j a commitment H(sid, i, j, seed_ij) to a random
//     32-byte contribution, in round 2 the contribution; the pair's seed is
//     seed_ij ⊕ seed_ji, uniform if either party is honest. The commitment
//     names sender and receiver, so a party cannot mirror its peer's
//     commitment and force the seed to zero.
//
// The share is not modified. The result, in the final *round.Output, is a
// *KeyShare whose KeyID is cfg.Session. A failed base-OT verification names
// the peer (round.ErrInvalidProof); a seed that does not open its commitment
// names its sender (ErrCommitment).
func NewSetup(share *dkg.KeyShare, cfg SetupConfig) (round.Round, []round.Message, error) {
	if err := checkShape(share); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if err := share.Validate(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if cfg.Session == (round.SessionID{}) {
		return nil, nil, fmt.Errorf("%w: zero session id", ErrInvalidRequest)
	}
	return startSetup(share, cfg.Session, 0, cfg.Rand)
}

// setup is the pairwise setup's state across its rounds.
type setup struct {
	share   *dkg.KeyShare
	session round.SessionID
	base    uint16 // number of the round before the setup's first
	rand    io.Reader
	others  []round.PartyID

	bs   map[round.PartyID]*ot.BaseSender   // self as Bob towards j
	br   map[round.PartyID]*ot.BaseReceiver // self as Alice towards j
	recv map[round.PartyID]*ot.Receiver
	send map[round.PartyID]*ot.Sender

	seedOwn   map[round.PartyID][seedSize]byte // seed_self,j
	seedCom   map[round.PartyID][32]byte       // j's commitment to seed_j,self
	seedPeer  map[round.PartyID][seedSize]byte // seed_j,self, opened
	nextOT    map[round.PartyID][]byte         // the OT message for j in the next round
	completed bool
}

func startSetup(share *dkg.KeyShare, session round.SessionID, base uint16, rnd io.Reader) (round.Round, []round.Message, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	s := &setup{
		share: share, session: session, base: base, rand: rnd,
		bs: map[round.PartyID]*ot.BaseSender{}, br: map[round.PartyID]*ot.BaseReceiver{},
		recv: map[round.PartyID]*ot.Receiver{}, send: map[round.PartyID]*ot.Sender{},
		seedOwn: map[round.PartyID][seedSize]byte{}, seedCom: map[round.PartyID][32]byte{},
		seedPeer: map[round.PartyID][seedSize]byte{}, nextOT: map[round.PartyID][]byte{},
	}
	self := share.Self
	out := make([]round.Message, 0, len(share.Parties)-1)
	for _, j := range share.Parties {
		if j == self {
			continue
		}
		s.others = append(s.others, j)
		bs, m1, err := ot.NewBaseSender(pairID(session, j, self), rnd)
		if err != nil {
			return nil, nil, fmt.Errorf("ecdsa: base OT with party %d: %w", j, err)
		}
		var seed [seedSize]byte
		if _, err := io.ReadFull(rnd, seed[:]); err != nil {
			return nil, nil, fmt.Errorf("ecdsa: sampling zero-sharing seed: %w", err)
		}
		s.bs[j], s.seedOwn[j] = bs, seed
		com := seedCommitment(session, self, j, seed)
		payload, err := wire.Marshal(setupMsg{OT: m1, Seed: com[:]})
		if err != nil {
			return nil, nil, err
		}
		out = append(out, round.Message{Session: session, Round: base + 1, From: self, To: j, Payload: payload})
	}
	return &setupRound{setup: s, step: 1, got: map[round.PartyID]bool{}}, out, nil
}

// seedCommitment is the commitment of from to its zero-sharing seed
// contribution for to.
func seedCommitment(session round.SessionID, from, to round.PartyID, seed [seedSize]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("cairn/ecdsa/zero-seed-commitment/v1"))
	h.Write(session[:])
	h.Write(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, uint16(from)), uint16(to)))
	h.Write(seed[:])
	return [32]byte(h.Sum(nil))
}

// setupMsg is the direct message of every setup round: the base-OT message
// of that step (as sender in steps 1, 3, 5, as receiver in 2 and 4) and, in
// step 1 the seed commitment, in step 2 the seed.
type setupMsg struct {
	_    struct{} `cbor:",toarray"`
	OT   []byte
	Seed []byte
}

// setupRound is step 1…5 of the setup.
type setupRound struct {
	*setup
	step int
	got  map[round.PartyID]bool
	done bool
}

func (r *setupRound) Number() uint16            { return r.base + uint16(r.step) }
func (r *setupRound) Expect() round.Expectation { return round.Expectation{Direct: true} }

func (r *setupRound) blame(err error, reason string, culprit round.PartyID) error {
	return round.Blame(Protocol, r.Number(), err, reason, culprit)
}

// Store runs this party's next base-OT step with m's sender on its message,
// and records or checks the seed. Every ot step leaves its state unchanged
// when it refuses a message; seeds are checked first, so a refused message
// changes nothing here either.
func (r *setupRound) Store(m round.Message) error {
	n, self := r.Number(), r.share.Self
	if r.done {
		return finalized(n)
	}
	if err := check(self, r.session, r.others, m, n); err != nil {
		return err
	}
	switch {
	case m.IsBroadcast():
		return r.blame(round.ErrMalformed, "broadcast in a round of direct messages", m.From)
	case r.got[m.From]:
		return duplicate(n, m.From)
	}
	j := m.From
	var msg setupMsg
	if err := wire.Unmarshal(m.Payload, &msg); err != nil {
		return r.blame(fmt.Errorf("%w: %w", round.ErrMalformed, err), "undecodable setup message", j)
	}
	wantSeed := 0
	if r.step <= 2 {
		wantSeed = 32
	}
	if len(msg.Seed) != wantSeed {
		return r.blame(round.ErrMalformed, "seed field of the wrong length", j)
	}
	if r.step == 2 {
		c := seedCommitment(r.session, j, self, [seedSize]byte(msg.Seed))
		want := r.seedCom[j]
		if subtle.ConstantTimeCompare(c[:], want[:]) != 1 {
			return r.blame(ErrCommitment, "zero-sharing seed does not open its commitment", j)
		}
	}
	var reply []byte
	var err error
	switch r.step {
	case 1: // j's first base-OT message: this party is the receiver (Alice).
		var br *ot.BaseReceiver
		br, reply, err = ot.NewBaseReceiver(pairID(r.session, self, j), msg.OT, r.rand)
		if err == nil {
			r.br[j] = br
			r.seedCom[j] = [32]byte(msg.Seed)
		}
	case 2: // j's receiver message: this party is the sender (Bob).
		reply, err = r.bs[j].Challenge(msg.OT)
		if err == nil {
			r.seedPeer[j] = [seedSize]byte(msg.Seed)
		}
	case 3:
		reply, err = r.br[j].Respond(msg.OT)
	case 4:
		var recv *ot.Receiver
		reply, recv, err = r.bs[j].Open(msg.OT)
		if err == nil {
			r.recv[j] = recv
		}
	case 5:
		var send *ot.Sender
		send, err = r.br[j].Finish(msg.OT)
		if err == nil {
			r.send[j] = send
		}
	}
	if err != nil {
		return r.blame(err, fmt.Sprintf("base OT step %d", r.step), j)
	}
	r.nextOT[j] = reply
	r.got[j] = true
	return nil
}

// Finalize sends the next step's messages, or after step 5 assembles the
// KeyShare.
func (r *setupRound) Finalize() (round.Round, []round.Message, error) {
	n, self := r.Number(), r.share.Self
	if r.done {
		return nil, nil, &round.Error{Protocol: Protocol, Round: n, Reason: "round already finalized"}
	}
	for _, j := range r.others {
		if !r.got[j] {
			return nil, nil, &round.Error{Protocol: Protocol, Round: n, Reason: fmt.Sprintf("finalized without party %d's message", j)}
		}
	}
	r.done = true
	if r.step == setupRounds {
		return &round.Output{Result: r.keyShare()}, nil, nil
	}
	out := make([]round.Message, 0, len(r.others))
	for _, j := range r.others {
		msg := setupMsg{OT: r.nextOT[j]}
		if r.step == 1 {
			seed := r.seedOwn[j]
			msg.Seed = seed[:]
		}
		payload, err := wire.Marshal(msg)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, round.Message{Session: r.session, Round: n + 1, From: self, To: j, Payload: payload})
	}
	clear(r.nextOT)
	return &setupRound{setup: r.setup, step: r.step + 1, got: map[round.PartyID]bool{}}, out, nil
}

// keyShare assembles the output.
func (r *setupRound) keyShare() *KeyShare {
	k := &KeyShare{share: r.share, keyID: r.session, peers: map[round.PartyID]*peer{}, bans: map[round.PartyID]struct{}{}}
	for _, j := range r.others {
		p := &peer{send: r.send[j], alice: rvole.NewAlice(r.send[j]), recv: r.recv[j], bob: rvole.NewBob(r.recv[j])}
		own, theirs := r.seedOwn[j], r.seedPeer[j]
		subtle.XORBytes(p.seed[:], own[:], theirs[:])
		k.peers[j] = p
	}
	clear(r.seedOwn)
	clear(r.seedPeer)
	r.bs, r.br = nil, nil
	return k
}
