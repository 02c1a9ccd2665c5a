package dkg

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// fail is an abort that blames nobody: the round was misused or its inputs
// are inconsistent in a way no party can be proven responsible for. It is a
// *round.Error so that a runner does not blame the sender of the message at
// hand.
func fail(rnd uint16, err error, reason string) *round.Error {
	return &round.Error{Protocol: Protocol, Round: rnd, Reason: reason, Err: err}
}

// check verifies that msg is a message this round takes: from another
// member, for this session and round, broadcast or addressed to this party as
// broadcast says. The runner checks the same before Store; a round does not
// rely on it. A message that fails is blamed on its sender, whose signature
// it carries.
func (p *params) check(msg round.Message, rnd uint16, broadcast bool) error {
	var reason string
	switch {
	case msg.From == p.self:
		return fail(rnd, round.ErrMalformed, "message claims to come from this party")
	case !p.isMember(msg.From):
		reason = fmt.Sprintf("party %d is not in the party set", msg.From)
	case msg.Session != p.session:
		reason = fmt.Sprintf("message of session %v delivered to session %v", msg.Session, p.session)
	case msg.Round != rnd:
		reason = fmt.Sprintf("round-%d message delivered to round %d", msg.Round, rnd)
	case broadcast && !msg.IsBroadcast():
		reason = "direct message where a broadcast is expected"
	case !broadcast && msg.To != p.self:
		reason = fmt.Sprintf("direct message addressed to party %d", msg.To)
	default:
		return nil
	}
	return round.Blame(Protocol, rnd, round.ErrMalformed, reason, msg.From)
}

// duplicate refuses a second message for a slot already filled. The runner
// drops duplicates and names equivocation, so this is a misuse, not
// evidence against the sender.
func duplicate(rnd uint16, from round.PartyID) error {
	return fail(rnd, round.ErrMalformed, fmt.Sprintf("second round-%d message from party %d", rnd, from))
}

func finalized(rnd uint16) error {
	return fail(rnd, nil, "round already finalized")
}

// missing lists the other parties for which has is false.
func (p *params) missing(has func(round.PartyID) bool) []round.PartyID {
	var m []round.PartyID
	for _, id := range p.parties {
		if id != p.self && !has(id) {
			m = append(m, id)
		}
	}
	return m
}

func incomplete(rnd uint16, missing []round.PartyID) error {
	return fail(rnd, nil, fmt.Sprintf("finalized before every message arrived (missing parties %v)", missing))
}

// round1 collects every other party's dealing (commitment, proof of
// knowledge, chain-code commitment).
type round1 struct {
	*params
	poly     []curve.Scalar // f_self, secret; dropped by Finalize
	own      *dealing
	dealings map[round.PartyID]*dealing // others' verified dealings
	done     bool
}

func (r *round1) Number() uint16            { return 1 }
func (r *round1) Expect() round.Expectation { return round.Expectation{Broadcast: true} }

// Store checks a dealing: exactly t canonical commitment points, and a proof
// of knowledge of the constant term bound to this session and the sender.
func (r *round1) Store(msg round.Message) error {
	if r.done {
		return finalized(1)
	}
	if err := r.check(msg, 1, true); err != nil {
		return err
	}
	if _, dup := r.dealings[msg.From]; dup {
		return duplicate(1, msg.From)
	}
	d, err := decodeDealing(r.params, msg.From, msg.Payload)
	if err != nil {
		return round.Blame(Protocol, 1, err, "invalid dealing", msg.From)
	}
	r.dealings[msg.From] = d
	return nil
}

// Finalize sends every other party its share f_self(j) and broadcasts the
// chain-code contribution. Shares go out only after every dealing has been
// checked, as in FROST's KeyGen.
func (r *round1) Finalize() (round.Round, []round.Message, error) {
	if r.done {
		return nil, nil, finalized(1)
	}
	if m := r.missing(func(id round.PartyID) bool { return r.dealings[id] != nil }); len(m) > 0 {
		return nil, nil, incomplete(1, m)
	}
	c := r.curve
	out := make([]round.Message, 0, len(r.parties))
	opening, err := wire.Marshal(openingMsg{ChainCode: r.chainSelf[:]})
	if err != nil {
		return nil, nil, fmt.Errorf("dkg: %w", err)
	}
	out = append(out, round.Message{Session: r.session, Round: 2, From: r.self, To: round.Broadcast, Payload: opening})
	var ownShare curve.Scalar
	for _, j := range r.parties {
		s := curve.EvalPolynomial(c, r.poly, c.ScalarFromUint64(uint64(j)))
		if j == r.self {
			ownShare = s
			continue
		}
		payload, err := wire.Marshal(shareMsg{Share: s.Bytes()})
		if err != nil {
			return nil, nil, fmt.Errorf("dkg: %w", err)
		}
		out = append(out, round.Message{Session: r.session, Round: 2, From: r.self, To: j, Payload: payload})
	}
	dealings := maps.Clone(r.dealings)
	dealings[r.self] = r.own
	next := &round2{
		params:      r.params,
		dealings:    dealings,
		view:        viewDigest(r.params, dealings),
		ownShare:    ownShare,
		shares:      map[round.PartyID]curve.Scalar{},
		accusations: map[round.PartyID][]byte{},
		openings:    map[round.PartyID][32]byte{},
	}
	r.poly, r.done = nil, true
	return next, out, nil
}

