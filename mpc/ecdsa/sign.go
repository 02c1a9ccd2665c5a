package ecdsa

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/internal/rvole"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// SignRequest is what every signer of one session must be given alike.
type SignRequest struct {
	// Session identifies the ceremony; every message and every pairwise
	// multiplication is bound to it. It must be fresh (round.NewSessionID
	// with a new nonce); the runner refuses a session id it has seen.
	Session round.SessionID
	// Signers is the signer set: ascending, distinct, at least the key's
	// threshold, every one a party of the key, self included, none banned.
	Signers []round.PartyID
	// Digest is the 32-byte message hash to sign (for Ethereum, the Keccak
	// hash; for Bitcoin, the sighash). Required by NewSigning; NewPresigning
	// refuses it, since a presignature is made before the message is known.
	Digest []byte
	// Derivation is the caller's encoding of the derivation of the key that
	// signs (a BIP32 path), bound into every session id together with Tweak;
	// empty for the key itself.
	Derivation []byte
	// Tweak δ, if set, makes the session sign under pk + δ·G, the key
	// derived along Derivation (BIP32 non-hardened derivation adds such a
	// δ). The signer lowest in Signers adds δ to its additive share.
	Tweak curve.Scalar
}

// Config holds a signer's local options; the zero value is ready to use.
type Config struct {
	// Rand is the source of the instance key, inversion mask, salts and
	// the multiplications' randomness. Nil means crypto/rand.Reader;
	// anything else is for tests only.
	Rand io.Reader
}

// params is what every round of one presigning session shares.
type params struct {
	key     *KeyShare
	session round.SessionID
	self    round.PartyID
	signers []round.PartyID
	others  []round.PartyID
	pub     curve.Point // the key signed under: GroupKey + δ·G
	tweak   curve.Scalar
	bind    [32]byte // the binding of Derivation and Tweak
	ctx     [32]byte // binds key, session, signer set and derivation
	digest  []byte   // NewSigning only
	rand    io.Reader
}

func newParams(key *KeyShare, req SignRequest, cfg Config) (*params, error) {
	if key == nil || key.share == nil {
		return nil, fmt.Errorf("%w: nil key share", ErrInvalidRequest)
	}
	if req.Session == (round.SessionID{}) {
		return nil, fmt.Errorf("%w: zero session id", ErrInvalidRequest)
	}
	self := key.share.Self
	if err := round.ValidateParties(req.Signers, self); err != nil {
		return nil, fmt.Errorf("%w: signers: %w", ErrInvalidRequest, err)
	}
	if len(req.Signers) < key.share.Threshold {
		return nil, fmt.Errorf("%w: %d signers for a threshold of %d", ErrInvalidRequest, len(req.Signers), key.share.Threshold)
	}
	p := &params{key: key, session: req.Session, self: self, signers: slices.Clone(req.Signers), rand: cfg.Rand}
	if p.rand == nil {
		p.rand = rand.Reader
	}
	var banned []round.PartyID
	for _, id := range p.signers {
		if _, ok := slices.BinarySearch(key.share.Parties, id); !ok {
			return nil, fmt.Errorf("%w: signer %d is not a party of the key", ErrInvalidRequest, id)
		}
		if id == self {
			continue
		}
		p.others = append(p.others, id)
		if slices.Contains(key.Banned(), id) {
			banned = append(banned, id)
		}
	}
	if len(banned) > 0 {
		return nil, round.Blame(Protocol, 0, ErrBanned, "a signer is banned for this key", banned...)
	}
	c := curve.Secp256k1
	p.tweak = c.NewScalar()
	if req.Tweak != nil {
		t, err := c.DecodeScalar(req.Tweak.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%w: tweak is not a secp256k1 scalar", ErrInvalidRequest)
		}
		p.tweak = t
	}
	p.pub = key.share.GroupKey.Add(c.MulBase(p.tweak))
	if p.pub.IsIdentity() {
		return nil, fmt.Errorf("%w: the tweaked key is the identity", ErrInvalidRequest)
	}
	p.bind = derivationBinding(req.Derivation, p.tweak)
	p.ctx = sessionContext(key.keyID, p.session, p.signers, p.bind)
	return p, nil
}

