package frost

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// commitMsg is the round-1 broadcast: the sender's nonce commitment, bound
// to the session it was made for.
type commitMsg struct {
	_       struct{} `cbor:",toarray"`
	Session []byte
	Hiding  []byte
	Binding []byte
}

// shareMsg is the signature-share broadcast. Inputs and Commitments are
// digests of what the share was computed over (see inputsDigest and
// commitmentsDigest): they let a receiver tell a share computed over other
// inputs, which the share's sender may not be to blame for, from an invalid
// share.
type shareMsg struct {
	_           struct{} `cbor:",toarray"`
	Session     []byte
	Inputs      []byte
	Commitments []byte
	Share       []byte
}

const digestSize = sha256.Size

// decodeCommitMsg parses a round-1 payload from party from. Every field is
// checked: the session is 32 bytes, both points decode (curve.DecodePoint:
// canonical, on the curve, in the prime-order group, not the identity) and
// differ.
func decodeCommitMsg(s *Suite, from round.PartyID, b []byte) (round.SessionID, Commitment, error) {
	var m commitMsg
	if err := wire.Unmarshal(b, &m); err != nil {
		return round.SessionID{}, Commitment{}, fmt.Errorf("%w: %w", round.ErrMalformed, err)
	}
	if len(m.Session) != len(round.SessionID{}) {
		return round.SessionID{}, Commitment{}, fmt.Errorf("%w: session id is %d bytes", round.ErrMalformed, len(m.Session))
	}
	c, err := decodeCommitment(s, from, m.Hiding, m.Binding)
	if err != nil {
		return round.SessionID{}, Commitment{}, err
	}
	return round.SessionID(m.Session), c, nil
}

// decodeShareMsg parses a signature-share payload: 32-byte session and
// digests and a canonical scalar.
func decodeShareMsg(s *Suite, b []byte) (sess round.SessionID, inputs, commitments [digestSize]byte, z curve.Scalar, err error) {
	var m shareMsg
	if err = wire.Unmarshal(b, &m); err != nil {
		err = fmt.Errorf("%w: %w", round.ErrMalformed, err)
		return
	}
	if len(m.Session) != len(sess) || len(m.Inputs) != digestSize || len(m.Commitments) != digestSize {
		err = fmt.Errorf("%w: session id or digest of the wrong length", round.ErrMalformed)
		return
	}
	if z, err = s.curve.DecodeScalar(m.Share); err != nil {
		err = fmt.Errorf("%w: signature share: %w", round.ErrMalformed, err)
		return
	}
	return round.SessionID(m.Session), [digestSize]byte(m.Inputs), [digestSize]byte(m.Commitments), z, nil
}

// inputsDigest binds what the caller gave every signer: suite, session,
// signer set, the session's (tweaked, even-y) key and the message. Fields
// are length-prefixed.
func inputsDigest(sk *signingKey, req *SignRequest) [digestSize]byte {
	h := sha256.New()
	put := func(b []byte) {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
		h.Write(b)
	}
	put([]byte("cairn/frost/inputs/v1"))
	put([]byte(sk.suite.context))
	put(req.Session[:])
	ids := make([]byte, 0, 2*len(req.Signers))
	for _, id := range req.Signers {
		ids = binary.BigEndian.AppendUint16(ids, uint16(id))
	}
	put(ids)
	put(sk.groupKey.Bytes())
	put(req.Message)
	return [digestSize]byte(h.Sum(nil))
}

// commitmentsDigest binds the commitment list a share was computed over.
func commitmentsDigest(s *Suite, list []Commitment) [digestSize]byte {
	h := sha256.New()
	h.Write([]byte("cairn/frost/commitments/v1"))
	h.Write(encodeGroupCommitmentList(s, list))
	return [digestSize]byte(h.Sum(nil))
}
