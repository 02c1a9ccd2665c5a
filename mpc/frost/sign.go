package frost

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// Protocol is the protocol name in this package's *round.Error values.
const Protocol = "frost"

var (
	// ErrInvalidRequest reports a SignRequest, commitment list or nonce that
	// cannot start a session.
	ErrInvalidRequest = errors.New("frost: invalid signing request")
	// ErrWrongSession reports a message bound to another session.
	ErrWrongSession = errors.New("frost: message for another session")
	// ErrNotSigner reports a message from a party outside the signer set.
	ErrNotSigner = errors.New("frost: sender is not a signer of this session")
	// ErrDuplicateMessage reports a second message from one party in one
	// round.
	ErrDuplicateMessage = errors.New("frost: second message from a party in one round")
	// ErrDuplicateCommitment reports a nonce commitment point that appears
	// twice in one session: in two signers' commitments, or as both halves
	// of one.
	ErrDuplicateCommitment = errors.New("frost: duplicate nonce commitment")
	// ErrReusedCommitment reports a nonce commitment point recorded in the
	// CommitmentLog by an earlier session.
	ErrReusedCommitment = errors.New("frost: reused nonce commitment")
	// ErrMissingCommitment reports a precommitted list without a commitment
	// for some signer.
	ErrMissingCommitment = errors.New("frost: missing nonce commitment")
	// ErrInputMismatch reports a signer whose share was computed over
	// another message, key, signer set or (for precommitted sessions)
	// commitment list than ours: the callers did not give every signer the
	// same inputs, so no signer can be blamed.
	ErrInputMismatch = errors.New("frost: signers disagree on the session's inputs")
)

// SignRequest is what every signer of one session must be given alike.
type SignRequest struct {
	// Session identifies the ceremony; every message is bound to it. It must
	// be fresh (round.NewSessionID with a new nonce), and the runner refuses
	// a session id it has seen.
	Session round.SessionID
	// Signers is the signer set: ascending, distinct, non-zero, at least the
	// key's threshold, every one a party of the key, self included.
	Signers []round.PartyID
	// Message is the message to sign, of any length. BIP340 signers sign it
	// as given (for Taproot, the 32-byte sighash).
	Message []byte
	// Taproot, for the BIP340 suite only, signs under the BIP341 output key
	// tweaked from the group key; nil signs under the group key itself.
	Taproot *Taproot
}

// Config holds a signer's local options; the zero value is ready to use.
type Config struct {
	// Rand is the source of nonce randomness. Nil means crypto/rand.Reader;
	// anything else is for tests only.
	Rand io.Reader
	// Log, if set, records every nonce commitment this signer accepts and
	// refuses one seen in an earlier session (ErrReusedCommitment). Nil
	// checks commitments within the session only.
	Log *CommitmentLog
	// DeferShareChecks, when true, runs verify_signature_share on the
	// peers' shares only if the aggregate signature does not verify, as
	// RFC 9591 section 5.3 allows, instead of on each share's arrival. It
	// saves two scalar multiplications per peer share. A valid signature is
	// still the only thing ever returned and an invalid share is still
	// named, but invalid shares that cancel out into a valid signature go
	// unreported. False (the zero value) checks every share on arrival.
	DeferShareChecks bool
}

// Signature is the result of a signing session, the Result of its
// *round.Output.
type Signature struct {
	Suite *Suite
	// PublicKey is the key the signature verifies under, as
	// KeyShare.VerifyingKey encodes it (for BIP340 with a Taproot tweak, the
	// x-only output key).
	PublicKey []byte
	// Bytes is the signature: R‖z for Ed25519 (64 bytes) and Secp256k1
	// (65 bytes, SEC1-compressed R), R.x‖s for BIP340 (64 bytes).
	Bytes []byte
}

// params is what both rounds of a session share.
type params struct {
	suite   *Suite
	self    round.PartyID
	req     SignRequest
	sk      *signingKey
	cfg     Config
	inputs  [digestSize]byte
	members map[round.PartyID]bool
}