// put writes b length-prefixed.
func put(h interface{ Write([]byte) (int, error) }, b []byte) {
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
	h.Write(b)
}

func derivationBinding(derivation []byte, tweak curve.Scalar) [32]byte {
	h := sha256.New()
	put(h, []byte("cairn/ecdsa/derivation/v1"))
	put(h, derivation)
	put(h, tweak.Bytes())
	return [32]byte(h.Sum(nil))
}

func encodeIDs(ids []round.PartyID) []byte {
	b := make([]byte, 0, 2*len(ids))
	for _, id := range ids {
		b = binary.BigEndian.AppendUint16(b, uint16(id))
	}
	return b
}

// sessionContext binds a presigning session to the key, the ceremony, the
// signer set and the derivation. It is the signing id of every pairwise
// multiplication (rvole.NewSessionID) and the input of the zero-sharing
// PRF, so the session ids are direction-aware and unique per key, session,
// signer set and derivation path (design §4 item 8).
func sessionContext(keyID, session round.SessionID, signers []round.PartyID, bind [32]byte) [32]byte {
	h := sha256.New()
	put(h, []byte("cairn/ecdsa/session/v1"))
	put(h, keyID[:])
	put(h, session[:])
	put(h, encodeIDs(signers))
	put(h, bind[:])
	return [32]byte(h.Sum(nil))
}

// mulSession is the id of the multiplication with alice inputting the
// vector and bob sampling χ.
func (p *params) mulSession(alice, bob round.PartyID) rvole.SessionID {
	return rvole.NewSessionID(p.key.keyID[:], p.ctx[:], alice, bob, p.bind[:])
}

// zeroShare is ζ_self of F_Zero (DKLs23 Functionality 3.4): Σ_j ±PRF(s_ij,
// ctx) over the other signers, + when self < j and − otherwise, so that the
// signers' ζ sum to zero. The PRF is HMAC-SHA512 reduced modulo n (bias
// below 2^−256).
func (p *params) zeroShare() curve.Scalar {
	c := curve.Secp256k1
	z := c.NewScalar()
	for _, j := range p.others {
		seed := p.key.peers[j].seed
		m := hmac.New(sha512.New, seed[:])
		m.Write([]byte("cairn/ecdsa/zero-share/v1"))
		m.Write(p.ctx[:])
		v := c.ReduceScalar(m.Sum(nil))
		if p.self < j {
			z = z.Add(v)
		} else {
			z = z.Sub(v)
		}
	}
	return z
}

// instanceCommitment is com_i = H(ctx, i, R_i, salt_i) (F_Com).
func instanceCommitment(ctx [32]byte, i round.PartyID, R curve.Point, salt [32]byte) [32]byte {
	h := sha256.New()
	put(h, []byte("cairn/ecdsa/instance-key-commitment/v1"))
	put(h, ctx[:])
	put(h, binary.BigEndian.AppendUint16(nil, uint16(i)))
	put(h, R.Bytes())
	put(h, salt[:])
	return [32]byte(h.Sum(nil))
}

// inputsDigest binds what the online step signs: the digest.
func inputsDigest(digest []byte) [32]byte {
	h := sha256.New()
	put(h, []byte("cairn/ecdsa/inputs/v1"))
	put(h, digest)
	return [32]byte(h.Sum(nil))
}

