package ecdsa

import (
	"fmt"
	"slices"
	"sync"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// Presignature is one signer's result of the message-independent rounds 1–2
// of DKLs23 signing (NewPresigning): the nonce point R = Σ R_j and this
// signer's additive shares u_i of r·φ and v_i of sk·φ, with its inversion
// mask φ_i. Signing a digest with it takes one broadcast
// (NewOnlineSigning).
//
// A Presignature is single-use: signing two digests with one R reveals the
// key. NewOnlineSigning consumes it (marks it used and drops its secrets)
// before it returns the broadcast, and refuses a used one with
// ErrPresignatureUsed. That protects one copy in memory; the caller must
// make sure no other copy survives: delete the sealed record (and make the
// deletion durable) before calling NewOnlineSigning, so a crash cannot bring
// it back as unused. String and GoString print public parts only.
type Presignature struct {
	keyID      round.SessionID
	session    round.SessionID // of the presigning ceremony
	self       round.PartyID
	signers    []round.PartyID
	derivation [32]byte    // the binding of Derivation and Tweak
	pub        curve.Point // the key signed under
	r          curve.Point // R
	view       [32]byte    // digest of every signer's round-1 and round-2 broadcasts

	mu        sync.Mutex
	used      bool
	u, v, phi curve.Scalar // secret; nil once used
}

// Session is the id of the presigning ceremony that made p.
func (p *Presignature) Session() round.SessionID { return p.session }

// Signers is the signer set that made p, which must sign with it.
func (p *Presignature) Signers() []round.PartyID { return slices.Clone(p.signers) }

// R is the nonce point, public once the presignature exists.
func (p *Presignature) R() curve.Point { return p.r }

// PublicKey is the SEC1 compressed key signatures from p verify under.
func (p *Presignature) PublicKey() []byte { return p.pub.Bytes() }

// Used reports whether p has been consumed.
func (p *Presignature) Used() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// take consumes the presignature and returns its secrets; only the first
// call succeeds.
func (p *Presignature) take() (u, v, phi curve.Scalar, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used || p.u == nil {
		return nil, nil, nil, ErrPresignatureUsed
	}
	u, v, phi = p.u, p.v, p.phi
	p.used, p.u, p.v, p.phi = true, nil, nil, nil
	return u, v, phi, nil
}

// String describes the presignature without its secrets.
func (p *Presignature) String() string {
	if p == nil || p.r == nil {
		return "ecdsa.Presignature{}"
	}
	return fmt.Sprintf("ecdsa.Presignature{party %d, signers %v, session %v, R %x, used %v, secrets redacted}",
		p.self, p.signers, p.session, p.r.Bytes(), p.Used())
}

// GoString is String.
func (p *Presignature) GoString() string { return p.String() }

// Format makes every fmt verb print String.
func (p *Presignature) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }

// presignatureEncoding is a Presignature at rest. It is secret: seal it.
type presignatureEncoding struct {
	_          struct{} `cbor:",toarray"`
	KeyID      []byte
	Session    []byte
	Self       uint16
	Signers    []uint16
	Derivation []byte
	PublicKey  []byte
	R          []byte
	View       []byte
	U, V, Phi  []byte
}

// MarshalBinary encodes an unused presignature, secrets included, for
// sealed storage. A used one is refused with ErrPresignatureUsed.
func (p *Presignature) MarshalBinary() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used || p.u == nil {
		return nil, ErrPresignatureUsed
	}
	signers := make([]uint16, len(p.signers))
	for i, id := range p.signers {
		signers[i] = uint16(id)
	}
	enc := presignatureEncoding{
		KeyID: p.keyID[:], Session: p.session[:], Self: uint16(p.self), Signers: signers,
		Derivation: p.derivation[:], PublicKey: p.pub.Bytes(), R: p.r.Bytes(), View: p.view[:],
		U: p.u.Bytes(), V: p.v.Bytes(), Phi: p.phi.Bytes(),
	}
	defer func() { clear(enc.U); clear(enc.V); clear(enc.Phi) }()
	return wire.Marshal(enc)
}

// ParsePresignature decodes and validates an encoding made by
// MarshalBinary: 32-byte ids and digests, a valid signer set of at least two
// containing the holder, valid non-identity points, canonical scalars with
// φ_i ≠ 0. Whether it belongs to a given key is checked when it is used.
func ParsePresignature(b []byte) (*Presignature, error) {
	var e presignatureEncoding
	if err := wire.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%w: presignature: %w", ErrInvalidRequest, err)
	}
	defer func() { clear(e.U); clear(e.V); clear(e.Phi) }()
	bad := func(what string) error { return fmt.Errorf("%w: presignature: %s", ErrInvalidRequest, what) }
	if len(e.KeyID) != 32 || len(e.Session) != 32 || len(e.Derivation) != 32 || len(e.View) != 32 {
		return nil, bad("id or digest of the wrong length")
	}
	signers := make([]round.PartyID, len(e.Signers))
	for i, id := range e.Signers {
		signers[i] = round.PartyID(id)
	}
	if len(signers) < 2 || len(signers) > MaxParties || round.ValidateParties(signers, round.PartyID(e.Self)) != nil || e.Self == 0 {
		return nil, bad("signer set")
	}
	c := curve.Secp256k1
	p := &Presignature{
		keyID: round.SessionID(e.KeyID), session: round.SessionID(e.Session), self: round.PartyID(e.Self),
		signers: signers, derivation: [32]byte(e.Derivation), view: [32]byte(e.View),
	}
	var err error
	if p.pub, err = c.DecodePoint(e.PublicKey); err != nil {
		return nil, bad("public key")
	}
	if p.r, err = c.DecodePoint(e.R); err != nil {
		return nil, bad("nonce point")
	}
	if p.u, err = c.DecodeScalar(e.U); err != nil {
		return nil, bad("u")
	}
	if p.v, err = c.DecodeScalar(e.V); err != nil {
		return nil, bad("v")
	}
	if p.phi, err = c.DecodeScalar(e.Phi); err != nil || p.phi.IsZero() {
		return nil, bad("φ")
	}
	return p, nil
}
