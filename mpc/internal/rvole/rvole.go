package rvole

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync/atomic"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/internal/ot"
	"github.com/cairn-mpc/cairn/mpc/round"
)

const (
	// L is the length ℓ of Alice's input vector: (r_i, sk_i) in DKLs23.
	L = 2
	// S is the statistical security parameter s.
	S = 80
	// Xi is the number of OTs per multiplication, ξ = κ + 2s with κ = 256
	// the bit length of the group order (DKLs19 Protocol 1, DKLs23 Protocol
	// 5.2): enough that χ = ⟨g, β⟩ stays uniform given the s bits of β a
	// cheating Alice can learn before she is caught.
	Xi = 256 + 2*S
	// Width is the OT payload per OT in scalars: ℓ input columns and ρ = 1
	// check column (ρ = ⌈s/κ⌉).
	Width = L + 1
)

// Domain-separation labels.
const (
	labelSession = "cairn/rvole/v1/session"
	labelGadget  = "cairn/rvole/v1/gadget"
	labelTheta   = "cairn/rvole/v1/theta"
	labelMu      = "cairn/rvole/v1/mu"
)

type checkError struct {
	msg   string
	cause error
}

func (e *checkError) Error() string { return e.msg }
func (e *checkError) Unwrap() error { return e.cause }

var (
	// ErrMultiplicationCheck reports an Alice whose message fails the
	// multiplication's consistency check (μ): she used inconsistent inputs
	// across Bob's OTs, the selective-failure probe on his choice bits. Bob
	// is unusable from then on and the caller must ban Alice for the key.
	// It wraps round.ErrInvalidProof.
	ErrMultiplicationCheck error = &checkError{"rvole: multiplication consistency check failed", round.ErrInvalidProof}

	// ErrConsistency reports a Bob whose message fails the OT extension's
	// consistency check; Alice is unusable from then on and the caller must
	// ban Bob for the key. It is ot.ErrConsistency.
	ErrConsistency = ot.ErrConsistency

	// ErrWrongSession reports a message made for another session (a replay).
	// It wraps round.ErrMalformed; nothing is banned and the state is
	// unchanged. It is ot.ErrWrongSession.
	ErrWrongSession = ot.ErrWrongSession

	// ErrUnusable reports a use of state after a failed check. It is
	// ot.ErrUnusable.
	ErrUnusable = ot.ErrUnusable

	// ErrFinished reports a second Finish of one Bob session.
	ErrFinished = errors.New("rvole: session already finished")
)

// BansPeer reports whether err is a failed check that obliges the caller to
// ban the counterparty for the key: ErrConsistency (returned to Alice) or
// ErrMultiplicationCheck (returned to Bob).
func BansPeer(err error) bool {
	return errors.Is(err, ErrConsistency) || errors.Is(err, ErrMultiplicationCheck)
}

// SessionID binds one multiplication to its context. It must differ for
// every multiplication a pair runs in a given direction.
type SessionID [32]byte

