package ot

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"io"

	"filippo.io/edwards25519"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// Kappa is the number of base OTs, the bit length of the extension's
// correlation Δ and of every extended OT's row.
const Kappa = 256

// seedSize is the length of a base-OT output (an extension seed).
const seedSize = 32

// group is the base-OT group. edwards25519 has constant-time scalar
// multiplication in filippo.io/edwards25519; curve.DecodePoint refuses
// points outside its prime-order subgroup, which matters here: a point with
// a small-order component would let the base-OT sender read the receiver's
// choice bits off its messages (the "Devious Transfer" attacks on cofactor
// curves).
var group = curve.Edwards25519

// PairID binds OT state to the ceremony that set it up and to its two parties
// in role order. Every hash of the base OT and of every later extension
// includes it.
type PairID [32]byte

// NewPairID derives the PairID of the directional instance in which sender
// is the extension's sender (the DKLs23 multiplication's Alice, who runs the
// base OT as its receiver) and receiver the extension's receiver (Bob, the
// base-OT sender). session is the id of the ceremony that runs the base OT,
// such as the DKG's round.SessionID.
func NewPairID(session []byte, sender, receiver round.PartyID) PairID {
	return PairID(newTranscript(labelPair).put(session).putUint(uint64(sender)).putUint(uint64(receiver)).sum())
}

// The base OT is Verified Simplest OT, DKLs18 (eprint 2018/499) Protocol 7
// in its random-OT form, run Kappa times in parallel with one sender key B.
// Message by message:
//
//  1. Sender:   b ← Z_q, B = b·G, a Schnorr proof of knowledge of b (step 1).
//  2. Receiver: checks the proof; for each i, ω_i ← {0,1}, a_i ← Z_q,
//     A_i = a_i·G + ω_i·B; ρ_i = H(i, a_i·B) (steps 2–3).
//  3. Sender:   ρ⁰_i = H(i, b·A_i), ρ¹_i = H(i, b·(A_i − B)); the challenge
//     ξ_i = H'(H(ρ⁰_i)) ⊕ H'(H(ρ¹_i)) (steps 4–5).
//  4. Receiver: the response ρ'_i = H'(H(ρ_i)) ⊕ ω_i·ξ_i (step 6).
//  5. Sender:   checks ρ'_i = H'(H(ρ⁰_i)) and, if every one holds, opens
//     H(ρ⁰_i), H(ρ¹_i) (step 7).
//  6. Receiver: checks its own opening H(ρ_i) and that the openings hash to
//     ξ_i (step 8).
//
// The sender ends with (ρ⁰_i, ρ¹_i), the receiver with (ω_i, ρ_{ω_i}). The
// verification makes the receiver show it knows one of the two pads, which
// lets the simulator extract ω (plain Simplest OT is not UC-secure without
// it); the sender's openings let the receiver check that the challenge was
// honest. A sender can still fail the receiver selectively on a guess of ω_i,
// which costs it an abort with probability 1/2 per guessed bit and is why an
// abort must never be retried with the same parties unnoticed.

// A BaseSender runs the sender side of the base OT. It is the future
// extension Receiver (Bob): its output is Kappa pairs of seeds.
type BaseSender struct {
	pair  PairID
	bh    edwards25519.Scalar // b·8⁻¹ mod ℓ (see decodeChoice)
	pub   curve.Point         // B
	bB    edwards25519.Point  // b·B
	pads  [Kappa][2][seedSize]byte
	opens [Kappa][2][32]byte
	step  int // 1: key sent; 2: challenge sent; 3: done; −1: aborted
}

// A BaseReceiver runs the receiver side of the base OT. It is the future
// extension Sender (Alice): its random choice bits become the correlation Δ.
type BaseReceiver struct {
	pair      PairID
	delta     [Kappa / 8]byte // ω, packed
	pads      [Kappa][seedSize]byte
	challenge [Kappa][32]byte
	step      int // 1: choices sent; 2: response sent; 3: done; −1: aborted
}

func (*BaseSender) String() string     { return "ot.BaseSender(redacted)" }
func (*BaseSender) GoString() string   { return "ot.BaseSender(redacted)" }
func (*BaseReceiver) String() string   { return "ot.BaseReceiver(redacted)" }
func (*BaseReceiver) GoString() string { return "ot.BaseReceiver(redacted)" }