// round2 collects every other party's share for this party and chain-code
// opening.
type round2 struct {
	*params
	dealings    map[round.PartyID]*dealing // every party's, self included
	view        [32]byte
	ownShare    curve.Scalar                   // f_self(self), secret
	shares      map[round.PartyID]curve.Scalar // f_j(self) that verified, secret
	accusations map[round.PartyID][]byte       // sender → evidence of its bad share
	openings    map[round.PartyID][32]byte
	done        bool
}

func (r *round2) Number() uint16 { return 2 }
func (r *round2) Expect() round.Expectation {
	return round.Expectation{Broadcast: true, Direct: true}
}

// Store checks a chain-code opening against its commitment, or a share
// against its sender's commitment. A share that fails is not refused: only
// this party has seen it, so an abort here would be a verdict no other party
// could check. Store keeps the sender-signed envelope (msg.Evidence) instead,
// and round 3 puts the complaint to every party. Store first checks that the
// evidence would convince them; if it would not (the runner passed a message
// without its envelope), it aborts blaming nobody rather than make this
// party a false accuser.
func (r *round2) Store(msg round.Message) error {
	if r.done {
		return finalized(2)
	}
	if err := r.check(msg, 2, msg.IsBroadcast()); err != nil {
		return err
	}
	if msg.IsBroadcast() {
		if _, dup := r.openings[msg.From]; dup {
			return duplicate(2, msg.From)
		}
		rho, err := decodeOpening(r.params, msg.From, r.dealings[msg.From].ccCommit, msg.Payload)
		if err != nil {
			return round.Blame(Protocol, 2, err, "invalid chain-code opening", msg.From)
		}
		r.openings[msg.From] = rho
		return nil
	}
	_, ok1 := r.shares[msg.From]
	_, ok2 := r.accusations[msg.From]
	if ok1 || ok2 {
		return duplicate(2, msg.From)
	}
	s, err := decodeShare(r.curve, r.dealings[msg.From].commits, r.self, msg.Payload)
	if err == nil {
		r.shares[msg.From] = s
		return nil
	}
	if v := judge(r.params, r.dealings, r.self, msg.From, msg.Evidence); v.culprit != msg.From {
		return fail(2, err, fmt.Sprintf("party %d sent a bad share, but its evidence would not convince the other parties (%s)", msg.From, v.why))
	}
	r.accusations[msg.From] = slices.Clone(msg.Evidence)
	return nil
}

// Finalize broadcasts this party's view digest and complaints.
func (r *round2) Finalize() (round.Round, []round.Message, error) {
	if r.done {
		return nil, nil, finalized(2)
	}
	m := r.missing(func(id round.PartyID) bool {
		_, s := r.shares[id]
		_, a := r.accusations[id]
		_, o := r.openings[id]
		return (s || a) && o
	})
	if len(m) > 0 {
		return nil, nil, incomplete(2, m)
	}
	own := &verdict{view: r.view}
	for _, j := range r.parties {
		if ev, ok := r.accusations[j]; ok {
			own.complaints = append(own.complaints, complaint{accused: j, evidence: ev})
		}
	}
	payload, err := own.encode()
	if err != nil {
		return nil, nil, fmt.Errorf("dkg: %w", err)
	}
	r.done = true
	next := &round3{params: r.params, prev: r, own: own, verdicts: map[round.PartyID]*verdict{}}
	out := []round.Message{{Session: r.session, Round: 3, From: r.self, To: round.Broadcast, Payload: payload}}
	return next, out, nil
}

// round3 collects every other party's view digest and complaints, settles
// the complaints and, if there are none and all views agree, outputs the key
// share.
type round3 struct {
	*params
	prev     *round2
	own      *verdict
	verdicts map[round.PartyID]*verdict
	done     bool
}

func (r *round3) Number() uint16            { return 3 }
func (r *round3) Expect() round.Expectation { return round.Expectation{Broadcast: true} }

// Store checks the form of a verdict; the complaints in it are judged by
// Finalize, with all of them in hand.
func (r *round3) Store(msg round.Message) error {
	if r.done {
		return finalized(3)
	}
	if err := r.check(msg, 3, true); err != nil {
		return err
	}
	if _, dup := r.verdicts[msg.From]; dup {
		return duplicate(3, msg.From)
	}
	v, err := decodeVerdict(r.params, msg.From, msg.Payload)
	if err != nil {
		return round.Blame(Protocol, 3, err, "invalid verdict", msg.From)
	}
	r.verdicts[msg.From] = v
	return nil
}