// check applies the checks every message shares in round n.
func check(self round.PartyID, session round.SessionID, members []round.PartyID, m round.Message, n uint16) error {
	switch {
	case m.From == self:
		return &round.Error{Protocol: Protocol, Round: n, Reason: "message claims to come from this party", Err: round.ErrMalformed}
	case !slices.Contains(members, m.From):
		return round.Blame(Protocol, n, ErrNotSigner, fmt.Sprintf("message from party %d", m.From), m.From)
	case m.Session != session:
		return round.Blame(Protocol, n, ErrWrongSession, fmt.Sprintf("message for session %v in session %v", m.Session, session), m.From)
	case m.Round != n:
		return round.Blame(Protocol, n, round.ErrMalformed, fmt.Sprintf("round-%d message delivered to round %d", m.Round, n), m.From)
	case !m.IsBroadcast() && m.To != self:
		return round.Blame(Protocol, n, round.ErrMalformed, fmt.Sprintf("direct message for party %d", m.To), m.From)
	}
	return nil
}

func duplicate(n uint16, from round.PartyID) error {
	return &round.Error{Protocol: Protocol, Round: n, Reason: fmt.Sprintf("second message from party %d", from), Err: ErrDuplicateMessage}
}

func finalized(n uint16) error {
	return &round.Error{Protocol: Protocol, Round: n, Reason: "round already finalized"}
}

func incomplete(n uint16, missing []round.PartyID) error {
	return &round.Error{Protocol: Protocol, Round: n, Reason: fmt.Sprintf("finalized without messages from %v", missing)}
}

// NewSigning starts key's part in a three-round DKLs23 signing session
// (Protocol 3.6; design §3):
//
//  1. Broadcast com_i = H(ctx, i, R_i, salt_i) for a fresh instance key
//     R_i = r_i·G; to each j, Bob's OT-extension message of the
//     multiplication (Alice = j, Bob = i), which samples χ_ij.
//  2. Broadcast the opening (R_i, salt_i) and pk_i = sk_i·G for the
//     additive share sk_i = λ_i·x_i + ζ_i; to each j, as Alice of
//     (Alice = i, Bob = j) on input (r_i, sk_i), the multiplication message
//     with Γ^u_ij = c^u_ij·G, Γ^v_ij = c^v_ij·G and ψ_ij = φ_i − χ_ij.
//  3. Broadcast u_i and w_i = H(m)·φ_i + r_x·v_i; everyone computes
//     s = Σw/Σu.
//
// Every check of design §4 runs: the OT extension's consistency check on
// each Bob message (a failure bans Bob), the multiplication check on each
// Alice message (a failure bans Alice), the opening of each com_j with
// R_j ≠ ∞, both Γ-checks for each j (a failure bans j), Σ pk_j = pk, R ≠ ∞,
// equal views of the broadcasts, Σ u ≠ 0, and the signature is verified
// under the key before it is returned, as a *Signature in the final
// *round.Output. A failure aborts with a *round.Error naming the culprits
// where the evidence names them; a ban is recorded in key (see KeyShare).
func NewSigning(key *KeyShare, req SignRequest, cfg Config) (round.Round, []round.Message, error) {
	if len(req.Digest) != 32 {
		return nil, nil, fmt.Errorf("%w: the digest must be 32 bytes", ErrInvalidRequest)
	}
	p, err := newParams(key, req, cfg)
	if err != nil {
		return nil, nil, err
	}
	p.digest = slices.Clone(req.Digest)
	return start(p)
}

// NewPresigning runs rounds 1–2 of NewSigning, which do not depend on the
// message, with all their checks; the result, in the final *round.Output,
// is a single-use *Presignature for NewOnlineSigning. req.Digest must be
// empty.
func NewPresigning(key *KeyShare, req SignRequest, cfg Config) (round.Round, []round.Message, error) {
	if req.Digest != nil {
		return nil, nil, fmt.Errorf("%w: a presigning request has no digest", ErrInvalidRequest)
	}
	p, err := newParams(key, req, cfg)
	if err != nil {
		return nil, nil, err
	}
	return start(p)
}

