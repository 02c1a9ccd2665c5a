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