// NewSessionID derives the id of the multiplication in which alice (the
// party with the input vector) and bob (the party with the random scalar)
// take part, within the signing session signID of the key keyID, for the
// key derived along derivation (the caller's encoding of the BIP32 path or
// tweak; empty for the root key). The roles are ordered, so the two
// multiplications of a pair in one signature get distinct ids. Every field
// is length-prefixed.
func NewSessionID(keyID, signID []byte, alice, bob round.PartyID, derivation []byte) SessionID {
	h := sha256.New()
	put := func(b []byte) {
		var l [8]byte
		binary.BigEndian.PutUint64(l[:], uint64(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	put([]byte(labelSession))
	put(keyID)
	put(signID)
	put(binary.BigEndian.AppendUint16(nil, uint16(alice)))
	put(binary.BigEndian.AppendUint16(nil, uint16(bob)))
	put(derivation)
	var s SessionID
	h.Sum(s[:0])
	return s
}

// String returns a short hex prefix, enough for logs.
func (s SessionID) String() string { return fmt.Sprintf("%x", s[:8]) }

// Alice is the long-lived multiplication state of the party that inputs the
// vector a. It wraps the OT extension's sender and is safe for concurrent
// use; it is unusable once a Bob fails the OT consistency check.
type Alice struct{ ot *ot.Sender }

// Bob is the long-lived multiplication state of the party whose input is
// sampled. It wraps the OT extension's receiver and is safe for concurrent
// use; it is unusable once an Alice fails the multiplication check.
type Bob struct {
	ot     *ot.Receiver
	banned atomic.Bool
}

// NewAlice wraps the extension sender set up with the counterparty as
// receiver (ot.BaseReceiver.Finish).
func NewAlice(s *ot.Sender) *Alice { return &Alice{ot: s} }

// NewBob wraps the extension receiver set up with the counterparty as
// sender (ot.BaseSender.Open).
func NewBob(r *ot.Receiver) *Bob { return &Bob{ot: r} }

func (*Alice) String() string   { return "rvole.Alice(redacted)" }
func (*Alice) GoString() string { return "rvole.Alice(redacted)" }
func (*Bob) String() string     { return "rvole.Bob(redacted)" }
func (*Bob) GoString() string   { return "rvole.Bob(redacted)" }

// Usable reports whether Alice can still multiply: no Bob has failed the OT
// consistency check against her.
func (a *Alice) Usable() bool { return a.ot.Usable() }

// Usable reports whether Bob can still multiply: no Alice has failed the
// multiplication check against him.
func (b *Bob) Usable() bool { return !b.banned.Load() }

// BobSession is Bob's state between his message and Alice's: his random
// choice bits β, his input χ = ⟨g, β⟩ and his OT rows. It is single-use.
type BobSession struct {
	bob      *Bob
	sid      SessionID
	beta     [Xi / 8]byte
	chi      element
	g        []element // the session's gadget vector
	batch    *ot.ReceiverBatch
	finished bool
}

func (*BobSession) String() string   { return "rvole.BobSession(redacted)" }
func (*BobSession) GoString() string { return "rvole.BobSession(redacted)" }

func reader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

func gadgetFor(sid SessionID) []element {
	return gadget(sha256.Sum256(append([]byte(labelGadget), sid[:]...)))
}

// Start is Bob's first step: it samples β ∈ {0,1}^ξ uniformly, sets his
// input χ = ⟨g, β⟩ for the session's public gadget vector g, and runs the OT
// extension receiver on β. The returned message goes to Alice. rand is the
// source of β and of the OT salts: nil means crypto/rand.Reader; anything
// else is for tests only.
func (b *Bob) Start(sid SessionID, rand io.Reader) (*BobSession, []byte, error) {
	if !b.Usable() {
		return nil, nil, ErrUnusable
	}
	rnd := reader(rand)
	s := &BobSession{bob: b, sid: sid}
	if _, err := io.ReadFull(rnd, s.beta[:]); err != nil {
		return nil, nil, fmt.Errorf("rvole: reading randomness: %w", err)
	}
	batch, msg, err := b.ot.Extend(sid, s.beta[:], Xi, rnd)
	if err != nil {
		return nil, nil, err
	}
	s.batch = batch
	s.g = gadgetFor(sid)
	for j := range s.g {
		sum := add(&s.chi, &s.g[j])
		s.chi = choose(s.betaBit(j), &s.chi, &sum)
	}
	return s, msg, nil
}

func (s *BobSession) betaBit(j int) uint64 { return uint64(s.beta[j/8] >> (j % 8) & 1) }

// Chi returns Bob's random input χ. In DKLs23 Bob publishes φ − χ for his
// inversion mask φ.
func (s *BobSession) Chi() curve.Scalar { return toCurve(&s.chi) }

// theta derives θ ∈ Z_n^ℓ by Fiat–Shamir from the session, the OT
// transcript and Alice's ã (DKLs23 Protocol 5.2: θ is fixed only after ã).
func theta(sid SessionID, transcript [32]byte, aTilde []byte) [L]element {
	h := sha256.New()
	h.Write([]byte(labelTheta))
	h.Write(sid[:])
	h.Write(transcript[:])
	h.Write(aTilde)
	seed := h.Sum(nil)
	var th [L]element
	for i := range th {
		d := sha256.Sum256(append(append([]byte{}, seed...), byte(i)))
		th[i] = elementFromBytes(d[:])
	}
	return th
}

// muHash hashes the ξ check values into μ.
type muHash struct {
	h   hash.Hash
	buf [32]byte
}

func newMuHash(sid SessionID, transcript [32]byte) *muHash {
	m := &muHash{h: sha256.New()}
	m.h.Write([]byte(labelMu))
	m.h.Write(sid[:])
	m.h.Write(transcript[:])
	return m
}

func (m *muHash) add(v *element) {
	v.put(m.buf[:])
	m.h.Write(m.buf[:])
}

func (m *muHash) sum() []byte {
	clear(m.buf[:])
	return m.h.Sum(nil)
}

// Multiply is Alice's step: on Bob's message it runs the OT extension sender
// (whose consistency check may fail with ErrConsistency, which makes Alice
// unusable and obliges the caller to ban Bob) and then DKLs23 Protocol 5.2
// with input a = (a_1, a_2). It returns Alice's shares c, with c_i + d_i =
// a_i·χ for Bob's shares d, and her message for Bob. rand is the source of
// the check pad η and the OT salt: nil means crypto/rand.Reader; anything
// else is for tests only. a must be secp256k1 scalars.
//
// Steps, with (α⁰_j, α¹_j) ∈ Z_n^3 the random-OT pads of OT j:
//
//	c_i = −Σ_j g_j·α⁰_{j,i}                    (i < ℓ)
//	ã_{j,i} = α⁰_{j,i} − α¹_{j,i} + a_i        (i < ℓ),  ã_{j,ℓ} = … + η
//	θ = H(sid, transcript, ã)
//	η' = η + Σ_i θ_i·a_i
//	μ = H(sid, transcript, {α⁰_{j,ℓ} + Σ_i θ_i·α⁰_{j,i}}_j)
//
// A message that does not decode or belongs to another session wraps
// round.ErrMalformed and changes nothing.
func (a *Alice) Multiply(sid SessionID, input [L]curve.Scalar, msg []byte, rand io.Reader) ([L]curve.Scalar, []byte, error) {
	var c [L]curve.Scalar
	for i := range input {
		if input[i] == nil || len(input[i].Bytes()) != 32 {
			return c, nil, fmt.Errorf("rvole: input %d is not a secp256k1 scalar", i)
		}
	}
	rnd := reader(rand)
	batch, err := a.ot.Extend(sid, Xi, msg, rnd)
	if err != nil {
		return c, nil, err
	}
	eta, err := curve.Secp256k1.RandomScalar(rnd)
	if err != nil {
		return c, nil, err
	}
	var in [Width]element
	for i := range input {
		in[i] = fromCurve(input[i])
	}
	in[L] = fromCurve(eta)

	pad0, pad1, err := batch.Pads(32 * Width)
	if err != nil {
		return c, nil, err
	}
	g := gadgetFor(sid)
	var cs [L]wide
	aTilde := make([]byte, 32*Width*Xi)
	alpha0 := make([]element, Width*Xi)
	for j := 0; j < Xi; j++ {
		for i := 0; i < Width; i++ {
			k := Width*j + i
			alpha0[k] = elementFromBytes(pad0[32*k:])
			alpha1 := elementFromBytes(pad1[32*k:])
			t := sub(&alpha0[k], &alpha1)
			t = add(&t, &in[i])
			t.put(aTilde[32*k:])
			if i < L {
				cs[i].addMul(&g[j], &alpha0[k])
			}
		}
	}
	clear(pad0)
	clear(pad1)

	transcript := batch.Transcript()
	th := theta(sid, transcript, aTilde)
	var ep wide
	ep.add(&in[L])
	for i := 0; i < L; i++ {
		ep.addMul(&th[i], &in[i])
	}
	etaPrime := ep.reduce()
	mu := newMuHash(sid, transcript)
	for j := 0; j < Xi; j++ {
		var w wide
		w.add(&alpha0[Width*j+L])
		for i := 0; i < L; i++ {
			w.addMul(&th[i], &alpha0[Width*j+i])
		}
		v := w.reduce()
		mu.add(&v)
	}
	clear(alpha0)
	clear(in[:])

	salt := batch.Salt()
	reply, err := wire.Marshal(aliceMsg{Session: sid[:], Salt: salt[:], ATilde: aTilde, Eta: etaPrime.bytes(), Mu: mu.sum()})
	if err != nil {
		return c, nil, err
	}
	for i := range cs {
		ci := cs[i].reduce()
		ci = neg(&ci)
		c[i] = toCurve(&ci)
	}
	clear(cs[:])
	return c, reply, nil
}

// Finish is Bob's last step: on Alice's message it derives his shares d with
// c_i + d_i = a_i·χ, after checking the multiplication's consistency:
//
//	d̄_{j,i} = v_{j,i} + β_j·ã_{j,i}   (v_j the pads Bob's choice β_j selected)
//	μ =? H(sid, transcript, {d̄_{j,ℓ} + Σ_i θ_i·d̄_{j,i} − β_j·η'}_j)
//	d_i = Σ_j g_j·d̄_{j,i}
//
// A message that does not decode, has the wrong dimensions, carries a
// non-canonical scalar or belongs to another session wraps round.ErrMalformed
// and leaves the session as it was. A failed check returns
// ErrMultiplicationCheck, makes Bob unusable, and obliges the caller to ban
// Alice. A session finishes once.
func (s *BobSession) Finish(msg []byte) ([L]curve.Scalar, error) {
	var d [L]curve.Scalar
	if s.finished {
		return d, ErrFinished
	}
	if !s.bob.Usable() {
		return d, ErrUnusable
	}
	var m aliceMsg
	if err := wire.Unmarshal(msg, &m); err != nil {
		return d, fmt.Errorf("%w: rvole: Alice's message: %w", round.ErrMalformed, err)
	}
	switch {
	case len(m.Session) != 32 || len(m.Salt) != 32 || len(m.Mu) != 32:
		return d, fmt.Errorf("%w: rvole: Alice's message: session, salt and μ must be 32 bytes each", round.ErrMalformed)
	case len(m.ATilde) != 32*Width*Xi:
		return d, fmt.Errorf("%w: rvole: ã has %d bytes, want %d", round.ErrMalformed, len(m.ATilde), 32*Width*Xi)
	case SessionID(m.Session) != s.sid:
		return d, fmt.Errorf("%w: Alice's message", ErrWrongSession)
	}
	etaPrime, ok := decodeElement(m.Eta)
	if !ok {
		return d, fmt.Errorf("%w: rvole: η' is not a canonical scalar", round.ErrMalformed)
	}
	aTilde := make([]element, Width*Xi)
	for k := range aTilde {
		if aTilde[k], ok = decodeElement(m.ATilde[32*k : 32*k+32]); !ok {
			return d, fmt.Errorf("%w: rvole: ã entry %d is not a canonical scalar", round.ErrMalformed, k)
		}
	}

	salt := [32]byte(m.Salt)
	pads, err := s.batch.Pads(salt, 32*Width)
	if err != nil {
		return d, err
	}
	transcript := s.batch.Transcript(salt)
	th := theta(s.sid, transcript, m.ATilde)
	dBar := make([]element, Width*Xi)
	mu := newMuHash(s.sid, transcript)
	for j := 0; j < Xi; j++ {
		bit := s.betaBit(j)
		for i := 0; i < Width; i++ {
			k := Width*j + i
			v := elementFromBytes(pads[32*k:])
			w := add(&v, &aTilde[k])
			dBar[k] = choose(bit, &v, &w)
		}
		var acc wide
		acc.add(&dBar[Width*j+L])
		for i := 0; i < L; i++ {
			acc.addMul(&th[i], &dBar[Width*j+i])
		}
		v := acc.reduce()
		w := sub(&v, &etaPrime)
		v = choose(bit, &v, &w)
		mu.add(&v)
	}
	clear(pads)
	if subtle.ConstantTimeCompare(mu.sum(), m.Mu) != 1 {
		s.bob.banned.Store(true)
		s.wipe()
		clear(dBar)
		return d, fmt.Errorf("%w: Alice's check values do not match μ", ErrMultiplicationCheck)
	}
	var ds [L]wide
	for j := 0; j < Xi; j++ {
		for i := 0; i < L; i++ {
			ds[i].addMul(&s.g[j], &dBar[Width*j+i])
		}
	}
	clear(dBar)
	for i := range ds {
		di := ds[i].reduce()
		d[i] = toCurve(&di)
	}
	clear(ds[:])
	s.wipe()
	return d, nil
}

// wipe ends the session: its secrets are dropped and Finish refuses to run
// again.
func (s *BobSession) wipe() {
	s.finished = true
	clear(s.beta[:])
	s.batch, s.g = nil, nil
}