// start is phase 1 and the round-1 messages.
func start(p *params) (round.Round, []round.Message, error) {
	c := curve.Secp256k1
	r := &round1{
		params: p, bob: map[round.PartyID]*rvole.BobSession{}, commits: map[round.PartyID][32]byte{},
		c: map[round.PartyID][rvole.L]curve.Scalar{}, mult: map[round.PartyID][]byte{},
	}
	var err error
	if r.r, err = c.RandomScalar(p.rand); err != nil {
		return nil, nil, err
	}
	if r.phi, err = c.RandomScalar(p.rand); err != nil {
		return nil, nil, err
	}
	if _, err := io.ReadFull(p.rand, r.salt[:]); err != nil {
		return nil, nil, fmt.Errorf("ecdsa: sampling salt: %w", err)
	}
	r.R = c.MulBase(r.r)
	ids := make([]uint16, len(p.signers))
	for i, id := range p.signers {
		ids[i] = uint16(id)
	}
	lambda, err := curve.Lagrange(c, uint16(p.self), ids)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	// Phase 2 step 1: the additive share sk_i = λ_i·x_i + ζ_i, plus δ at
	// the lowest signer; Σ sk_i = sk + δ.
	r.sk = lambda.Mul(p.key.share.Secret).Add(p.zeroShare())
	if p.self == p.signers[0] {
		r.sk = r.sk.Add(p.tweak)
	}
	r.pk = c.MulBase(r.sk)
	com := instanceCommitment(p.ctx, p.self, r.R, r.salt)
	r.com = com
	payload, err := wire.Marshal(commitMsg{Commit: com[:]})
	if err != nil {
		return nil, nil, err
	}
	out := []round.Message{{Session: p.session, Round: 1, From: p.self, To: round.Broadcast, Payload: payload}}
	for _, j := range p.others {
		sess, msg, err := p.key.peers[j].bob.Start(p.mulSession(j, p.self), p.rand)
		if err != nil {
			if errors.Is(err, rvole.ErrUnusable) {
				return nil, nil, round.Blame(Protocol, 0, ErrBanned, "", j)
			}
			return nil, nil, fmt.Errorf("ecdsa: multiplication with party %d: %w", j, err)
		}
		r.bob[j] = sess
		payload, err := wire.Marshal(oteMsg{OTE: msg})
		if err != nil {
			return nil, nil, err
		}
		out = append(out, round.Message{Session: p.session, Round: 1, From: p.self, To: j, Payload: payload})
	}
	return r, out, nil
}

// round1 collects the commitments com_j and Bob messages; as each Bob
// message arrives it runs this party's side as Alice.
type round1 struct {
	*params
	r, phi, sk curve.Scalar // secret
	R, pk      curve.Point
	salt       [32]byte
	com        [32]byte
	bob        map[round.PartyID]*rvole.BobSession     // self as Bob towards j
	commits    map[round.PartyID][32]byte              // com_j
	c          map[round.PartyID][rvole.L]curve.Scalar // self as Alice: (c^u_ij, c^v_ij), secret
	mult       map[round.PartyID][]byte                // self as Alice: message for j
	done       bool
}

func (r *round1) Number() uint16 { return 1 }
func (r *round1) Expect() round.Expectation {
	return round.Expectation{Broadcast: true, Direct: true}
}

// Store records com_j, or runs the multiplication as Alice with input
// (r_i, sk_i) on j's Bob message (phase 2 step 2). An OT-extension
// consistency failure bans j (design §4 check 1).
func (r *round1) Store(m round.Message) error {
	if r.done {
		return finalized(1)
	}
	if err := check(r.self, r.session, r.others, m, 1); err != nil {
		return err
	}
	j := m.From
	if m.IsBroadcast() {
		if _, dup := r.commits[j]; dup {
			return duplicate(1, j)
		}
		com, err := decodeCommitMsg(m.Payload)
		if err != nil {
			return round.Blame(Protocol, 1, err, "invalid commitment", j)
		}
		r.commits[j] = com
		return nil
	}
	if _, dup := r.mult[j]; dup {
		return duplicate(1, j)
	}
	ote, err := decodeOTEMsg(m.Payload)
	if err != nil {
		return round.Blame(Protocol, 1, err, "invalid multiplication message", j)
	}
	c, out, err := r.key.peers[j].alice.Multiply(r.mulSession(r.self, j), [rvole.L]curve.Scalar{r.r, r.sk}, ote, r.rand)
	if err != nil {
		return r.multError(1, j, err)
	}
	r.c[j], r.mult[j] = c, out
	return nil
}

