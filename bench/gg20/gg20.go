// Package gg20 drives kryptology's GG20 threshold ECDSA signing
// (github.com/coinbase/kryptology v1.8.0, pkg/tecdsa/gg20) in one process, so
// that its cost can be set beside Cairn's own signing. It is a baseline, not
// a protocol implementation: every computation is kryptology's; this package
// only deals keys, hands messages from round to round, times the rounds and
// weighs the messages.
//
// Keys are dealt (dealer.NewDealerShares); Paillier keys and range-proof
// moduli come from the safe primes in safeprimes.txt (made once by
// cmd/genprimes, since one 1024-bit safe prime takes about a minute). Key
// generation is not measured here; signing is.
//
// kryptology offers two shapes of proof parameters (N~, h1, h2), and signing
// costs differ between them:
//
//   - SharedParams: one modulus made by the dealer and used by everyone
//     (dealer.TrustedDealerKeyGenType). Each signer makes one range proof in
//     round 1 and one PDL proof in round 5, and broadcasts them.
//   - PerPartyParams: every party has its own modulus, as after kryptology's
//     DKG (dealer.DistributedKeyGenType). Each signer proves to every
//     cosigner under that cosigner's modulus, t−1 proofs in each of rounds 1
//     and 5, sent point to point. This is the setting GG20 is meant to run in
//     when no party is trusted.
//
// The curve is kryptology's own secp256k1 (curves.K256Curve), with scalars
// reduced before multiplication: see Secp256k1.
package gg20

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coinbase/kryptology/pkg/core/curves"
	"github.com/coinbase/kryptology/pkg/paillier"
	"github.com/coinbase/kryptology/pkg/tecdsa/gg20/dealer"
	"github.com/coinbase/kryptology/pkg/tecdsa/gg20/participant"
)

//go:embed safeprimes.txt
var safePrimesText string

// ParamsMode says which proof parameters the signers use; see the package
// documentation.
type ParamsMode int

const (
	// PerPartyParams gives every party its own N~ (kryptology's DKG shape).
	PerPartyParams ParamsMode = iota
	// SharedParams gives all parties the dealer's one N~.
	SharedParams
)

func (m ParamsMode) String() string {
	switch m {
	case PerPartyParams:
		return "per-party-params"
	case SharedParams:
		return "shared-params"
	}
	return fmt.Sprintf("ParamsMode(%d)", int(m))
}

// Fixture is a dealt t-of-n key: what each of the n parties would hold after
// key generation.
type Fixture struct {
	Curve     elliptic.Curve
	Threshold int
	Total     int
	Mode      ParamsMode
	PublicKey *curves.EcPoint
	Parties   map[uint32]*dealer.ParticipantData
}

// NewFixture deals a t-of-n secp256k1 key and gives every party a Paillier
// key and, in PerPartyParams mode, its own proof parameters.
func NewFixture(threshold, total int, mode ParamsMode) (*Fixture, error) {
	if threshold < 2 || threshold > total || total > 255 {
		return nil, fmt.Errorf("gg20: bad threshold %d of %d", threshold, total)
	}
	curve := Secp256k1
	pk, shares, err := dealer.NewDealerShares(curve, uint32(threshold), uint32(total), nil)
	if err != nil {
		return nil, fmt.Errorf("gg20: dealing shares: %w", err)
	}
	pubShares, err := dealer.PreparePublicShares(shares)
	if err != nil {
		return nil, err
	}

	primes, err := safePrimes()
	if err != nil {
		return nil, err
	}
	next := primePairs(primes)

	secretKeys := make(map[uint32]*paillier.SecretKey, total)
	publicKeys := make(map[uint32]*paillier.PublicKey, total)
	for id := range shares {
		p, q, err := next()
		if err != nil {
			return nil, err
		}
		if secretKeys[id], err = paillier.NewSecretKey(p, q); err != nil {
			return nil, fmt.Errorf("gg20: paillier key for party %d: %w", id, err)
		}
		publicKeys[id] = &secretKeys[id].PublicKey
	}

	var keyGen dealer.KeyGenType
	switch mode {
	case SharedParams:
		p, q, err := next()
		if err != nil {
			return nil, err
		}
		params, err := dealer.NewProofParamsWithPrimes(p, q)
		if err != nil {
			return nil, err
		}
		keyGen = dealer.TrustedDealerKeyGenType{ProofParams: params}
	case PerPartyParams:
		all := make(map[uint32]*dealer.ProofParams, total)
		for id := range shares {
			p, q, err := next()
			if err != nil {
				return nil, err
			}
			if all[id], err = dealer.NewProofParamsWithPrimes(p, q); err != nil {
				return nil, err
			}
		}
		keyGen = dealer.DistributedKeyGenType{ProofParams: all}
	default:
		return nil, fmt.Errorf("gg20: unknown %v", mode)
	}

	parties := make(map[uint32]*dealer.ParticipantData, total)
	for id, share := range shares {
		parties[id] = &dealer.ParticipantData{
			Id:             id,
			DecryptKey:     secretKeys[id],
			SecretKeyShare: share,
			EcdsaPublicKey: pk,
			KeyGenType:     keyGen,
			PublicShares:   pubShares,
			EncryptKeys:    publicKeys,
		}
	}
	return &Fixture{Curve: curve, Threshold: threshold, Total: total, Mode: mode, PublicKey: pk, Parties: parties}, nil
}

