// Package round is the contract between Cairn's protocols and the runner that
// drives them.
//
// A protocol is a pure state machine: a sequence of Round values, each of
// which stores the messages addressed to it and, once every expected message
// is in, finalizes into the next round and the messages that round consumes.
// Rounds hold no goroutines, do no I/O and read no clock; the runner in
// package mpc moves their messages over a transport, signs and echoes
// broadcasts, enforces deadlines and turns failures into *AbortError.
package round

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// PartyID identifies a party within a key: its non-zero Shamir x-coordinate.
type PartyID uint16

// SessionID binds every message of one ceremony to that ceremony.
type SessionID [32]byte

// String returns a short hex prefix, enough for logs.
func (s SessionID) String() string { return fmt.Sprintf("%x", s[:8]) }

// NewSessionID derives a session id from the protocol name, the key id, the
// ordered party set and a ceremony nonce chosen by whoever starts the
// ceremony (a coordinator's random id). Every field is length-prefixed, so
// distinct inputs never collide by concatenation.
func NewSessionID(protocol string, keyID []byte, parties []PartyID, nonce []byte) SessionID {
	h := sha256.New()
	put := func(b []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	put([]byte("cairn/session/v1"))
	put([]byte(protocol))
	put(keyID)
	ps := make([]byte, 0, 2*len(parties))
	for _, p := range parties {
		ps = binary.BigEndian.AppendUint16(ps, uint16(p))
	}
	put(ps)
	put(nonce)
	var s SessionID
	h.Sum(s[:0])
	return s
}

// Broadcast is the To of a message meant for every other party.
const Broadcast PartyID = 0

// Message is one protocol message as a round sees it. Round is the number of
// the round that consumes it. From is authenticated by the runner before a
// round sees the message.
type Message struct {
	Session SessionID
	Round   uint16
	From    PartyID
	To      PartyID // Broadcast, or the one recipient
	Payload []byte
	// Evidence is the sender-signed envelope the runner received this message
	// in. A round may forward it (in a complaint) so that every party can
	// check, with an EvidenceVerifier, what the sender really sent. It is
	// empty on messages a round produces.
	Evidence []byte
}

// EvidenceVerifier checks forwarded evidence: it returns the message that
// the evidence proves its sender signed, or an error if the signature or
// session does not verify.
type EvidenceVerifier interface {
	VerifyEvidence(session SessionID, evidence []byte) (Message, error)
}

// IsBroadcast reports whether the message goes to every other party.
func (m Message) IsBroadcast() bool { return m.To == Broadcast }

// Expectation says which messages a round waits for from every other party.
type Expectation struct {
	Broadcast bool // one broadcast message from each other party
	Direct    bool // one direct message from each other party
}

// Round is one step of a protocol.
type Round interface {
	// Number is the round's number; the first round is 1.
	Number() uint16
	// Expect says which messages the round needs before Finalize.
	Expect() Expectation
	// Store validates one message for this round and records it. The runner
	// has already checked session, round number, sender membership and
	// duplicates. On error the round is unchanged; an error that blames a
	// party is an *Error naming it.
	Store(msg Message) error
	// Finalize is called once every expected message is stored. It returns
	// the next round and the messages that round consumes, or an *Output
	// when the protocol is done.
	Finalize() (Round, []Message, error)
}

// Output is the terminal round: it carries the protocol's result.
type Output struct{ Result any }

func (*Output) Number() uint16      { return 0 }
func (*Output) Expect() Expectation { return Expectation{} }
func (*Output) Store(Message) error { return errors.New("round: protocol is finished") }
func (o *Output) Finalize() (Round, []Message, error) {
	return nil, nil, errors.New("round: protocol is finished")
}

// Error is a protocol failure. Culprits are the parties proven (or, for
// deadlines, observed) to have deviated; it is empty when nobody can be
// blamed. It is re-exported by package mpc as mpc.AbortError.
type Error struct {
	Protocol string
	Round    uint16
	Culprits []PartyID
	Reason   string
	Err      error // an underlying sentinel, for errors.Is
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s round %d aborted", e.Protocol, e.Round)
	if len(e.Culprits) > 0 {
		fmt.Fprintf(&b, ", culprits %v", e.Culprits)
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Blame returns an *Error naming culprits, sorted and without repeats.
func Blame(protocol string, rnd uint16, err error, reason string, culprits ...PartyID) *Error {
	c := slices.Clone(culprits)
	slices.Sort(c)
	return &Error{Protocol: protocol, Round: rnd, Culprits: slices.Compact(c), Reason: reason, Err: err}
}

// Sentinels for errors.Is on the causes every protocol shares.
var (
	ErrMalformed    = errors.New("malformed message")
	ErrInvalidProof = errors.New("invalid proof")
	ErrInvalidShare = errors.New("invalid share")
	ErrEquivocation = errors.New("equivocating broadcast")
	ErrDeadline     = errors.New("deadline exceeded")
	ErrBadSignature = errors.New("invalid signature")
)

// ValidateParties checks a party set: sorted ascending, distinct, non-zero,
// containing self when self is non-zero.
func ValidateParties(parties []PartyID, self PartyID) error {
	if len(parties) == 0 {
		return errors.New("round: empty party set")
	}
	found := self == 0
	for i, p := range parties {
		if p == 0 {
			return errors.New("round: party id 0 is reserved")
		}
		if i > 0 && parties[i-1] >= p {
			return errors.New("round: party set must be sorted and distinct")
		}
		if p == self {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("round: party %d is not in the party set", self)
	}
	return nil
}