// multError turns a multiplication failure into an abort naming j, banning
// j if the failure obliges it.
func (p *params) multError(n uint16, j round.PartyID, err error) error {
	switch {
	case rvole.BansPeer(err):
		p.key.ban(j)
		return round.Blame(Protocol, n, fmt.Errorf("%w: %w", ErrBanned, err), "failed check in the pairwise multiplication; banned", j)
	case errors.Is(err, rvole.ErrUnusable):
		return round.Blame(Protocol, n, ErrBanned, "pairwise state unusable after an earlier failed check", j)
	default:
		return round.Blame(Protocol, n, err, "invalid multiplication message", j)
	}
}

func (r *round1) missing() []round.PartyID {
	var out []round.PartyID
	for _, j := range r.others {
		_, a := r.commits[j]
		_, b := r.mult[j]
		if !a || !b {
			out = append(out, j)
		}
	}
	return out
}

// Finalize sends the round-2 messages (phase 2 step 3).
func (r *round1) Finalize() (round.Round, []round.Message, error) {
	if r.done {
		return nil, nil, finalized(1)
	}
	if miss := r.missing(); len(miss) > 0 {
		return nil, nil, incomplete(1, miss)
	}
	c := curve.Secp256k1
	payload, err := wire.Marshal(revealMsg{R: r.R.Bytes(), Salt: r.salt[:], PK: r.pk.Bytes()})
	if err != nil {
		return nil, nil, err
	}
	out := []round.Message{{Session: r.session, Round: 2, From: r.self, To: round.Broadcast, Payload: payload}}
	for _, j := range r.others {
		cj := r.c[j]
		psi := r.phi.Sub(r.bob[j].Chi())
		payload, err := wire.Marshal(multMsg{
			GammaU: c.MulBase(cj[0]).Bytes(), GammaV: c.MulBase(cj[1]).Bytes(), Psi: psi.Bytes(), Mult: r.mult[j],
		})
		if err != nil {
			return nil, nil, err
		}
		out = append(out, round.Message{Session: r.session, Round: 2, From: r.self, To: j, Payload: payload})
	}
	r.done = true
	next := &round2{
		round1: r, reveals: map[round.PartyID]*reveal{}, mults: map[round.PartyID]*mult{},
		d: map[round.PartyID][rvole.L]curve.Scalar{},
	}
	clear(r.mult)
	return next, out, nil
}

// round2 collects the openings and the multiplication messages, finishes
// this party's side as Bob, runs the checks and computes the presignature.
type round2 struct {
	*round1
	reveals map[round.PartyID]*reveal
	mults   map[round.PartyID]*mult
	d       map[round.PartyID][rvole.L]curve.Scalar // self as Bob: (d^u_ij, d^v_ij), secret
	done    bool
}

func (r *round2) Number() uint16 { return 2 }
func (r *round2) Expect() round.Expectation {
	return round.Expectation{Broadcast: true, Direct: true}
}