func reader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// pokChallenge is the Fiat–Shamir challenge of the sender's Schnorr proof.
func pokChallenge(pair PairID, pub, commit curve.Point) curve.Scalar {
	t := &transcript{h: sha512.New()}
	t.put([]byte(labelPoK)).put(pair[:]).put(pub.Bytes()).put(commit.Bytes())
	return group.ReduceScalar(t.h.Sum(nil))
}

// basePad is H(i, P) for the encoding enc of P.
func basePad(pair PairID, i int, enc []byte) (d [seedSize]byte) {
	return newTranscript(labelPad).put(pair[:]).putUint(uint64(i)).put(enc).sum()
}

func openHash(pair PairID, i int, pad *[seedSize]byte) [32]byte {
	return newTranscript(labelOpen).put(pair[:]).putUint(uint64(i)).put(pad[:]).sum()
}

func checkHash(pair PairID, i int, open *[32]byte) [32]byte {
	return newTranscript(labelCheck).put(pair[:]).putUint(uint64(i)).put(open[:]).sum()
}

// NewBaseSender starts the base OT as its sender and returns the first
// message, for the receiver. rand is the source of b and of the proof's
// nonce: nil means crypto/rand.Reader; anything else is for tests only.
func NewBaseSender(pair PairID, rand io.Reader) (*BaseSender, []byte, error) {
	rnd := reader(rand)
	b, err := group.RandomScalar(rnd)
	if err != nil {
		return nil, nil, err
	}
	k, err := group.RandomScalar(rnd)
	if err != nil {
		return nil, nil, err
	}
	s := &BaseSender{pair: pair, pub: group.MulBase(b), step: 1}
	var bs edwards25519.Scalar
	if _, err := bs.SetCanonicalBytes(b.Bytes()); err != nil {
		return nil, nil, fmt.Errorf("ot: unreachable: %w", err)
	}
	s.bh.Multiply(&bs, invCofactor)
	s.bB.ScalarBaseMult(&bs)
	s.bB.ScalarMult(&bs, &s.bB)
	bs = edwards25519.Scalar{}
	commit := group.MulBase(k)
	z := k.Add(pokChallenge(pair, s.pub, commit).Mul(b))
	msg, err := wire.Marshal(baseKeyMsg{B: s.pub.Bytes(), R: commit.Bytes(), Z: z.Bytes()})
	if err != nil {
		return nil, nil, err
	}
	return s, msg, nil
}

// NewBaseReceiver checks the sender's first message, samples the choice bits
// (the future Δ) and returns the receiver's message. A message that does not
// decode wraps round.ErrMalformed; a proof that does not verify wraps
// round.ErrInvalidProof. rand is as for NewBaseSender; the receiver's
// scalars come only from it, never from peer bytes.
func NewBaseReceiver(pair PairID, msg []byte, rand io.Reader) (*BaseReceiver, []byte, error) {
	var m baseKeyMsg
	if err := wire.Unmarshal(msg, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: ot: base-OT key message: %w", round.ErrMalformed, err)
	}
	pub, err := group.DecodePoint(m.B)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: ot: base-OT key: %w", round.ErrMalformed, err)
	}
	commit, err := group.DecodePoint(m.R)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: ot: base-OT proof commitment: %w", round.ErrMalformed, err)
	}
	z, err := group.DecodeScalar(m.Z)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: ot: base-OT proof response: %w", round.ErrMalformed, err)
	}
	if !group.MulBase(z).Equal(commit.Add(pub.Mul(pokChallenge(pair, pub, commit)))) {
		return nil, nil, fmt.Errorf("%w: ot: base-OT sender's proof of knowledge does not verify", round.ErrInvalidProof)
	}

	rnd := reader(rand)
	r := &BaseReceiver{pair: pair, step: 1}
	if _, err := io.ReadFull(rnd, r.delta[:]); err != nil {
		return nil, nil, fmt.Errorf("ot: reading randomness: %w", err)
	}
	var B edwards25519.Point
	if _, err := B.SetBytes(pub.Bytes()); err != nil {
		return nil, nil, fmt.Errorf("ot: unreachable: %w", err)
	}
	// points holds, for each i, A_i = a_i·G + ω_i·B and a_i·B (the pad's
	// point), encoded in one batch. Both products use combs; ω_i·B is
	// selected in constant time between the identity and B.
	gTable, bTable := baseComb(), newComb(&B)
	bNiels := bTable.table[0][0] // 1·B
	points := make([]extended, 2*Kappa)
	var a edwards25519.Scalar
	var addend niels
	for i := 0; i < Kappa; i++ {
		s, err := group.RandomScalar(rnd)
		if err != nil {
			return nil, nil, err
		}
		if _, err := a.SetCanonicalBytes(s.Bytes()); err != nil {
			return nil, nil, fmt.Errorf("ot: unreachable: %w", err)
		}
		e := radix16(&a)
		gTable.mul(&points[2*i], &e)
		addend.selectNiels(&bNiels, &identityNiels, int(r.delta[i/8]>>(i%8)&1))
		points[2*i].addNiels(&addend)
		bTable.mul(&points[2*i+1], &e)
		clear(e[:])
	}
	a = edwards25519.Scalar{}
	addend = niels{}
	enc := encodeBatch(points)
	clear(points)
	choices := make([]byte, 0, Kappa*32)
	for i := 0; i < Kappa; i++ {
		choices = append(choices, enc[64*i:64*i+32]...)
		r.pads[i] = basePad(pair, i, enc[64*i+32:64*i+64])
	}
	clear(enc)
	out, err := wire.Marshal(vectorMsg{V: choices})
	if err != nil {
		return nil, nil, err
	}
	return r, out, nil
}