// Finalize judges every complaint, its own included, in party order, so that
// every party reaches the same verdict from the same broadcasts. Any upheld
// or false complaint aborts naming the culprits; otherwise a view digest that
// differs from this party's aborts naming the parties that declared it;
// otherwise the key share is the result.
func (r *round3) Finalize() (round.Round, []round.Message, error) {
	if r.done {
		return nil, nil, finalized(3)
	}
	if m := r.missing(func(id round.PartyID) bool { return r.verdicts[id] != nil }); len(m) > 0 {
		return nil, nil, incomplete(3, m)
	}
	all := maps.Clone(r.verdicts)
	all[r.self] = r.own

	var (
		culprits               []round.PartyID
		reasons                []string
		badShare, falseAccuser bool
	)
	for _, accuser := range r.parties {
		for _, c := range all[accuser].complaints {
			v := judge(r.params, r.prev.dealings, accuser, c.accused, c.evidence)
			culprits = append(culprits, v.culprit)
			if v.culprit == c.accused {
				badShare = true
			} else {
				falseAccuser = true
			}
			reasons = append(reasons, fmt.Sprintf("party %d accuses party %d: %s", accuser, c.accused, v.why))
		}
	}
	if len(culprits) > 0 {
		var err error
		switch {
		case badShare && falseAccuser:
			err = errors.Join(round.ErrInvalidShare, ErrFalseComplaint)
		case badShare:
			err = round.ErrInvalidShare
		default:
			err = ErrFalseComplaint
		}
		r.done = true
		return nil, nil, round.Blame(Protocol, 3, err, strings.Join(reasons, "; "), culprits...)
	}

	var differ []round.PartyID
	for _, j := range r.parties {
		if all[j].view != r.own.view {
			differ = append(differ, j)
		}
	}
	if len(differ) > 0 {
		r.done = true
		return nil, nil, round.Blame(Protocol, 3, round.ErrEquivocation, "declared a view of round 1 that differs from this party's", differ...)
	}

	ks, err := r.prev.keyShare()
	if err != nil {
		return nil, nil, err
	}
	r.done = true
	return &round.Output{Result: ks}, nil, nil
}

// finding is the outcome of judging one complaint.
type finding struct {
	culprit round.PartyID
	why     string
}

// judge settles a complaint by accuser against accused carrying evidence. It
// depends only on the evidence, the accused's commitment and the session, so
// every party that agrees on round 1 reaches the same finding. The accused is
// at fault if it signed, as its round-2 direct message to the accuser, a
// share that is malformed or fails its own commitment; in every other case
// the accuser is.
func judge(p *params, dealings map[round.PartyID]*dealing, accuser, accused round.PartyID, evidence []byte) finding {
	if p.evidence == nil || len(evidence) == 0 {
		return finding{accuser, "no evidence"}
	}
	m, err := p.evidence.VerifyEvidence(p.session, evidence)
	if err != nil {
		return finding{accuser, "the evidence does not verify"}
	}
	if m.Session != p.session || m.Round != 2 || m.From != accused || m.To != accuser {
		return finding{accuser, "the evidence is not the accused's round-2 share for the accuser"}
	}
	d := dealings[accused]
	if d == nil {
		return finding{accuser, "the accused is not a dealer"}
	}
	_, err = decodeShare(p.curve, d.commits, accuser, m.Payload)
	switch {
	case err == nil:
		return finding{accuser, "the accused's share verifies"}
	case errors.Is(err, round.ErrInvalidShare):
		return finding{accused, "the accused signed a share that fails its commitment"}
	default:
		return finding{accused, "the accused signed a malformed share"}
	}
}

// keyShare combines the verified round-1 and round-2 values.
func (r *round2) keyShare() (*KeyShare, error) {
	c := r.curve
	secret := r.ownShare
	for _, j := range r.parties {
		if j == r.self {
			continue
		}
		s, ok := r.shares[j]
		if !ok {
			return nil, fail(3, round.ErrInvalidShare, fmt.Sprintf("no valid share from party %d", j))
		}
		secret = secret.Add(s)
	}
	// The sum of the dealers' commitments commits to F = Σ_j f_j.
	agg := slices.Clone(r.dealings[r.parties[0]].commits)
	for _, j := range r.parties[1:] {
		for k, pt := range r.dealings[j].commits {
			agg[k] = agg[k].Add(pt)
		}
	}
	if agg[0].IsIdentity() {
		return nil, fail(3, round.ErrInvalidShare, "the group key is the identity")
	}
	vs := make(map[round.PartyID]curve.Point, len(r.parties))
	for _, j := range r.parties {
		y := evalCommitment(c, agg, j)
		if y.IsIdentity() {
			return nil, fail(3, round.ErrInvalidShare, fmt.Sprintf("the verification share of party %d is the identity", j))
		}
		vs[j] = y
	}
	if !c.MulBase(secret).Equal(vs[r.self]) {
		return nil, fail(3, round.ErrInvalidShare, "the secret share does not match this party's verification share")
	}
	cc := r.chainSelf
	for j, rho := range r.openings {
		if j == r.self {
			continue
		}
		for i := range cc {
			cc[i] ^= rho[i]
		}
	}
	return &KeyShare{
		Curve:              c,
		Threshold:          r.t,
		Self:               r.self,
		Parties:            slices.Clone(r.parties),
		Secret:             secret,
		GroupKey:           agg[0],
		VerificationShares: vs,
		ChainCode:          cc,
	}, nil
}