// Store checks an opening against com_j (phase 3 step 1; design §4 check
// 4), or finishes the multiplication as Bob on j's Alice message and checks
// it (phase 3 step 2; design §4 check 2; a failure bans j).
func (r *round2) Store(m round.Message) error {
	if r.done {
		return finalized(2)
	}
	if err := check(r.self, r.session, r.others, m, 2); err != nil {
		return err
	}
	j := m.From
	if m.IsBroadcast() {
		if _, dup := r.reveals[j]; dup {
			return duplicate(2, j)
		}
		rv, err := decodeRevealMsg(m.Payload)
		if err != nil {
			return round.Blame(Protocol, 2, err, "invalid opening", j)
		}
		got, want := instanceCommitment(r.ctx, j, rv.R, rv.Salt), r.commits[j]
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return round.Blame(Protocol, 2, ErrCommitment, "R_j does not open com_j", j)
		}
		r.reveals[j] = rv
		return nil
	}
	if _, dup := r.mults[j]; dup {
		return duplicate(2, j)
	}
	mu, err := decodeMultMsg(m.Payload)
	if err != nil {
		return round.Blame(Protocol, 2, err, "invalid multiplication message", j)
	}
	d, err := r.bob[j].Finish(mu.Mult)
	if err != nil {
		return r.multError(2, j, err)
	}
	mu.Mult = nil
	r.mults[j], r.d[j] = mu, d
	return nil
}

func (r *round2) missing() []round.PartyID {
	var out []round.PartyID
	for _, j := range r.others {
		if r.reveals[j] == nil || r.mults[j] == nil {
			out = append(out, j)
		}
	}
	return out
}

// Finalize runs the Γ-checks, Σ pk_j = pk and R ≠ ∞ (phase 3 steps 3–5)
// and computes u_i and v_i (step 6): the presignature.
func (r *round2) Finalize() (round.Round, []round.Message, error) {
	if r.done {
		return nil, nil, finalized(2)
	}
	if miss := r.missing(); len(miss) > 0 {
		return nil, nil, incomplete(2, miss)
	}
	r.done = true
	c := curve.Secp256k1
	// Γ-checks: χ_ij·R_j = d^u_ij·G + Γ^u_ji and χ_ij·pk_j = d^v_ij·G +
	// Γ^v_ji. They bind j's VOLE inputs to the discrete logarithms of R_j
	// and pk_j; j passes with other inputs only by guessing χ_ij.
	var culprits []round.PartyID
	for _, j := range r.others {
		chi, rv, mu, d := r.bob[j].Chi(), r.reveals[j], r.mults[j], r.d[j]
		okU := rv.R.Mul(chi).Equal(c.MulBase(d[0]).Add(mu.GammaU))
		okV := rv.PK.Mul(chi).Equal(c.MulBase(d[1]).Add(mu.GammaV))
		if !okU || !okV {
			culprits = append(culprits, j)
		}
	}
	if len(culprits) > 0 {
		for _, j := range culprits {
			r.key.ban(j)
		}
		return nil, nil, round.Blame(Protocol, 2, fmt.Errorf("%w: %w", ErrBanned, ErrConsistencyCheck), "VOLE inputs do not match R_j or pk_j; banned", culprits...)
	}
	R, sumPK := r.R, r.pk
	for _, j := range r.others {
		R, sumPK = R.Add(r.reveals[j].R), sumPK.Add(r.reveals[j].PK)
	}
	if !sumPK.Equal(r.pub) {
		var blamed []round.PartyID
		if len(r.others) == 1 {
			// With two signers, this party knows its own pk_i is right.
			blamed = r.others
		}
		return nil, nil, round.Blame(Protocol, 2, ErrKeyMismatch, "Σ pk_j ≠ pk", blamed...)
	}
	if R.IsIdentity() {
		return nil, nil, round.Blame(Protocol, 2, ErrIdentityNonce, "R = ∞")
	}
	// u_i = r_i·(φ_i + Σ_j ψ_ji) + Σ_j (c^u_ij + d^u_ij), and v_i likewise
	// with sk_i.
	mask := r.phi
	u, v := c.NewScalar(), c.NewScalar()
	for _, j := range r.others {
		mask = mask.Add(r.mults[j].Psi)
		cj, dj := r.c[j], r.d[j]
		u = u.Add(cj[0]).Add(dj[0])
		v = v.Add(cj[1]).Add(dj[1])
	}
	u = u.Add(r.r.Mul(mask))
	v = v.Add(r.sk.Mul(mask))
	pre := &Presignature{
		keyID: r.key.keyID, session: r.session, self: r.self, signers: r.signers, derivation: r.bind,
		pub: r.pub, r: R, view: r.view(), u: u, v: v, phi: r.phi,
	}
	// Drop this session's secrets.
	r.r, r.sk, r.phi = nil, nil, nil
	clear(r.c)
	clear(r.d)
	clear(r.bob)
	if r.digest == nil {
		return &round.Output{Result: pre}, nil, nil
	}
	return startOnline(r.key, pre, r.session, 3, r.digest)
}