func newParams(key *KeyShare, req SignRequest, cfg Config) (*params, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil key share", ErrInvalidRequest)
	}
	if req.Session == (round.SessionID{}) {
		return nil, fmt.Errorf("%w: zero session id", ErrInvalidRequest)
	}
	if err := round.ValidateParties(req.Signers, key.self); err != nil {
		return nil, fmt.Errorf("%w: signers: %w", ErrInvalidRequest, err)
	}
	if len(req.Signers) < key.threshold {
		return nil, fmt.Errorf("%w: %d signers for a threshold of %d", ErrInvalidRequest, len(req.Signers), key.threshold)
	}
	members := make(map[round.PartyID]bool, len(req.Signers))
	for _, id := range req.Signers {
		if key.shares[id] == nil {
			return nil, fmt.Errorf("%w: signer %d is not a party of the key", ErrInvalidRequest, id)
		}
		members[id] = true
	}
	req.Signers = slices.Clone(req.Signers)
	req.Message = slices.Clone(req.Message)
	if req.Taproot != nil {
		req.Taproot = &Taproot{MerkleRoot: slices.Clone(req.Taproot.MerkleRoot)}
	}
	sk, err := key.signingKey(req.Signers, req.Taproot)
	if err != nil {
		return nil, err
	}
	return &params{suite: key.suite, self: key.self, req: req, sk: sk, cfg: cfg, inputs: inputsDigest(sk, &req), members: members}, nil
}

// check applies the checks every message shares, in the round numbered n.
func (p *params) check(m round.Message, n uint16) error {
	switch {
	case m.Round != n:
		return fmt.Errorf("frost: round %d message delivered to round %d", m.Round, n)
	case m.From == p.self:
		return errors.New("frost: message from self delivered to self")
	case m.Session != p.req.Session:
		return round.Blame(Protocol, n, ErrWrongSession, fmt.Sprintf("message for session %v in session %v", m.Session, p.req.Session), m.From)
	case !p.members[m.From]:
		return round.Blame(Protocol, n, ErrNotSigner, fmt.Sprintf("message from party %d", m.From), m.From)
	case !m.IsBroadcast():
		return round.Blame(Protocol, n, round.ErrMalformed, "direct message in a broadcast round", m.From)
	}
	return nil
}

// NewSigning starts key's part in a two-round signing session: round 1
// broadcasts a fresh nonce commitment, round 2 a signature share, and every
// signer then aggregates, verifies each share (naming a signer whose share
// is invalid) and verifies the signature before returning it as a
// *Signature in the final *round.Output.
//
// The runner must deliver round-1 broadcasts reliably (echo broadcast): a
// signer is blamed for a share that does not verify against the commitment
// list its receiver holds.
func NewSigning(key *KeyShare, req SignRequest, cfg Config) (round.Round, []round.Message, error) {
	p, err := newParams(key, req, cfg)
	if err != nil {
		return nil, nil, err
	}
	nonce, err := commit(p.suite, p.self, key.secret, randOrDefault(cfg.Rand))
	if err != nil {
		return nil, nil, err
	}
	own := nonce.commitment
	if cfg.Log != nil {
		if _, ok := cfg.Log.record(req.Session, []Commitment{own}); !ok {
			return nil, nil, fmt.Errorf("frost: fresh nonce commitment already in the log: %w", ErrReusedCommitment)
		}
	}
	payload, err := wire.Marshal(commitMsg{Session: req.Session[:], Hiding: own.hiding.Bytes(), Binding: own.binding.Bytes()})
	if err != nil {
		return nil, nil, err
	}
	r := &commitRound{
		params:      p,
		nonce:       nonce,
		commitments: map[round.PartyID]Commitment{p.self: own},
		points:      map[string]round.PartyID{string(own.hiding.Bytes()): p.self, string(own.binding.Bytes()): p.self},
	}
	return r, []round.Message{{Session: req.Session, Round: 1, From: p.self, To: round.Broadcast, Payload: payload}}, nil
}

// commitRound collects the other signers' nonce commitments.
type commitRound struct {
	*params
	nonce       *Nonce
	commitments map[round.PartyID]Commitment
	points      map[string]round.PartyID // every stored commitment point → its sender
}

func (r *commitRound) Number() uint16            { return 1 }
func (r *commitRound) Expect() round.Expectation { return round.Expectation{Broadcast: true} }