func safePrimes() ([]*big.Int, error) {
	var primes []*big.Int
	for line := range strings.Lines(safePrimesText) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, ok := new(big.Int).SetString(line, 10)
		if !ok {
			return nil, fmt.Errorf("gg20: safeprimes.txt: bad number %.20q", line)
		}
		primes = append(primes, p)
	}
	return primes, nil
}

// primePairs hands out distinct pairs of the primes: first disjoint pairs
// (0,1), (2,3), …; once those run out (more than 5 parties with 22 primes),
// pairs that share a factor with an earlier modulus. Sharing a factor would be
// fatal in a real deployment and changes nothing in the timing.
func primePairs(primes []*big.Int) func() (p, q *big.Int, err error) {
	type pair struct{ i, j int }
	var order []pair
	used := map[pair]bool{}
	for i := 0; i+1 < len(primes); i += 2 {
		order = append(order, pair{i, i + 1})
		used[pair{i, i + 1}] = true
	}
	for i := range primes {
		for j := i + 1; j < len(primes); j++ {
			if !used[pair{i, j}] {
				order = append(order, pair{i, j})
			}
		}
	}
	k := 0
	return func() (*big.Int, *big.Int, error) {
		if k == len(order) {
			return nil, nil, errors.New("gg20: not enough safe primes in safeprimes.txt (run cmd/genprimes)")
		}
		pr := order[k]
		k++
		return primes[pr.i], primes[pr.j], nil
	}
}

// Phase names, in protocol order. Prepare is kryptology's PrepareToSign
// (Lagrange coefficients, additive shares for this signer set), which a
// signer runs once per signing since a Signer is single-use. Output is
// SignOutput: adding the s_i and verifying the signature.
var Phases = []string{"prepare", "round1", "round2", "round3", "round4", "round5", "round6", "output"}

// Phase is what one phase cost, all signers together.
type Phase struct {
	Name string
	// Time is the CPU of all signers for this phase run one after another
	// (serial), or the wall time of the phase with every signer in its own
	// goroutine (concurrent).
	Time time.Duration
	// Messages counts deliveries: a broadcast to t−1 cosigners counts t−1.
	Messages int
	// Bytes is the JSON encoding of every delivered message (kryptology's
	// only encoding of them; big integers in decimal), a broadcast counted
	// once for each recipient.
	Bytes int
	// RawBytes estimates a compact binary encoding of the same deliveries:
	// the sum of the message's fields at their own size (an integer's
	// minimal big-endian bytes, a byte string decoded from base64), with no
	// framing. It is what to set beside a binary protocol's payload bytes.
	RawBytes int
}

// Stats describes one signing.
type Stats struct {
	Signers []uint32
	Phases  []Phase
	Total   time.Duration
}

// Bytes is the total delivered over all phases.
func (s *Stats) Bytes() int {
	n := 0
	for _, p := range s.Phases {
		n += p.Bytes
	}
	return n
}

// RawBytes is the total compact-size estimate over all phases.
func (s *Stats) RawBytes() int {
	n := 0
	for _, p := range s.Phases {
		n += p.RawBytes
	}
	return n
}

// Messages is the number of deliveries over all phases.
func (s *Stats) Messages() int {
	n := 0
	for _, p := range s.Phases {
		n += p.Messages
	}
	return n
}

// BytesPerPair is Bytes averaged over the t(t−1) ordered pairs of signers:
// what one signer sends one cosigner.
func (s *Stats) BytesPerPair() float64 {
	t := len(s.Signers)
	return float64(s.Bytes()) / float64(t*(t-1))
}

