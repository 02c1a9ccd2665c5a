package ot

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// MaxBatch is the largest number of OTs one extension produces.
const MaxBatch = 4096

// checkBits is the width of the consistency check's hash and the number of
// extra random OTs that mask the receiver's choice bits in it.
const checkBits = 256

// A Sender is the long-lived state of the extension's sender (the DKLs23
// multiplication's Alice): the correlation Δ ∈ {0,1}^κ and the seeds
// k_i^{Δ_i} it received in the base OT. It is safe for concurrent use.
//
// A Sender becomes unusable for good when a receiver's message fails the
// consistency check (ErrConsistency): a cheating receiver learns about Δ
// only through whether the check passes, so it must get no second attempt.
// Checks are serialised, so concurrent sessions give it no parallel ones
// either.
type Sender struct {
	pair  PairID
	delta [Kappa / 8]byte
	seeds [Kappa][seedSize]byte

	prgOnce sync.Once
	prg     [Kappa]cipher.Block

	check    sync.Mutex // held across a consistency check and its verdict
	unusable atomic.Bool
}

// A Receiver is the long-lived state of the extension's receiver (Bob): both
// seeds of every base OT. It is safe for concurrent use.
type Receiver struct {
	pair  PairID
	seeds [Kappa][2][seedSize]byte

	prgOnce sync.Once
	prg     [Kappa][2]cipher.Block
}

func (*Sender) String() string     { return "ot.Sender(redacted)" }
func (*Sender) GoString() string   { return "ot.Sender(redacted)" }
func (*Receiver) String() string   { return "ot.Receiver(redacted)" }
func (*Receiver) GoString() string { return "ot.Receiver(redacted)" }

// Pair returns the PairID the state was set up under.
func (s *Sender) Pair() PairID { return s.pair }

// Pair returns the PairID the state was set up under.
func (r *Receiver) Pair() PairID { return r.pair }

// Usable reports whether the Sender still accepts extensions, that is, no
// receiver message has failed its consistency check.
func (s *Sender) Usable() bool { return !s.unusable.Load() }

// A SenderBatch is the sender's output of one extension: n random OTs,
// whose messages Pads derives.
type SenderBatch struct {
	n          int
	delta      gf
	q          []gf // q^j, the sender's row of extended OT j
	key        [32]byte
	salt       [32]byte
	transcript [32]byte
}

// A ReceiverBatch is the receiver's output of one extension: its rows t^j,
// from which, once the sender's salt arrives, Pads derives the chosen
// messages.
type ReceiverBatch struct {
	n       int
	pair    PairID
	nonce   [32]byte
	digestU [32]byte
	t       []gf
}

func (*SenderBatch) String() string     { return "ot.SenderBatch(redacted)" }
func (*SenderBatch) GoString() string   { return "ot.SenderBatch(redacted)" }
func (*ReceiverBatch) String() string   { return "ot.ReceiverBatch(redacted)" }
func (*ReceiverBatch) GoString() string { return "ot.ReceiverBatch(redacted)" }

// layout returns the padded batch size (a multiple of 64), the number of
// extended OTs (with the checkBits mask OTs), and the words per matrix row.
func layout(n int) (nPad, cols, words int) {
	nPad = (n + 63) &^ 63
	cols = nPad + checkBits
	return nPad, cols, cols / 64
}

func checkBatch(n int) error {
	if n < 1 || n > MaxBatch {
		return fmt.Errorf("ot: batch of %d OTs, want 1 to %d", n, MaxBatch)
	}
	return nil
}

// useNonce binds one use of the extension to the pair, the caller's session
// and the receiver's fresh salt. It keys the PRG expansion of the seeds.
func useNonce(pair PairID, session [32]byte, salt []byte) [32]byte {
	return newTranscript(labelNonce).put(pair[:]).put(session[:]).put(salt).sum()
}

// challenges derives the consistency check's χ_1 … χ_m by Fiat–Shamir from
// everything the receiver committed to before the check: the pair, the
// use's nonce and the matrix u.
func challenges(pair PairID, nonce [32]byte, u []byte, nPad int) (digestU [32]byte, chis []gf) {
	digestU = newTranscript(labelMatrix).put(pair[:]).put(nonce[:]).put(u).sum()
	chis = make([]gf, (nPad+checkBits-1)/checkBits)
	for k := range chis {
		d := newTranscript(labelChi).put(digestU[:]).putUint(uint64(k)).sum()
		chis[k] = gfFromBytes(d[:])
	}
	return digestU, chis
}