// view digests every signer's round-1 and round-2 broadcasts: what the
// runner's echo broadcast makes equal at every party. The online step
// compares views, the backstop against equivocation (design §4 item 7).
func (r *round2) view() [32]byte {
	h := sha256.New()
	put(h, []byte("cairn/ecdsa/view/v1"))
	put(h, r.ctx[:])
	for _, id := range r.signers {
		com, R, pk := r.com, r.R, r.pk
		if id != r.self {
			com, R, pk = r.commits[id], r.reveals[id].R, r.reveals[id].PK
		}
		put(h, com[:])
		put(h, R.Bytes())
		put(h, pk.Bytes())
	}
	return [32]byte(h.Sum(nil))
}

// NewOnlineSigning signs digest with a presignature in one broadcast round
// (the presigning variant of design §3): it consumes pre, broadcasts
// (u_i, w_i = H(m)·φ_i + r_x·v_i), and then combines and verifies as
// NewSigning's third round does. session is this ceremony's id, fresh like
// any other; the signers are pre's.
//
// pre is consumed (marked used and its secrets dropped) before the
// broadcast is returned, whether or not the session completes; a used
// presignature is refused with ErrPresignatureUsed. The caller must have
// deleted every stored copy of pre before (see Presignature).
func NewOnlineSigning(key *KeyShare, pre *Presignature, session round.SessionID, digest []byte) (round.Round, []round.Message, error) {
	switch {
	case key == nil || key.share == nil || pre == nil:
		return nil, nil, fmt.Errorf("%w: nil key share or presignature", ErrInvalidRequest)
	case len(digest) != 32:
		return nil, nil, fmt.Errorf("%w: the digest must be 32 bytes", ErrInvalidRequest)
	case session == (round.SessionID{}):
		return nil, nil, fmt.Errorf("%w: zero session id", ErrInvalidRequest)
	case pre.keyID != key.keyID || pre.self != key.share.Self:
		return nil, nil, fmt.Errorf("%w: the presignature is not this party's for this key", ErrInvalidRequest)
	}
	var banned []round.PartyID
	for _, id := range pre.signers {
		if slices.Contains(key.Banned(), id) {
			banned = append(banned, id)
		}
	}
	if len(banned) > 0 {
		return nil, nil, round.Blame(Protocol, 0, ErrBanned, "a signer is banned for this key", banned...)
	}
	return startOnline(key, pre, session, 1, slices.Clone(digest))
}

// startOnline consumes pre and returns the round collecting the partial
// signatures, numbered n, with this party's broadcast.
func startOnline(key *KeyShare, pre *Presignature, session round.SessionID, n uint16, digest []byte) (round.Round, []round.Message, error) {
	u, v, phi, err := pre.take()
	if err != nil {
		return nil, nil, err
	}
	c := curve.Secp256k1
	rx := c.ReduceScalar(pre.r.Bytes()[1:])
	w := c.ReduceScalar(digest).Mul(phi).Add(rx.Mul(v))
	inputs := inputsDigest(digest)
	payload, err := wire.Marshal(partialMsg{Presign: pre.session[:], View: pre.view[:], Inputs: inputs[:], U: u.Bytes(), W: w.Bytes()})
	if err != nil {
		return nil, nil, err
	}
	r := &onlineRound{
		key: key, pre: pre, session: session, number: n, digest: digest, inputs: inputs,
		u: map[round.PartyID]curve.Scalar{pre.self: u}, w: map[round.PartyID]curve.Scalar{pre.self: w},
	}
	for _, id := range pre.signers {
		if id != pre.self {
			r.others = append(r.others, id)
		}
	}
	return r, []round.Message{{Session: session, Round: n, From: pre.self, To: round.Broadcast, Payload: payload}}, nil
}