// Store validates a commitment and records it. A commitment point equal to
// one of ours, or to one its own sender used in an earlier session, names
// the sender; a point shared by two other signers names nobody, since from
// here either could have copied the other.
func (r *commitRound) Store(m round.Message) error {
	if err := r.check(m, 1); err != nil {
		return err
	}
	if _, dup := r.commitments[m.From]; dup {
		return round.Blame(Protocol, 1, ErrDuplicateMessage, "second commitment", m.From)
	}
	sess, c, err := decodeCommitMsg(r.suite, m.From, m.Payload)
	if err != nil {
		return round.Blame(Protocol, 1, err, "invalid commitment", m.From)
	}
	if sess != r.req.Session {
		return round.Blame(Protocol, 1, ErrWrongSession, "commitment bound to another session", m.From)
	}
	for _, pt := range []curve.Point{c.hiding, c.binding} {
		owner, seen := r.points[string(pt.Bytes())]
		switch {
		case seen && owner == r.self:
			return round.Blame(Protocol, 1, ErrDuplicateCommitment, "commitment copies ours", m.From)
		case seen:
			return round.Blame(Protocol, 1, ErrDuplicateCommitment, fmt.Sprintf("parties %d and %d sent the same commitment point", owner, m.From))
		}
	}
	if r.cfg.Log != nil {
		if first, ok := r.cfg.Log.record(r.req.Session, []Commitment{c}); !ok {
			reason := fmt.Sprintf("commitment first seen from party %d in session %v", first.Party, first.Session)
			if first.Party == m.From || first.Party == r.self {
				return round.Blame(Protocol, 1, ErrReusedCommitment, reason, m.From)
			}
			return round.Blame(Protocol, 1, ErrReusedCommitment, reason)
		}
	}
	r.commitments[m.From] = c
	r.points[string(c.hiding.Bytes())] = m.From
	r.points[string(c.binding.Bytes())] = m.From
	return nil
}