// Challenge consumes the receiver's message and returns the challenge
// message. Every A_i is decoded with curve.DecodePoint (canonical, in the
// prime-order subgroup, not the identity). A message that does not decode
// wraps round.ErrMalformed and leaves the sender unchanged.
func (s *BaseSender) Challenge(msg []byte) ([]byte, error) {
	if s.step != 1 {
		return nil, s.orderError()
	}
	choices, err := decodeVector(msg, Kappa*32, "base-OT choice message")
	if err != nil {
		return nil, err
	}
	// For each i, b·A_i and b·A_i − b·B, encoded in one batch; b·A_i is
	// computed as (b·8⁻¹)·(8·A_i) (decodeChoice).
	decoded := make([]edwards25519.Point, Kappa)
	for i := range decoded {
		if err := decodeChoice(&decoded[i], choices[32*i:32*i+32]); err != nil {
			return nil, fmt.Errorf("%w: ot: base-OT choice %d: %w", round.ErrMalformed, i, err)
		}
	}
	points := make([]extended, 2*Kappa)
	var P edwards25519.Point
	for i := range decoded {
		P.ScalarMult(&s.bh, &decoded[i])
		points[2*i].fromPoint(&P)
		P.Subtract(&P, &s.bB)
		points[2*i+1].fromPoint(&P)
	}
	P = edwards25519.Point{}
	enc := encodeBatch(points)
	clear(points)
	challenge := make([]byte, 0, Kappa*32)
	for i := 0; i < Kappa; i++ {
		s.pads[i][0] = basePad(s.pair, i, enc[64*i:64*i+32])
		s.pads[i][1] = basePad(s.pair, i, enc[64*i+32:64*i+64])
		var xi [32]byte
		for c := range 2 {
			s.opens[i][c] = openHash(s.pair, i, &s.pads[i][c])
			h := checkHash(s.pair, i, &s.opens[i][c])
			subtle.XORBytes(xi[:], xi[:], h[:])
		}
		challenge = append(challenge, xi[:]...)
	}
	clear(enc)
	out, err := wire.Marshal(vectorMsg{V: challenge})
	if err != nil {
		return nil, err
	}
	s.step = 2
	return out, nil
}

// Respond consumes the sender's challenge and returns the response. A
// message that does not decode wraps round.ErrMalformed and leaves the
// receiver unchanged.
func (r *BaseReceiver) Respond(msg []byte) ([]byte, error) {
	if r.step != 1 {
		return nil, r.orderError()
	}
	xi, err := decodeVector(msg, Kappa*32, "base-OT challenge")
	if err != nil {
		return nil, err
	}
	response := make([]byte, Kappa*32)
	for i := 0; i < Kappa; i++ {
		copy(r.challenge[i][:], xi[32*i:])
		open := openHash(r.pair, i, &r.pads[i])
		h := checkHash(r.pair, i, &open)
		alt := make([]byte, 32)
		subtle.XORBytes(alt, h[:], r.challenge[i][:])
		subtle.ConstantTimeCopy(int(r.delta[i/8]>>(i%8)&1), h[:], alt)
		copy(response[32*i:], h[:])
	}
	out, err := wire.Marshal(vectorMsg{V: response})
	if err != nil {
		return nil, err
	}
	r.step = 2
	return out, nil
}