// expand writes PRG(seed) for one use into row: AES-256 in counter mode under
// the seed, starting from the counter block nonce[:16]. The seed is a
// uniform base-OT output, and nonces do not repeat across uses (each carries
// the receiver's fresh salt), so every use draws fresh pseudorandom rows.
func expand(block cipher.Block, nonce *[32]byte, row []uint64) {
	hi := binary.BigEndian.Uint64(nonce[0:8])
	lo := binary.BigEndian.Uint64(nonce[8:16])
	var ctr, ks [16]byte
	for k := 0; k < len(row); k += 2 {
		binary.BigEndian.PutUint64(ctr[0:8], hi)
		binary.BigEndian.PutUint64(ctr[8:16], lo)
		block.Encrypt(ks[:], ctr[:])
		row[k] = binary.LittleEndian.Uint64(ks[0:8])
		if k+1 < len(row) {
			row[k+1] = binary.LittleEndian.Uint64(ks[8:16])
		}
		lo++
		if lo == 0 {
			hi++
		}
	}
}

func newBlock(key *[seedSize]byte) cipher.Block {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("ot: unreachable: AES-256 key of 32 bytes")
	}
	return b
}

func (s *Sender) blocks() *[Kappa]cipher.Block {
	s.prgOnce.Do(func() {
		for i := range s.seeds {
			s.prg[i] = newBlock(&s.seeds[i])
		}
	})
	return &s.prg
}

func (r *Receiver) blocks() *[Kappa][2]cipher.Block {
	r.prgOnce.Do(func() {
		for i := range r.seeds {
			r.prg[i][0] = newBlock(&r.seeds[i][0])
			r.prg[i][1] = newBlock(&r.seeds[i][1])
		}
	})
	return &r.prg
}

// Extend runs the receiver's side of one extension of n OTs with the given
// choice bits (packed little-endian, (n+7)/8 bytes; bits past n are
// ignored) in session, and returns the message for the sender. session must
// identify this use to both parties; the receiver adds a fresh salt of its
// own, so its choices stay hidden even if a session were reused. rand is the
// source of the salt and of the mask OTs' choice bits: nil means
// crypto/rand.Reader; anything else is for tests only.
//
// This is the Extend and Consistency Check phases of KOS15 Fig. 10 for the
// receiver: it extends its choice vector with checkBits random bits,
// expands both seeds of every base OT, sends u_i = t⁰_i ⊕ t¹_i ⊕ x, and
// answers the Fiat–Shamir challenge χ (a hash of u) with x̃ = h(x) and
// t̃_i = h(t⁰_i).
func (r *Receiver) Extend(session [32]byte, choices []byte, n int, rand io.Reader) (*ReceiverBatch, []byte, error) {
	if err := checkBatch(n); err != nil {
		return nil, nil, err
	}
	if len(choices) != (n+7)/8 {
		return nil, nil, fmt.Errorf("ot: %d bytes of choice bits for %d OTs, want %d", len(choices), n, (n+7)/8)
	}
	nPad, cols, words := layout(n)
	rnd := reader(rand)
	var salt [32]byte
	x := make([]byte, cols/8)
	if _, err := io.ReadFull(rnd, salt[:]); err != nil {
		return nil, nil, fmt.Errorf("ot: reading randomness: %w", err)
	}
	if _, err := io.ReadFull(rnd, x); err != nil {
		return nil, nil, fmt.Errorf("ot: reading randomness: %w", err)
	}
	// x = choices ‖ random bits.
	full := n / 8
	copy(x, choices[:full])
	if n%8 != 0 {
		keep := byte(1)<<uint(n%8) - 1
		x[full] = choices[full]&keep | x[full]&^keep
	}
	xw := make([]uint64, words)
	for k := range xw {
		xw[k] = binary.LittleEndian.Uint64(x[8*k:])
	}
	clear(x)

	nonce := useNonce(r.pair, session, salt[:])
	prg := r.blocks()
	t0 := make([]uint64, Kappa*words)
	t1 := make([]uint64, words)
	u := make([]byte, Kappa*cols/8)
	for i := 0; i < Kappa; i++ {
		row := t0[i*words : (i+1)*words]
		expand(prg[i][0], &nonce, row)
		expand(prg[i][1], &nonce, t1)
		for k := range row {
			binary.LittleEndian.PutUint64(u[(i*words+k)*8:], row[k]^t1[k]^xw[k])
		}
	}
	clear(t1)

	digestU, chis := challenges(r.pair, nonce, u, nPad)
	colsT := make([]gf, cols)
	transposeToColumns(t0, words, colsT)
	clear(t0)
	tilde := hashColumns(colsT, nPad, chis)
	xTilde := hashVector(xw, nPad, chis)
	clear(xw)

	tb := make([]byte, 0, Kappa*32)
	for i := range tilde {
		tb = append(tb, tilde[i].bytes()...)
	}
	msg, err := wire.Marshal(extendMsg{Session: session[:], Salt: salt[:], U: u, X: xTilde.bytes(), T: tb})
	if err != nil {
		return nil, nil, err
	}
	clear(colsT[n:])
	return &ReceiverBatch{n: n, pair: r.pair, nonce: nonce, digestU: digestU, t: colsT[:n:n]}, msg, nil
}