// RawBytesPerPair is RawBytes averaged over the ordered pairs of signers.
func (s *Stats) RawBytesPerPair() float64 {
	t := len(s.Signers)
	return float64(s.RawBytes()) / float64(t*(t-1))
}

// Options tune Sign.
type Options struct {
	// Concurrent runs each signer's step of a phase in its own goroutine and
	// times the phase by the wall clock; otherwise signers run one after
	// another and a phase's time is the sum of their CPU.
	Concurrent bool
	// CountBytes JSON-encodes every message to weigh it. The encoding is
	// done outside the timed sections, but it costs time of its own.
	CountBytes bool
}

// Digest is the message digest Sign signs for msg: SHA-256, reduced below
// the group order as kryptology requires.
func Digest(curve elliptic.Curve, msg []byte) []byte {
	h := sha256.Sum256(msg)
	m := new(big.Int).SetBytes(h[:])
	m.Mod(m, curve.Params().N)
	return m.FillBytes(make([]byte, 32))
}

// Sign runs one GG20 signing of digest by the given signers (t of the
// fixture's party ids) and returns the signature every signer output, after
// checking they agree. Every signer verifies the signature under the group
// key before output, as kryptology's SignOutput does when given a verifier.
func Sign(f *Fixture, signers []uint32, digest []byte, opt Options) (*curves.EcdsaSignature, *Stats, error) {
	if len(signers) != f.Threshold {
		return nil, nil, fmt.Errorf("gg20: %d signers for a %d-of-%d key", len(signers), f.Threshold, f.Total)
	}
	signers = slices.Clone(signers)
	slices.Sort(signers)
	for _, id := range signers {
		if f.Parties[id] == nil {
			return nil, nil, fmt.Errorf("gg20: no party %d", id)
		}
	}
	st := &Stats{Signers: signers}
	// phase runs step for every signer and records the time.
	phase := func(name string, step func(id uint32) error) error {
		var elapsed time.Duration
		if opt.Concurrent {
			t0 := time.Now()
			errs := make([]error, len(signers))
			var wg sync.WaitGroup
			for k, id := range signers {
				wg.Go(func() { errs[k] = step(id) })
			}
			wg.Wait()
			elapsed = time.Since(t0)
			if err := errors.Join(errs...); err != nil {
				return fmt.Errorf("gg20: %s: %w", name, err)
			}
		} else {
			for _, id := range signers {
				t0 := time.Now()
				err := step(id)
				elapsed += time.Since(t0)
				if err != nil {
					return fmt.Errorf("gg20: %s, signer %d: %w", name, id, err)
				}
			}
		}
		st.Phases = append(st.Phases, Phase{Name: name, Time: elapsed})
		return nil
	}
	var weighErr error
	// weigh adds one delivery of msg to the phase just run.
	weigh := func(msg any) {
		ph := &st.Phases[len(st.Phases)-1]
		ph.Messages++
		if !opt.CountBytes {
			return
		}
		b, err := json.Marshal(msg)
		if err != nil && weighErr == nil {
			weighErr = err
		}
		ph.Bytes += len(b)
		raw, err := rawSize(b)
		if err != nil && weighErr == nil {
			weighErr = err
		}
		ph.RawBytes += raw
	}
	// others calls fn for every signer but self.
	others := func(self uint32, fn func(j uint32)) {
		for _, j := range signers {
			if j != self {
				fn(j)
			}
		}
	}

	n := len(signers)
	s := make(map[uint32]*participant.Signer, n)
	// Under Concurrent, a phase's signers write one map at once; they only
	// read maps the previous phase finished writing.
	var mu sync.Mutex
	store := func(fn func()) { mu.Lock(); fn(); mu.Unlock() }

	if err := phase("prepare", func(id uint32) error {
		// NewSigner is the only way in from outside kryptology (Participant's
		// Paillier key is unexported); it passes PrepareToSign a verifier that
		// accepts everything, so the output phase verifies by itself.
		sg, err := participant.NewSigner(f.Parties[id], signers)
		store(func() { s[id] = sg })
		return err
	}); err != nil {
		return nil, nil, err
	}

	r1b := make(map[uint32]*participant.Round1Bcast, n)
	r1p := make(map[uint32]map[uint32]*participant.Round1P2PSend, n)
	if err := phase("round1", func(id uint32) error {
		b, p, err := s[id].SignRound1()
		store(func() { r1b[id], r1p[id] = b, p })
		return err
	}); err != nil {
		return nil, nil, err
	}
	for _, i := range signers {
		others(i, func(j uint32) {
			weigh(r1b[j])
			if m, ok := r1p[j][i]; ok {
				weigh(m)
			}
		})
	}

	r2 := make(map[uint32]map[uint32]*participant.P2PSend, n)
	if err := phase("round2", func(id uint32) error {
		in := map[uint32]*participant.Round1Bcast{}
		var p2p map[uint32]*participant.Round1P2PSend
		if f.Mode == PerPartyParams {
			p2p = map[uint32]*participant.Round1P2PSend{}
		}
		others(id, func(j uint32) {
			in[j] = r1b[j]
			if p2p != nil {
				p2p[j] = r1p[j][id]
			}
		})
		out, err := s[id].SignRound2(in, p2p)
		store(func() { r2[id] = out })
		return err
	}); err != nil {
		return nil, nil, err
	}
	for _, i := range signers {
		others(i, func(j uint32) { weigh(r2[j][i]) })
	}

	r3 := make(map[uint32]*participant.Round3Bcast, n)
	if err := phase("round3", func(id uint32) error {
		in := map[uint32]*participant.P2PSend{}
		others(id, func(j uint32) { in[j] = r2[j][id] })
		out, err := s[id].SignRound3(in)
		store(func() { r3[id] = out })
		return err
	}); err != nil {
		return nil, nil, err
	}
	for _, i := range signers {
		others(i, func(j uint32) { weigh(r3[j]) })
	}

	r4 := make(map[uint32]*participant.Round4Bcast, n)
	if err := phase("round4", func(id uint32) error {
		in := map[uint32]*participant.Round3Bcast{}
		others(id, func(j uint32) { in[j] = r3[j] })
		out, err := s[id].SignRound4(in)
		store(func() { r4[id] = out })
		return err
	}); err != nil {
		return nil, nil, err
	}
	for _, i := range signers {
		others(i, func(j uint32) { weigh(r4[j]) })
	}

	r5b := make(map[uint32]*participant.Round5Bcast, n)
	r5p := make(map[uint32]map[uint32]*participant.Round5P2PSend, n)
	if err := phase("round5", func(id uint32) error {
		in := map[uint32]*participant.Round4Bcast{}
		others(id, func(j uint32) { in[j] = r4[j] })
		b, p, err := s[id].SignRound5(in)
		store(func() { r5b[id], r5p[id] = b, p })
		return err
	}); err != nil {
		return nil, nil, err
	}
	for _, i := range signers {
		others(i, func(j uint32) {
			weigh(r5b[j])
			if m, ok := r5p[j][i]; ok {
				weigh(m)
			}
		})
	}

	r6 := make(map[uint32]*participant.Round6FullBcast, n)
	if err := phase("round6", func(id uint32) error {
		in := map[uint32]*participant.Round5Bcast{}
		var p2p map[uint32]*participant.Round5P2PSend
		if f.Mode == PerPartyParams {
			p2p = map[uint32]*participant.Round5P2PSend{}
		}
		others(id, func(j uint32) {
			in[j] = r5b[j]
			if p2p != nil {
				p2p[j] = r5p[j][id]
			}
		})
		out, err := s[id].SignRound6Full(digest, in, p2p)
		store(func() { r6[id] = out })
		return err
	}); err != nil {
		return nil, nil, err
	}
	for _, i := range signers {
		others(i, func(j uint32) { weigh(r6[j]) })
	}

	sigs := make(map[uint32]*curves.EcdsaSignature, n)
	if err := phase("output", func(id uint32) error {
		in := map[uint32]*participant.Round6FullBcast{}
		others(id, func(j uint32) { in[j] = r6[j] })
		sig, err := s[id].SignOutput(in)
		if err != nil {
			return err
		}
		// What SignOutput does when PrepareToSign is given a real verifier.
		if !curves.VerifyEcdsa(f.PublicKey, digest, sig) {
			return errors.New("signature is not valid")
		}
		store(func() { sigs[id] = sig })
		return nil
	}); err != nil {
		return nil, nil, err
	}

	for _, p := range st.Phases {
		st.Total += p.Time
	}
	if weighErr != nil {
		return nil, nil, fmt.Errorf("gg20: encoding a message: %w", weighErr)
	}
	first := sigs[signers[0]]
	for _, id := range signers[1:] {
		if sigs[id].R.Cmp(first.R) != 0 || sigs[id].S.Cmp(first.S) != 0 || sigs[id].V != first.V {
			return nil, nil, fmt.Errorf("gg20: signers %d and %d output different signatures", signers[0], id)
		}
	}
	return first, st, nil
}