// missing lists the signers whose commitments have not arrived.
func (r *commitRound) missing() []round.PartyID {
	var out []round.PartyID
	for _, id := range r.req.Signers {
		if _, ok := r.commitments[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// Finalize computes this signer's share, consuming its nonce, and moves to
// round 2.
func (r *commitRound) Finalize() (round.Round, []round.Message, error) {
	if miss := r.missing(); len(miss) > 0 {
		return nil, nil, fmt.Errorf("frost: round 1 finalized without commitments from %v", miss)
	}
	list := make([]Commitment, len(r.req.Signers))
	for i, id := range r.req.Signers {
		list[i] = r.commitments[id]
	}
	return startShares(r.params, 2, false, r.nonce, list)
}

// startShares computes this signer's share over list with nonce and returns
// the round collecting the other shares, numbered n.
func startShares(p *params, n uint16, precommitted bool, nonce *Nonce, list []Commitment) (round.Round, []round.Message, error) {
	sc, err := newSigContext(p.sk, p.req.Message, list)
	if err != nil {
		return nil, nil, round.Blame(Protocol, n, err, "")
	}
	d, e, err := nonce.take()
	if err != nil {
		return nil, nil, err
	}
	z := sc.signShare(p.self, d, e)
	r := &shareRound{
		params:       p,
		number:       n,
		precommitted: precommitted,
		sc:           sc,
		listDigest:   commitmentsDigest(p.suite, list),
		shares:       map[round.PartyID]curve.Scalar{p.self: z},
	}
	payload, err := wire.Marshal(shareMsg{Session: p.req.Session[:], Inputs: p.inputs[:], Commitments: r.listDigest[:], Share: z.Bytes()})
	if err != nil {
		return nil, nil, err
	}
	return r, []round.Message{{Session: p.req.Session, Round: n, From: p.self, To: round.Broadcast, Payload: payload}}, nil
}

// shareRound collects and verifies the other signers' signature shares,
// then aggregates.
type shareRound struct {
	*params
	number       uint16
	precommitted bool
	sc           *sigContext
	listDigest   [digestSize]byte
	shares       map[round.PartyID]curve.Scalar
}

func (r *shareRound) Number() uint16            { return r.number }
func (r *shareRound) Expect() round.Expectation { return round.Expectation{Broadcast: true} }

// Store validates a signature share with verify_signature_share (unless
// Config.DeferShareChecks) and records it; a share that does not verify
// names its sender.
func (r *shareRound) Store(m round.Message) error {
	n := r.number
	if err := r.check(m, n); err != nil {
		return err
	}
	if _, dup := r.shares[m.From]; dup {
		return round.Blame(Protocol, n, ErrDuplicateMessage, "second signature share", m.From)
	}
	sess, inputs, list, z, err := decodeShareMsg(r.suite, m.Payload)
	if err != nil {
		return round.Blame(Protocol, n, err, "invalid signature share message", m.From)
	}
	switch {
	case sess != r.req.Session:
		return round.Blame(Protocol, n, ErrWrongSession, "signature share bound to another session", m.From)
	case inputs != r.inputs:
		return round.Blame(Protocol, n, ErrInputMismatch, fmt.Sprintf("party %d signed another message, key or signer set", m.From))
	case list != r.listDigest && r.precommitted:
		return round.Blame(Protocol, n, ErrInputMismatch, fmt.Sprintf("party %d was given another commitment list", m.From))
	case list != r.listDigest:
		return round.Blame(Protocol, n, round.ErrInvalidShare, "share computed over other commitments than the ones broadcast", m.From)
	case !r.cfg.DeferShareChecks && !r.sc.verifyShare(m.From, z):
		return round.Blame(Protocol, n, round.ErrInvalidShare, "signature share does not verify", m.From)
	}
	r.shares[m.From] = z
	return nil
}

// missing lists the signers whose shares have not arrived.
func (r *shareRound) missing() []round.PartyID {
	var out []round.PartyID
	for _, id := range r.req.Signers {
		if _, ok := r.shares[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// Finalize aggregates the shares and verifies the signature.
func (r *shareRound) Finalize() (round.Round, []round.Message, error) {
	if miss := r.missing(); len(miss) > 0 {
		return nil, nil, fmt.Errorf("frost: round %d finalized without shares from %v", r.number, miss)
	}
	zs := make([]curve.Scalar, len(r.req.Signers))
	for i, id := range r.req.Signers {
		zs[i] = r.shares[id]
	}
	sig := r.sc.aggregate(zs)
	pub := r.sk.verifyingKey()
	if err := Verify(r.suite, pub, r.req.Message, sig); err != nil {
		var culprits []round.PartyID
		if r.cfg.DeferShareChecks {
			for i, id := range r.req.Signers {
				if id != r.self && !r.sc.verifyShare(id, zs[i]) {
					culprits = append(culprits, id)
				}
			}
		}
		if len(culprits) > 0 {
			return nil, nil, round.Blame(Protocol, r.number, round.ErrInvalidShare, "signature share does not verify", culprits...)
		}
		// Unreachable while every share verified: a bug, not a culprit.
		return nil, nil, round.Blame(Protocol, r.number, err, "aggregate signature does not verify")
	}
	return &round.Output{Result: &Signature{Suite: r.suite, PublicKey: pub, Bytes: sig}}, nil, nil
}

// NewPrecommittedSigning starts key's part in a one-round signing session
// whose nonce commitments were exchanged in advance (see Precommit and
// NonceStore): it signs at once with nonce, broadcasts the share, and then
// collects, verifies and aggregates the others' shares as NewSigning does.
//
// commitments holds one commitment per signer, in Signers order, and must be
// the same list at every signer; nonce must be this signer's, matching its
// entry. The nonce is consumed whether or not the session completes. The
// list comes from the caller, so a share computed over a different list is
// reported as ErrInputMismatch without a culprit.
func NewPrecommittedSigning(key *KeyShare, req SignRequest, nonce *Nonce, commitments []Commitment, cfg Config) (round.Round, []round.Message, error) {
	p, err := newParams(key, req, cfg)
	if err != nil {
		return nil, nil, err
	}
	if nonce == nil {
		return nil, nil, fmt.Errorf("%w: nil nonce", ErrInvalidRequest)
	}
	if len(commitments) != len(p.req.Signers) {
		return nil, nil, fmt.Errorf("%w: %d commitments for %d signers", ErrMissingCommitment, len(commitments), len(p.req.Signers))
	}
	seen := map[string]round.PartyID{}
	for i, c := range commitments {
		if c.suite != p.suite || c.party != p.req.Signers[i] {
			return nil, nil, fmt.Errorf("%w: commitment %d is not signer %d's under %v", ErrMissingCommitment, i, p.req.Signers[i], p.suite)
		}
		for _, pt := range []curve.Point{c.hiding, c.binding} {
			if owner, ok := seen[string(pt.Bytes())]; ok {
				return nil, nil, fmt.Errorf("%w: parties %d and %d", ErrDuplicateCommitment, owner, c.party)
			}
			seen[string(pt.Bytes())] = c.party
		}
	}
	own := commitments[slices.Index(p.req.Signers, p.self)]
	if !own.Equal(nonce.commitment) {
		return nil, nil, fmt.Errorf("%w: the nonce does not match this signer's commitment", ErrInvalidRequest)
	}
	if nonce.Used() {
		return nil, nil, ErrNonceUsed
	}
	if cfg.Log != nil {
		if first, ok := cfg.Log.record(p.req.Session, commitments); !ok {
			return nil, nil, fmt.Errorf("%w: a commitment was first seen from party %d in session %v", ErrReusedCommitment, first.Party, first.Session)
		}
	}
	return startShares(p, 1, true, nonce, slices.Clone(commitments))
}