// Open checks the receiver's responses and, if all are right, returns the
// openings for the receiver and the sender's output: the extension Receiver.
// A wrong response wraps ErrBaseVerification and aborts the sender for good;
// a message that does not decode wraps round.ErrMalformed and leaves the
// sender unchanged.
func (s *BaseSender) Open(msg []byte) ([]byte, *Receiver, error) {
	if s.step != 2 {
		return nil, nil, s.orderError()
	}
	rho, err := decodeVector(msg, Kappa*32, "base-OT response")
	if err != nil {
		return nil, nil, err
	}
	want := make([]byte, 0, Kappa*32)
	opens := make([]byte, 0, Kappa*64)
	for i := 0; i < Kappa; i++ {
		h := checkHash(s.pair, i, &s.opens[i][0])
		want = append(want, h[:]...)
		opens = append(opens, s.opens[i][0][:]...)
		opens = append(opens, s.opens[i][1][:]...)
	}
	if subtle.ConstantTimeCompare(want, rho) != 1 {
		s.abort()
		return nil, nil, fmt.Errorf("%w: the receiver's response to the challenge is wrong", ErrBaseVerification)
	}
	out, err := wire.Marshal(vectorMsg{V: opens})
	if err != nil {
		return nil, nil, err
	}
	recv := &Receiver{pair: s.pair}
	for i := range s.pads {
		recv.seeds[i] = s.pads[i]
	}
	s.abort() // done: the pads now live in recv only
	s.step = 3
	return out, recv, nil
}

// Finish checks the sender's openings and returns the receiver's output: the
// extension Sender. Openings that do not match wrap ErrBaseVerification and
// abort the receiver for good; a message that does not decode wraps
// round.ErrMalformed and leaves the receiver unchanged.
func (r *BaseReceiver) Finish(msg []byte) (*Sender, error) {
	if r.step != 2 {
		return nil, r.orderError()
	}
	openings, err := decodeVector(msg, Kappa*64, "base-OT openings")
	if err != nil {
		return nil, err
	}
	ok := 1
	for i := 0; i < Kappa; i++ {
		var o0, o1 [32]byte
		copy(o0[:], openings[64*i:])
		copy(o1[:], openings[64*i+32:])
		// The opening at ω_i must be our own H(ρ_i), chosen in constant time.
		mine := o0
		subtle.ConstantTimeCopy(int(r.delta[i/8]>>(i%8)&1), mine[:], o1[:])
		own := openHash(r.pair, i, &r.pads[i])
		ok &= subtle.ConstantTimeCompare(mine[:], own[:])
		h0, h1 := checkHash(r.pair, i, &o0), checkHash(r.pair, i, &o1)
		subtle.XORBytes(h0[:], h0[:], h1[:])
		ok &= subtle.ConstantTimeCompare(h0[:], r.challenge[i][:])
	}
	if ok != 1 {
		r.abort()
		return nil, fmt.Errorf("%w: the sender's openings do not match its challenge", ErrBaseVerification)
	}
	send := &Sender{pair: r.pair, delta: r.delta, seeds: r.pads}
	r.abort()
	r.step = 3
	return send, nil
}

func (s *BaseSender) orderError() error {
	if s.step < 0 {
		return ErrUnusable
	}
	return ErrOrder
}

func (r *BaseReceiver) orderError() error {
	if r.step < 0 {
		return ErrUnusable
	}
	return ErrOrder
}

// abort wipes the sender's secrets; no step runs after it.
func (s *BaseSender) abort() {
	s.bh = edwards25519.Scalar{}
	s.bB = edwards25519.Point{}
	clear(s.pads[:])
	clear(s.opens[:])
	s.step = -1
}

func (r *BaseReceiver) abort() {
	clear(r.delta[:])
	clear(r.pads[:])
	r.step = -1
}