// rawSize estimates the compact size of a JSON-encoded message: integers at
// their minimal byte length (at least one), strings decoded from base64 when
// they are base64 (kryptology's []byte fields), other strings at their
// length, true/false as one byte; keys, nulls and punctuation cost nothing.
func rawSize(msg []byte) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, err
	}
	var size func(v any) int
	size = func(v any) int {
		switch v := v.(type) {
		case json.Number:
			n, ok := new(big.Int).SetString(v.String(), 10)
			if !ok {
				return len(v.String())
			}
			return max(1, (n.BitLen()+7)/8)
		case string:
			if b, err := base64.StdEncoding.DecodeString(v); err == nil {
				return len(b)
			}
			return len(v)
		case bool:
			return 1
		case []any:
			s := 0
			for _, e := range v {
				s += size(e)
			}
			return s
		case map[string]any:
			s := 0
			for _, e := range v {
				s += size(e)
			}
			return s
		}
		return 0
	}
	return size(v), nil
}

// Verify checks sig on digest under pub twice, independently of the
// protocol: with crypto/ecdsa.Verify over kryptology's secp256k1 curve, and
// by recovering the public key from (r, s, v) and comparing it with pub. It
// also checks that s is in low form.
func Verify(pub *curves.EcPoint, digest []byte, sig *curves.EcdsaSignature) error {
	curve := pub.Curve
	if !ecdsa.Verify(&ecdsa.PublicKey{Curve: curve, X: pub.X, Y: pub.Y}, digest, sig.R, sig.S) {
		return errors.New("gg20: crypto/ecdsa rejects the signature")
	}
	half := new(big.Int).Rsh(curve.Params().N, 1)
	if sig.S.Cmp(half) > 0 {
		return errors.New("gg20: s is not in low form")
	}
	x, y, err := recoverKey(curve, digest, sig)
	if err != nil {
		return err
	}
	if x.Cmp(pub.X) != 0 || y.Cmp(pub.Y) != 0 {
		return errors.New("gg20: the key recovered from the signature is not the group key")
	}
	return nil
}

