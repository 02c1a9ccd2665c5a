package dkg

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"hash"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// Domain-separation labels, one per hash use.
const (
	labelPoK       = "cairn/dkg/v1/pok"
	labelChainCode = "cairn/dkg/v1/chaincode"
	labelView      = "cairn/dkg/v1/view"
)

// transcript hashes a sequence of fields, each prefixed with its length as
// 8 big-endian bytes, so that distinct sequences never hash alike by
// concatenation. The first field is a domain-separation label.
type transcript struct{ h hash.Hash }

func newTranscript(h hash.Hash, label string) *transcript {
	t := &transcript{h: h}
	t.put([]byte(label))
	return t
}

func (t *transcript) put(b []byte) {
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(b)))
	t.h.Write(l[:])
	t.h.Write(b)
}

func (t *transcript) putUint(v uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	t.put(b[:])
}

func (t *transcript) putPoints(ps []curve.Point) {
	t.putUint(uint64(len(ps)))
	for _, p := range ps {
		t.put(p.Bytes())
	}
}

func (t *transcript) sum() []byte { return t.h.Sum(nil) }

// evalCommitment returns Σ_k commits[k]·x^k for a party id x, the public
// image of the committed polynomial at x (Feldman verification). It is
// curve.EvalCommitment without the first Horner step, a multiplication of
// the identity: with t points it costs t−1 multiplications instead of t,
// which is a third of the work at t = 3.
func evalCommitment(c curve.Curve, commits []curve.Point, x round.PartyID) curve.Point {
	if len(commits) == 0 {
		return c.Identity()
	}
	xs := c.ScalarFromUint64(uint64(x))
	acc := commits[len(commits)-1]
	for k := len(commits) - 2; k >= 0; k-- {
		acc = acc.Mul(xs).Add(commits[k])
	}
	return acc
}

// pokChallenge is c = H_pok(curve, sid, id, C, R), SHA-512 reduced modulo the
// group order (the 512-bit input makes the bias negligible).
func pokChallenge(c curve.Curve, sid round.SessionID, id round.PartyID, commits []curve.Point, r curve.Point) curve.Scalar {
	t := newTranscript(sha512.New(), labelPoK)
	t.put([]byte(c.Name()))
	t.put(sid[:])
	t.putUint(uint64(id))
	t.putPoints(commits)
	t.put(r.Bytes())
	return c.ReduceScalar(t.sum())
}

// provePoK proves knowledge of secret = log_G commits[0] with a Schnorr
// proof bound to the session and the prover's id, so it can be neither
// replayed in another ceremony nor claimed by another party. nonce must be
// uniform, secret and used once.
func provePoK(c curve.Curve, sid round.SessionID, id round.PartyID, commits []curve.Point, secret, nonce curve.Scalar) (curve.Point, curve.Scalar) {
	r := c.MulBase(nonce)
	ch := pokChallenge(c, sid, id, commits, r)
	return r, nonce.Add(ch.Mul(secret))
}

// verifyPoK checks z·G = R + c·C_0. Every input is public.
func verifyPoK(c curve.Curve, sid round.SessionID, id round.PartyID, commits []curve.Point, r curve.Point, z curve.Scalar) bool {
	if len(commits) == 0 {
		return false
	}
	ch := pokChallenge(c, sid, id, commits, r)
	return c.MulBase(z).Equal(r.Add(commits[0].Mul(ch)))
}

// chainCodeCommitment is h = H_cc(curve, sid, id, ρ). ρ is 32 uniform bytes,
// so h hides it, and SHA-256 binds the sender to it.
func chainCodeCommitment(c curve.Curve, sid round.SessionID, id round.PartyID, rho [32]byte) [32]byte {
	t := newTranscript(sha256.New(), labelChainCode)
	t.put([]byte(c.Name()))
	t.put(sid[:])
	t.putUint(uint64(id))
	t.put(rho[:])
	var h [32]byte
	copy(h[:], t.sum())
	return h
}

// viewDigest commits to everything round 1 made public, in party order: two
// parties with the same digest agree on every commitment, proof and
// chain-code commitment, and so on the group key, the verification shares
// and (by the binding of H_cc) the chain code.
func viewDigest(p *params, dealings map[round.PartyID]*dealing) [32]byte {
	t := newTranscript(sha256.New(), labelView)
	t.put([]byte(p.curve.Name()))
	t.put(p.session[:])
	t.putUint(uint64(p.t))
	t.putUint(uint64(len(p.parties)))
	for _, id := range p.parties {
		t.putUint(uint64(id))
	}
	for _, id := range p.parties {
		d := dealings[id]
		t.putUint(uint64(id))
		t.putPoints(d.commits)
		t.put(d.proofR.Bytes())
		t.put(d.proofZ.Bytes())
		t.put(d.ccCommit[:])
	}
	var h [32]byte
	copy(h[:], t.sum())
	return h
}
