package round

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/wire"
)

// ErrUnknownSender reports a signed message whose sender has no identity key.
var ErrUnknownSender = errors.New("round: unknown sender")

// envelopeBody is what a sender signs: every field that places the payload
// in one session, round, direction and role.
type envelopeBody struct {
	_       struct{} `cbor:",toarray"`
	Context string
	Session []byte
	Round   uint16
	From    uint16
	To      uint16
	Echo    bool
	Payload []byte
}

type envelope struct {
	_    struct{} `cbor:",toarray"`
	Body []byte
	Sig  []byte
}

const envelopeContext = "cairn/envelope/v1"

// Seal encodes m and signs it with the sender's identity key. echo marks the
// runner's echo-broadcast messages, which are not protocol messages.
func Seal(key ed25519.PrivateKey, m Message, echo bool) ([]byte, error) {
	sealed, _, err := SealDigest(key, m, echo)
	return sealed, err
}

// SealDigest is Seal that also returns the body digest the signature covers
// (the Digest that Parse finds in the result), so that a sender who keeps it
// need not decode what it has just encoded.
func SealDigest(key ed25519.PrivateKey, m Message, echo bool) ([]byte, [32]byte, error) {
	body, err := wire.Marshal(envelopeBody{
		Context: envelopeContext, Session: m.Session[:], Round: m.Round,
		From: uint16(m.From), To: uint16(m.To), Echo: echo, Payload: m.Payload,
	})
	if err != nil {
		return nil, [32]byte{}, err
	}
	d := bodyDigest(body)
	sealed, err := wire.Marshal(envelope{Body: body, Sig: ed25519.Sign(key, d[:])})
	return sealed, d, err
}

// bodyDigest is what the identity key signs: a digest of the encoded body, so
// that an echo can carry (digest, signature) pairs that anyone can check
// without the payload.
func bodyDigest(body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(envelopeContext))
	h.Write(body)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// VerifyDigest reports whether sig is pub's signature over an envelope whose
// body digest is digest.
func VerifyDigest(pub ed25519.PublicKey, digest [32]byte, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, digest[:], sig)
}

// Sealed is a sealed message whose outer envelope is decoded but whose
// signature is not yet checked: enough to recognise a copy of an envelope by
// its digest before paying for a signature check.
type Sealed struct {
	raw    []byte
	body   []byte
	Digest [32]byte // the body digest the sender's signature covers
	Sig    []byte
}

// Parse decodes the outer envelope of a sealed message and digests its body,
// without verifying the signature.
func Parse(b []byte) (Sealed, error) {
	var env envelope
	if err := wire.Unmarshal(b, &env); err != nil {
		return Sealed{}, fmt.Errorf("round: envelope: %w", err)
	}
	return Sealed{raw: b, body: env.Body, Digest: bodyDigest(env.Body), Sig: env.Sig}, nil
}

// Open decodes and verifies a sealed message. key returns the identity key of
// a party, or nil for a party it does not know. The returned message carries
// b as its Evidence.
func Open(key func(PartyID) ed25519.PublicKey, b []byte) (Message, bool, error) {
	s, err := Parse(b)
	if err != nil {
		return Message{}, false, err
	}
	return s.Open(key)
}

// Open decodes the body of a parsed envelope and verifies its signature, as
// the function Open does.
func (s Sealed) Open(key func(PartyID) ed25519.PublicKey) (Message, bool, error) {
	var body envelopeBody
	if err := wire.Unmarshal(s.body, &body); err != nil {
		return Message{}, false, fmt.Errorf("round: envelope body: %w", err)
	}
	if body.Context != envelopeContext || len(body.Session) != len(SessionID{}) {
		return Message{}, false, fmt.Errorf("round: envelope: %w: bad context or session length", wire.ErrMalformed)
	}
	pub := key(PartyID(body.From))
	if len(pub) != ed25519.PublicKeySize {
		return Message{}, false, fmt.Errorf("%w: party %d", ErrUnknownSender, body.From)
	}
	if !ed25519.Verify(pub, s.Digest[:], s.Sig) {
		return Message{}, false, fmt.Errorf("%w: envelope from party %d", ErrBadSignature, body.From)
	}
	m := Message{Round: body.Round, From: PartyID(body.From), To: PartyID(body.To), Payload: body.Payload, Evidence: s.raw}
	copy(m.Session[:], body.Session)
	return m, body.Echo, nil
}

// Keyring maps parties to their identity keys and verifies evidence with them.
type Keyring map[PartyID]ed25519.PublicKey

// Key returns the identity key of p, or nil.
func (k Keyring) Key(p PartyID) ed25519.PublicKey { return k[p] }

// VerifyEvidence implements EvidenceVerifier.
func (k Keyring) VerifyEvidence(session SessionID, evidence []byte) (Message, error) {
	m, echo, err := Open(k.Key, evidence)
	if err != nil {
		return Message{}, err
	}
	if echo || m.Session != session {
		return Message{}, fmt.Errorf("round: evidence is not a protocol message of session %v", session)
	}
	return m, nil
}