// Extend runs the sender's side of one extension of n OTs in session on the
// receiver's message, checks its consistency, and returns the sender's
// output. rand is the source of the sender's salt for the output hash: nil
// means crypto/rand.Reader; anything else is for tests only.
//
// A message that does not decode, has the wrong dimensions for n, or was made
// for another session (ErrWrongSession) wraps round.ErrMalformed and leaves
// the Sender as it was. A message that fails the consistency check returns
// ErrConsistency and makes the Sender unusable: the caller must ban the
// receiver. This is the sender's side of KOS15 Fig. 10: q_i = t^{Δ_i}_i ⊕
// Δ_i·u_i, and the check h(q_i) = t̃_i ⊕ Δ_i·x̃ for every i.
func (s *Sender) Extend(session [32]byte, n int, msg []byte, rand io.Reader) (*SenderBatch, error) {
	if err := checkBatch(n); err != nil {
		return nil, err
	}
	if s.unusable.Load() {
		return nil, ErrUnusable
	}
	nPad, cols, words := layout(n)
	var m extendMsg
	if err := wire.Unmarshal(msg, &m); err != nil {
		return nil, fmt.Errorf("%w: ot: extension message: %w", round.ErrMalformed, err)
	}
	switch {
	case len(m.Session) != 32 || len(m.Salt) != 32 || len(m.X) != 32:
		return nil, fmt.Errorf("%w: ot: extension message: session, salt and x̃ must be 32 bytes each", round.ErrMalformed)
	case len(m.U) != Kappa*cols/8:
		return nil, fmt.Errorf("%w: ot: extension matrix has %d bytes, %d OTs need %d", round.ErrMalformed, len(m.U), n, Kappa*cols/8)
	case len(m.T) != Kappa*32:
		return nil, fmt.Errorf("%w: ot: extension check values have %d bytes, want %d", round.ErrMalformed, len(m.T), Kappa*32)
	case [32]byte(m.Session) != session:
		return nil, fmt.Errorf("%w: extension message", ErrWrongSession)
	}
	var salt [32]byte
	if _, err := io.ReadFull(reader(rand), salt[:]); err != nil {
		return nil, fmt.Errorf("ot: reading randomness: %w", err)
	}

	nonce := useNonce(s.pair, session, m.Salt)
	digestU, chis := challenges(s.pair, nonce, m.U, nPad)
	prg := s.blocks()
	q := make([]uint64, Kappa*words)
	for i := 0; i < Kappa; i++ {
		row := q[i*words : (i+1)*words]
		expand(prg[i], &nonce, row)
		mask := -uint64(s.delta[i/8] >> (i % 8) & 1)
		for k := range row {
			row[k] ^= mask & binary.LittleEndian.Uint64(m.U[(i*words+k)*8:])
		}
	}
	colsQ := make([]gf, cols)
	transposeToColumns(q, words, colsQ)
	clear(q)
	xTilde := gfFromBytes(m.X)

	s.check.Lock()
	defer s.check.Unlock()
	if s.unusable.Load() {
		clear(colsQ)
		return nil, ErrUnusable
	}
	hq := hashColumns(colsQ, nPad, chis)
	var diff uint64
	for i := range hq {
		mask := -uint64(s.delta[i/8] >> (i % 8) & 1)
		want := gfFromBytes(m.T[32*i:]).xor(xTilde.and(mask))
		for k := range want {
			diff |= want[k] ^ hq[i][k]
		}
	}
	// diff accumulated every difference without branching; only the
	// verdict, which the receiver learns anyway, is branched on.
	if diff != 0 {
		s.unusable.Store(true)
		clear(colsQ)
		return nil, fmt.Errorf("%w: the receiver's rows do not share one choice vector", ErrConsistency)
	}
	clear(colsQ[n:])
	b := &SenderBatch{n: n, delta: s.deltaGF(), q: colsQ[:n:n], salt: salt}
	b.key = padKey(s.pair, nonce, digestU, salt)
	b.transcript = transcriptDigest(s.pair, nonce, digestU, salt)
	return b, nil
}

func (s *Sender) deltaGF() gf { return gfFromBytes(s.delta[:]) }

// padKey keys the hash that turns the correlated rows into random-OT
// messages for one use: it binds the pair, the use's nonce, the matrix the
// receiver sent and the sender's fresh salt. The sender's salt makes every
// output fresh even if a receiver replayed a matrix within one session.
func padKey(pair PairID, nonce, digestU, salt [32]byte) [32]byte {
	return newTranscript(labelRandomize).put(pair[:]).put(nonce[:]).put(digestU[:]).put(salt[:]).sum()
}