// onlineRound collects the partial signatures (u_j, w_j) and combines them
// (phase 4).
type onlineRound struct {
	key     *KeyShare
	pre     *Presignature // consumed; public fields only
	session round.SessionID
	number  uint16
	others  []round.PartyID
	digest  []byte
	inputs  [32]byte
	u, w    map[round.PartyID]curve.Scalar
	done    bool
}

func (r *onlineRound) Number() uint16            { return r.number }
func (r *onlineRound) Expect() round.Expectation { return round.Expectation{Broadcast: true} }

// Store checks that j's partial signature was made over the same
// presignature, view and digest, and records it.
func (r *onlineRound) Store(m round.Message) error {
	n := r.number
	if r.done {
		return finalized(n)
	}
	if err := check(r.pre.self, r.session, r.others, m, n); err != nil {
		return err
	}
	j := m.From
	if !m.IsBroadcast() {
		return round.Blame(Protocol, n, round.ErrMalformed, "direct message in a broadcast round", j)
	}
	if _, dup := r.u[j]; dup {
		return duplicate(n, j)
	}
	pm, err := decodePartialMsg(m.Payload)
	if err != nil {
		return round.Blame(Protocol, n, err, "invalid partial signature", j)
	}
	switch {
	case pm.Presign != r.pre.session:
		return round.Blame(Protocol, n, ErrInputMismatch, fmt.Sprintf("party %d signs with a presignature of session %v, this party with %v", j, pm.Presign, r.pre.session))
	case pm.Inputs != r.inputs:
		return round.Blame(Protocol, n, ErrInputMismatch, fmt.Sprintf("party %d signs another digest", j))
	case pm.View != r.pre.view:
		// Some signer sent different broadcasts to different signers. The
		// runner's echo broadcast names such a signer before this point;
		// here the views alone cannot tell the equivocator from its victims,
		// so nobody is named.
		return round.Blame(Protocol, n, round.ErrEquivocation, fmt.Sprintf("party %d declared a view of the presigning broadcasts that differs from this party's", j))
	}
	r.u[j], r.w[j] = pm.U, pm.W
	return nil
}

// Finalize computes s = Σw/Σu and verifies the signature under the key
// (design §4 check 6). Neither Σu = 0 nor a signature that does not verify
// can be pinned on a signer: every value that could be checked has been,
// and what is left is an additive error in some u_j or w_j, which DKLs23
// detects but does not attribute.
func (r *onlineRound) Finalize() (round.Round, []round.Message, error) {
	n := r.number
	if r.done {
		return nil, nil, finalized(n)
	}
	var miss []round.PartyID
	for _, j := range r.others {
		if r.u[j] == nil {
			miss = append(miss, j)
		}
	}
	if len(miss) > 0 {
		return nil, nil, incomplete(n, miss)
	}
	r.done = true
	c := curve.Secp256k1
	sumU, sumW := c.NewScalar(), c.NewScalar()
	for _, id := range r.pre.signers {
		sumU, sumW = sumU.Add(r.u[id]), sumW.Add(r.w[id])
	}
	sig, err := finish(r.pre.r, r.pre.pub, r.digest, sumU, sumW)
	if err != nil {
		return nil, nil, round.Blame(Protocol, n, fmt.Errorf("%w: %w", round.ErrBadSignature, err), "the combined signature is invalid")
	}
	return &round.Output{Result: sig}, nil, nil
}
