package dkg

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// Protocol is the protocol name in this package's *round.Error values.
const Protocol = "dkg"

// MaxParties bounds the party set (and so the threshold). It keeps every
// message well under the wire codec's limits and bounds the work a peer can
// make a party do: verifying n shares against t-point commitments.
const MaxParties = 256

// ErrFalseComplaint is the cause of an abort that blames an accuser whose
// complaint the evidence does not support: the evidence does not verify, is
// not the accused's round-2 share to the accuser, or holds a valid share.
var ErrFalseComplaint = errors.New("false complaint")

// Config sets up one party of one DKG ceremony.
type Config struct {
	// Curve is the group of the key. Required.
	Curve curve.Curve
	// Session binds every message and proof to this ceremony. It must be
	// fresh for every ceremony, including a retry after an abort (use
	// round.NewSessionID with a new nonce), and is refused if zero.
	Session round.SessionID
	// Self is this party's identifier, a member of Parties.
	Self round.PartyID
	// Parties is the ordered party set, as round.ValidateParties requires:
	// ascending, distinct, non-zero. At most MaxParties.
	Parties []round.PartyID
	// Threshold t is the number of shares needed to use the key:
	// 1 ≤ t ≤ len(Parties). Any t−1 shares reveal nothing about it.
	Threshold int
	// Evidence checks the signed envelopes that complaints carry; in
	// production the runner's keyring of identity keys. Required when there
	// is more than one party.
	Evidence round.EvidenceVerifier
	// Rand is the source of the polynomial, the proof nonce and the
	// chain-code contribution. Nil means crypto/rand.Reader; anything else is
	// for tests only.
	Rand io.Reader
}

// params is what every round shares: the validated Config.
type params struct {
	curve     curve.Curve
	session   round.SessionID
	self      round.PartyID
	parties   []round.PartyID
	t         int
	evidence  round.EvidenceVerifier
	chainSelf [32]byte // own chain-code contribution ρ_self, revealed in round 2
}

func (p *params) isMember(id round.PartyID) bool {
	_, ok := slices.BinarySearch(p.parties, id)
	return ok
}

// others returns the number of parties other than self.
func (p *params) others() int { return len(p.parties) - 1 }

func (c *Config) validate() error {
	if c.Curve == nil {
		return errors.New("dkg: no curve")
	}
	if c.Session == (round.SessionID{}) {
		return errors.New("dkg: zero session id")
	}
	if err := round.ValidateParties(c.Parties, c.Self); err != nil {
		return fmt.Errorf("dkg: %w", err)
	}
	if c.Self == 0 {
		return errors.New("dkg: party id 0 is reserved")
	}
	if len(c.Parties) > MaxParties {
		return fmt.Errorf("dkg: %d parties, at most %d", len(c.Parties), MaxParties)
	}
	if c.Threshold < 1 || c.Threshold > len(c.Parties) {
		return fmt.Errorf("dkg: threshold %d out of range [1, %d]", c.Threshold, len(c.Parties))
	}
	if c.Evidence == nil && len(c.Parties) > 1 {
		return errors.New("dkg: no evidence verifier")
	}
	return nil
}

// Start begins this party's part of a DKG ceremony. It samples the party's
// polynomial, proof nonce and chain-code contribution, and returns round 1
// with the round-1 broadcast to send. The returned rounds are not safe for
// concurrent use; drive them with one runner.
func Start(cfg Config) (round.Round, []round.Message, error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	p := &params{
		curve: cfg.Curve, session: cfg.Session, self: cfg.Self,
		parties: slices.Clone(cfg.Parties), t: cfg.Threshold, evidence: cfg.Evidence,
	}
	c := p.curve
	poly := make([]curve.Scalar, p.t)
	commits := make([]curve.Point, p.t)
	for k := range poly {
		a, err := c.RandomScalar(rnd)
		if err != nil {
			return nil, nil, fmt.Errorf("dkg: sampling polynomial: %w", err)
		}
		poly[k], commits[k] = a, c.MulBase(a)
	}
	nonce, err := c.RandomScalar(rnd)
	if err != nil {
		return nil, nil, fmt.Errorf("dkg: sampling proof nonce: %w", err)
	}
	if _, err := io.ReadFull(rnd, p.chainSelf[:]); err != nil {
		return nil, nil, fmt.Errorf("dkg: sampling chain-code contribution: %w", err)
	}
	own := &dealing{commits: commits, ccCommit: chainCodeCommitment(c, p.session, p.self, p.chainSelf)}
	own.proofR, own.proofZ = provePoK(c, p.session, p.self, commits, poly[0], nonce)

	payload, err := own.encode()
	if err != nil {
		return nil, nil, fmt.Errorf("dkg: %w", err)
	}
	r1 := &round1{params: p, poly: poly, own: own, dealings: map[round.PartyID]*dealing{}}
	out := []round.Message{{Session: p.session, Round: 1, From: p.self, To: round.Broadcast, Payload: payload}}
	return r1, out, nil
}