// transcriptDigest commits to one use of the extension as both parties see
// it: the pair, the nonce (session and receiver's salt), the matrix u and the
// sender's salt.
func transcriptDigest(pair PairID, nonce, digestU, salt [32]byte) [32]byte {
	return newTranscript(labelTranscr).put(pair[:]).put(nonce[:]).put(digestU[:]).put(salt[:]).sum()
}

// Transcript is a digest of this use of the extension (pair, session, both
// salts and the receiver's matrix), for protocols built on it to bind their
// own Fiat–Shamir challenges to.
func (b *SenderBatch) Transcript() [32]byte { return b.transcript }

// Transcript is the digest SenderBatch.Transcript gives the sender, computed
// with the sender's salt as it arrived.
func (b *ReceiverBatch) Transcript(senderSalt [32]byte) [32]byte {
	return transcriptDigest(b.pair, b.nonce, b.digestU, senderSalt)
}

// Salt is the sender's fresh randomness for this use. The receiver needs it
// to derive its pads: send it along with whatever message carries the
// sender's use of the pads.
func (b *SenderBatch) Salt() [32]byte { return b.salt }

// Len is the number of OTs in the batch.
func (b *SenderBatch) Len() int { return b.n }

// Len is the number of OTs in the batch.
func (b *ReceiverBatch) Len() int { return b.n }

// MaxPadSize bounds the pad length Pads derives per OT.
const MaxPadSize = 1024

// Pads returns the random-OT messages of every OT in the batch, width bytes
// each: pad0[j·width:(j+1)·width] for choice 0 and pad1 likewise for choice
// 1. They are H(key, j, q^j) and H(key, j, q^j ⊕ Δ) with H a correlation-
// robust hash (SHA-256 in counter mode), as in the Randomize phase of KOS15
// Fig. 10: the receiver learns exactly the one its choice bit selects.
func (b *SenderBatch) Pads(width int) (pad0, pad1 []byte, err error) {
	if width < 1 || width > MaxPadSize {
		return nil, nil, fmt.Errorf("ot: pad width %d, want 1 to %d", width, MaxPadSize)
	}
	h := newPadHash(b.key)
	pad0 = make([]byte, b.n*width)
	pad1 = make([]byte, b.n*width)
	for j, q := range b.q {
		h.fill(pad0[j*width:(j+1)*width], j, q)
		h.fill(pad1[j*width:(j+1)*width], j, q.xor(b.delta))
	}
	return pad0, pad1, nil
}

// Pads returns the receiver's random-OT messages, width bytes each: for OT j
// the message its choice bit selected. senderSalt is SenderBatch.Salt as the
// sender sent it; with any other value the pads are unrelated to the
// sender's, which the caller's own check then exposes.
func (b *ReceiverBatch) Pads(senderSalt [32]byte, width int) ([]byte, error) {
	if width < 1 || width > MaxPadSize {
		return nil, fmt.Errorf("ot: pad width %d, want 1 to %d", width, MaxPadSize)
	}
	h := newPadHash(padKey(b.pair, b.nonce, b.digestU, senderSalt))
	pad := make([]byte, b.n*width)
	for j, t := range b.t {
		h.fill(pad[j*width:(j+1)*width], j, t)
	}
	return pad, nil
}

// padHash is SHA-256(key ‖ 0³² ‖ j ‖ c ‖ row) for chunk counter c, with the
// state after the fixed first block (key ‖ 0³²) computed once.
type padHash struct {
	mid []byte
	d   interface {
		encoding.BinaryUnmarshaler
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
	in  [40]byte
	out []byte
}

func newPadHash(key [32]byte) *padHash {
	d := sha256.New()
	var first [64]byte
	copy(first[:], key[:])
	d.Write(first[:])
	mid, err := d.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("ot: unreachable: SHA-256 state marshals")
	}
	p := &padHash{mid: mid, out: make([]byte, 0, 32)}
	p.d = d.(interface {
		encoding.BinaryUnmarshaler
		Write([]byte) (int, error)
		Sum([]byte) []byte
	})
	return p
}

func (p *padHash) fill(dst []byte, j int, row gf) {
	binary.BigEndian.PutUint32(p.in[0:4], uint32(j))
	for k := range row {
		binary.LittleEndian.PutUint64(p.in[8+8*k:], row[k])
	}
	for c := 0; len(dst) > 0; c++ {
		binary.BigEndian.PutUint32(p.in[4:8], uint32(c))
		if err := p.d.UnmarshalBinary(p.mid); err != nil {
			panic("ot: unreachable: SHA-256 state unmarshals")
		}
		p.d.Write(p.in[:])
		p.out = p.d.Sum(p.out[:0])
		dst = dst[copy(dst, p.out):]
	}
	clear(p.in[8:])
	clear(p.out[:cap(p.out)])
}
