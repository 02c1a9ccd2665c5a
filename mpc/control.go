package mpc

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
)

// ControlSession is the session id of control frames: the requests a
// coordinator sends signers and their answers. No ceremony can have it
// (ceremony ids are SHA-256 outputs).
var ControlSession = round.SessionID{}

const controlContext = "cairn/control/v1"

// Kinds of control message.
const (
	ctlRequest uint8 = iota + 1
	ctlResponse
	ctlCancel
)

// controlBody is what the sender of a control message signs.
type controlBody struct {
	_       struct{} `cbor:",toarray"`
	Context string
	From    string
	To      string
	Kind    uint8
	ID      []byte // the request id, 16 bytes
	Payload []byte
}

type controlEnvelope struct {
	_    struct{} `cbor:",toarray"`
	Body []byte
	Sig  []byte
}

// controlMsg is an opened control message.
type controlMsg struct {
	From    transport.NodeID
	Kind    uint8
	ID      [16]byte
	Payload []byte
}

// ErrUnauthenticated reports a control message whose sender is unknown or
// whose signature does not verify.
var ErrUnauthenticated = errors.New("mpc: unauthenticated control message")

func sealControl(key ed25519.PrivateKey, from, to transport.NodeID, kind uint8, id [16]byte, payload []byte) ([]byte, error) {
	body, err := wire.Marshal(controlBody{Context: controlContext, From: string(from), To: string(to), Kind: kind, ID: id[:], Payload: payload})
	if err != nil {
		return nil, err
	}
	d := sha256.Sum256(body)
	env, err := wire.Marshal(controlEnvelope{Body: body, Sig: ed25519.Sign(key, d[:])})
	if err != nil {
		return nil, err
	}
	return encodeFrame(ControlSession, env)
}

// openControl verifies a control frame addressed to self. keys holds the
// identity key of every node self accepts control messages from.
func openControl(keys map[transport.NodeID]ed25519.PublicKey, self transport.NodeID, frame []byte) (controlMsg, error) {
	sess, sealed, err := decodeFrame(frame)
	if err != nil {
		return controlMsg{}, err
	}
	if sess != ControlSession {
		return controlMsg{}, fmt.Errorf("%w: not a control frame", wire.ErrMalformed)
	}
	var env controlEnvelope
	if err := wire.Unmarshal(sealed, &env); err != nil {
		return controlMsg{}, err
	}
	var body controlBody
	if err := wire.Unmarshal(env.Body, &body); err != nil {
		return controlMsg{}, err
	}
	if body.Context != controlContext || len(body.ID) != 16 {
		return controlMsg{}, fmt.Errorf("%w: bad control context or id", wire.ErrMalformed)
	}
	pub, ok := keys[transport.NodeID(body.From)]
	d := sha256.Sum256(env.Body)
	if !ok || !ed25519.Verify(pub, d[:], env.Sig) {
		return controlMsg{}, fmt.Errorf("%w: from %q", ErrUnauthenticated, body.From)
	}
	if transport.NodeID(body.To) != self {
		return controlMsg{}, fmt.Errorf("%w: addressed to %q", ErrUnauthenticated, body.To)
	}
	m := controlMsg{From: transport.NodeID(body.From), Kind: body.Kind, Payload: body.Payload}
	copy(m.ID[:], body.ID)
	return m, nil
}

// Operations a coordinator can ask of signers.
const (
	opDKG uint8 = iota + 1
	opSign
	opPresign       // ECDSA: rounds 1–2 ahead of the message
	opSignPresigned // ECDSA: the online step from a stored presignature
)

// partyRef places a party of a key on the network.
type partyRef struct {
	_    struct{} `cbor:",toarray"`
	ID   uint16
	Node string
}

// ceremonyRequest asks a signer to take part in one ceremony.
type ceremonyRequest struct {
	_         struct{} `cbor:",toarray"`
	Op        uint8
	KeyID     string
	Scheme    string
	Threshold uint16
	Parties   []partyRef // every party of the key, ascending ids
	Signers   []uint16   // signing quorum, ascending (opSign)
	Message   []byte     // to sign (opSign)
	Taproot   bool       // BIP340: sign under the BIP341 output key
	Merkle    []byte     // BIP341 script-tree root, empty for BIP86
	Deadline  int64      // Unix milliseconds after which the ceremony is void
	Presig    []byte     // opSignPresigned: the id of the request that made the presignature
	Evidence  []byte     // opSign, opSignPresigned: what the signers' gates check, opaque here
}

// ceremonyResponse is a signer's answer.
type ceremonyResponse struct {
	_         struct{} `cbor:",toarray"`
	OK        bool
	Key       []byte // opDKG: the public key record; opSign: unused
	Signature []byte // opSign
	Code      uint8  // why it failed
	Reason    string // for people; never secret
	Culprits  []uint16
}

// Failure codes in a ceremonyResponse.
const (
	codeNone uint8 = iota
	codeBadRequest
	codeUnknownKey
	codeSessionUsed
	codeGateRefused
	codeAborted // the protocol named culprits for a proven deviation
	codeInternal
	codeTimeout // the ceremony hit its deadline; culprits are the parties that went silent
)

func (r *ceremonyRequest) parties() []round.PartyID {
	out := make([]round.PartyID, len(r.Parties))
	for i, p := range r.Parties {
		out[i] = round.PartyID(p.ID)
	}
	return out
}

func (r *ceremonyRequest) signers() []round.PartyID {
	out := make([]round.PartyID, len(r.Signers))
	for i, p := range r.Signers {
		out[i] = round.PartyID(p)
	}
	return out
}
