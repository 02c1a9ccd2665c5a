package mpc

import (
	"fmt"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// frame is what travels on the transport: the session id in the clear, for
// routing, and the signed envelope, which repeats the session id under the
// sender's signature.
type frame struct {
	_       struct{} `cbor:",toarray"`
	Session []byte
	Sealed  []byte
}

func encodeFrame(s round.SessionID, sealed []byte) ([]byte, error) {
	return wire.Marshal(frame{Session: s[:], Sealed: sealed})
}

// decodeFrame parses a frame from a peer.
func decodeFrame(b []byte) (round.SessionID, []byte, error) {
	var f frame
	if err := wire.Unmarshal(b, &f); err != nil {
		return round.SessionID{}, nil, err
	}
	var s round.SessionID
	if len(f.Session) != len(s) {
		return s, nil, fmt.Errorf("%w: session id is %d bytes", wire.ErrMalformed, len(f.Session))
	}
	copy(s[:], f.Session)
	return s, f.Sealed, nil
}

// echoEntry vouches for one broadcast: its sender, its envelope digest and
// the sender's signature over that digest.
type echoEntry struct {
	_      struct{} `cbor:",toarray"`
	From   uint16
	Digest []byte
	Sig    []byte
}

type echoBody struct {
	_       struct{} `cbor:",toarray"`
	Entries []echoEntry
}

func decodeEcho(b []byte) ([]echoEntry, error) {
	var e echoBody
	if err := wire.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	for _, x := range e.Entries {
		if len(x.Digest) != 32 {
			return nil, fmt.Errorf("%w: echo digest is %d bytes", wire.ErrMalformed, len(x.Digest))
		}
	}
	return e.Entries, nil
}

// complaintRound is the round number of a complaint envelope. No protocol
// round has number 0 (the runner refuses to send a message for it), so a
// complainer's signature on a round-0 envelope cannot be taken for its
// signature on a protocol message, nor the other way round.
const complaintRound uint16 = 0

// complaintBody is the payload of a complaint: the envelope the accused sent
// the complainer, exactly as the accused signed it.
type complaintBody struct {
	_        struct{} `cbor:",toarray"`
	Envelope []byte
}

// decodeComplaint parses a complaint's payload from a peer. It checks the
// form only; the enclosed envelope is verified by the caller.
func decodeComplaint(b []byte) ([]byte, error) {
	var c complaintBody
	if err := wire.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	if len(c.Envelope) == 0 {
		return nil, fmt.Errorf("%w: complaint encloses no envelope", wire.ErrMalformed)
	}
	return c.Envelope, nil
}
