package mpc

import (
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

var (
	// ErrComplaint is matched (errors.Is) by an abort caused by another
	// party's verified complaint; errors.As finds the *Complaint.
	ErrComplaint = errors.New("mpc: a party complained about a message it received")
	// ErrInvalidComplaint is matched by an abort that names a complainer
	// whose complaint did not verify, or accused this party itself.
	ErrInvalidComplaint = errors.New("mpc: invalid complaint")
)

// Complaint is the cause (AbortError.Err, found with errors.As) of an abort
// that another party's complaint brought about. The complaint proves that
// Accused signed Envelope, a direct message to Accuser in this session; it
// does not prove that the message was wrong (see Runner). Envelope is
// evidence a caller may keep or forward: anyone with Accused's identity key
// can check it with round.Keyring.VerifyEvidence.
type Complaint struct {
	Accuser  round.PartyID
	Accused  round.PartyID
	Round    uint16 // the round of the enclosed message
	Envelope []byte // the accused's sealed envelope, as it signed it
}

func (c *Complaint) Error() string {
	return fmt.Sprintf("party %d complained about party %d's round %d message", c.Accuser, c.Accused, c.Round)
}

// Unwrap makes errors.Is(err, ErrComplaint) hold.
func (c *Complaint) Unwrap() error { return ErrComplaint }

// complain sends every other party of the session a complaint, signed by
// this party, enclosing the envelope in which accused sent this party a
// direct message that the current round refused. It is sent once, on the
// way out of an aborted run: a lost complaint leaves the other parties to
// their deadline, as before complaints existed.
func (st *run) complain(accused round.PartyID, evidence []byte) {
	if len(evidence) == 0 {
		return // a message that did not come through Open; nothing to show
	}
	payload, err := wire.Marshal(complaintBody{Envelope: evidence})
	var fr []byte
	if err == nil {
		fr, _, err = st.frame(round.Message{Session: st.Session, Round: complaintRound, From: st.Self, To: round.Broadcast, Payload: payload}, false)
	}
	if err != nil {
		st.Logger.Warn("mpc: complaint not sent", "protocol", st.Protocol, "session", st.Session, "accused", accused, "err", err)
		return
	}
	for _, p := range st.others {
		if err := st.Conn.Send(st.ctx, st.nodes[p], fr); err != nil {
			st.Logger.Warn("mpc: complaint send failed", "protocol", st.Protocol, "session", st.Session, "to", p, "err", err)
		}
	}
}

// complainAbout sends a complaint for each culprit of err that sent this
// party a direct message in the current round: the message on which the
// round's verdict rests, which no other party has seen.
func (st *run) complainAbout(err error, refused *round.Message) {
	var re *round.Error
	if !errors.As(err, &re) {
		return
	}
	for _, c := range re.Culprits {
		switch {
		case refused != nil:
			if c == refused.From && !refused.IsBroadcast() {
				st.complain(c, refused.Evidence)
			}
		default:
			if in, ok := st.direct[c]; ok {
				st.complain(c, in.m.Evidence)
			}
		}
	}
}

// onComplaint judges a complaint signed by c.From for this session. A
// complaint that proves the accused signed a direct message of this session
// to the complainer aborts the run naming the accused; any other complaint
// is the complainer's own deviation, since it signed it.
func (st *run) onComplaint(c round.Message) error {
	accuser, n := c.From, st.cur.Number()
	invalid := func(rnd uint16, cause error, reason string) error {
		return st.abort(rnd, fmt.Errorf("%w: %w", ErrInvalidComplaint, cause), reason, accuser)
	}
	env, err := decodeComplaint(c.Payload)
	if err != nil {
		return invalid(n, fmt.Errorf("%w: %w", round.ErrMalformed, err), "undecodable complaint")
	}
	m, echo, err := round.Open(st.keys.Key, env)
	if err != nil {
		if !errors.Is(err, round.ErrBadSignature) {
			err = fmt.Errorf("%w: %w", round.ErrMalformed, err)
		}
		return invalid(n, err, "complaint encloses an envelope that does not open under a party's key")
	}
	if echo || m.Session != st.Session || m.Round == complaintRound || m.IsBroadcast() || m.To != accuser || m.From == accuser {
		return invalid(n, round.ErrMalformed, "complaint encloses no direct message of this session to the complainer")
	}
	cause := &Complaint{Accuser: accuser, Accused: m.From, Round: m.Round, Envelope: env}
	if m.From == st.Self {
		// This party knows what it sent was the protocol's: the accusation
		// is false.
		return invalid(m.Round, cause, fmt.Sprintf("party %d complained about this party's message", accuser))
	}
	return st.abort(m.Round, cause, cause.Error(), m.From)
}