// recoverKey computes Q = r⁻¹(s·R − e·G), R the point with x-coordinate r
// and y parity v (r < n assumed: x ≥ n has probability ~2⁻¹²⁸).
func recoverKey(curve elliptic.Curve, digest []byte, sig *curves.EcdsaSignature) (x, y *big.Int, err error) {
	params := curve.Params()
	p, n := params.P, params.N
	if sig.V&^1 != 0 {
		return nil, nil, fmt.Errorf("gg20: recovery id %d", sig.V)
	}
	rx := new(big.Int).Set(sig.R)
	// y² = x³ + 7 on secp256k1.
	y2 := new(big.Int).Exp(rx, big.NewInt(3), p)
	y2.Add(y2, big.NewInt(7)).Mod(y2, p)
	ry := new(big.Int).ModSqrt(y2, p)
	if ry == nil {
		return nil, nil, errors.New("gg20: r is not the x-coordinate of a point")
	}
	if ry.Bit(0) != uint(sig.V) {
		ry.Sub(p, ry)
	}
	rInv := new(big.Int).ModInverse(sig.R, n)
	if rInv == nil {
		return nil, nil, errors.New("gg20: r not invertible")
	}
	e := new(big.Int).SetBytes(digest)
	u1 := new(big.Int).Mul(e, rInv)
	u1.Neg(u1).Mod(u1, n)
	u2 := new(big.Int).Mul(sig.S, rInv)
	u2.Mod(u2, n)
	ax, ay := curve.ScalarBaseMult(u1.FillBytes(make([]byte, 32)))
	bx, by := curve.ScalarMult(rx, ry, u2.FillBytes(make([]byte, 32)))
	x, y = curve.Add(ax, ay, bx, by)
	return x, y, nil
}

// Subsets lists every t-element subset of the ids 1..n, in lexicographic
// order, so that successive signings can rotate through signer sets.
func Subsets(t, n int) [][]uint32 {
	var out [][]uint32
	cur := make([]uint32, 0, t)
	var rec func(next uint32)
	rec = func(next uint32) {
		if len(cur) == t {
			out = append(out, slices.Clone(cur))
			return
		}
		for id := next; id <= uint32(n); id++ {
			cur = append(cur, id)
			rec(id + 1)
			cur = cur[:len(cur)-1]
		}
	}
	rec(1)
	return out
}
