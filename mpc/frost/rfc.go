package frost

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// This file holds the functions of RFC 9591 sections 4 and 5, with the
// BIP340 suite's even-y handling folded in where the RFC computes the
// challenge, the signature share and the signature.

// ErrInvalidSignature reports a signature that does not verify.
var ErrInvalidSignature = fmt.Errorf("frost: %w", round.ErrBadSignature)

// ErrIdentityCommitment reports a group commitment equal to the identity,
// which RFC 9591 cannot serialize. Honest signers reach it with negligible
// probability; nobody can be blamed for it from the commitments alone.
var ErrIdentityCommitment = errors.New("frost: group commitment is the identity")

// encodeGroupCommitmentList is RFC 9591 encode_group_commitment_list:
// SerializeScalar(id)‖SerializeElement(D)‖SerializeElement(E) for each
// commitment, in the list's (ascending identifier) order.
func encodeGroupCommitmentList(s *Suite, list []Commitment) []byte {
	out := make([]byte, 0, len(list)*(s.curve.ScalarSize()+2*s.curve.PointSize()))
	for _, c := range list {
		out = append(out, s.curve.ScalarFromUint64(uint64(c.party)).Bytes()...)
		out = append(out, c.hiding.Bytes()...)
		out = append(out, c.binding.Bytes()...)
	}
	return out
}

// bindingFactorInputs returns rho_input of RFC 9591 compute_binding_factors
// for each commitment: SerializeElement(PK)‖H4(msg)‖H5(encoded list)‖
// SerializeScalar(id).
func bindingFactorInputs(s *Suite, groupKey curve.Point, list []Commitment, msg []byte) [][]byte {
	prefix := append([]byte(nil), groupKey.Bytes()...)
	prefix = append(prefix, s.h4(msg)...)
	prefix = append(prefix, s.h5(encodeGroupCommitmentList(s, list))...)
	out := make([][]byte, len(list))
	for i, c := range list {
		out[i] = append(prefix[:len(prefix):len(prefix)], s.curve.ScalarFromUint64(uint64(c.party)).Bytes()...)
	}
	return out
}

// computeBindingFactors is RFC 9591 compute_binding_factors: ρ_i = H1(rho_input_i).
func computeBindingFactors(s *Suite, groupKey curve.Point, list []Commitment, msg []byte) []curve.Scalar {
	inputs := bindingFactorInputs(s, groupKey, list, msg)
	out := make([]curve.Scalar, len(inputs))
	for i, in := range inputs {
		out[i] = s.h1(in)
	}
	return out
}

// computeGroupCommitment is RFC 9591 compute_group_commitment: R = Σ D_i +
// ρ_i·E_i. It also returns the terms (the commitment shares), which
// verify_signature_share needs.
func computeGroupCommitment(s *Suite, list []Commitment, rhos []curve.Scalar) (curve.Point, []curve.Point) {
	R := s.curve.Identity()
	terms := make([]curve.Point, len(list))
	for i, c := range list {
		terms[i] = c.hiding.Add(c.binding.Mul(rhos[i]))
		R = R.Add(terms[i])
	}
	return R, terms
}

// computeChallenge is RFC 9591 compute_challenge: H2(SerializeElement(R)‖
// SerializeElement(PK)‖msg); for BIP340 the tagged hash over the x
// coordinates.
func computeChallenge(s *Suite, R, groupKey curve.Point, msg []byte) curve.Scalar {
	if s.kind == kindBIP340 {
		return bip340Challenge(curve.XOnly(R), curve.XOnly(groupKey), msg)
	}
	return s.hashToScalar("chal", R.Bytes(), groupKey.Bytes(), msg)
}

// sigContext is everything about one signature that follows from the
// session's key, message and commitment list, shared by signing, share
// verification and aggregation.
type sigContext struct {
	key     *signingKey
	msg     []byte
	list    []Commitment // ascending party order
	index   map[round.PartyID]int
	rhos    []curve.Scalar
	terms   []curve.Point // D_i + ρ_i·E_i, negated when negR
	R       curve.Point   // the group commitment as the signature carries it
	negR    bool          // BIP340: R had odd y; nonces are negated
	c       curve.Scalar
	lambdas []curve.Scalar
}

// newSigContext computes binding factors, group commitment, challenge and
// Lagrange coefficients. list must be sorted, one commitment per signer,
// every signer with a verification share in key.
func newSigContext(key *signingKey, msg []byte, list []Commitment) (*sigContext, error) {
	s := key.suite
	sc := &sigContext{key: key, msg: msg, list: list, index: make(map[round.PartyID]int, len(list))}
	ids := make([]round.PartyID, len(list))
	for i, c := range list {
		sc.index[c.party] = i
		ids[i] = c.party
	}
	sc.rhos = computeBindingFactors(s, key.bindingKey, list, msg)
	sc.R, sc.terms = computeGroupCommitment(s, list, sc.rhos)
	if sc.R.IsIdentity() {
		return nil, ErrIdentityCommitment
	}
	if s.kind == kindBIP340 && !curve.HasEvenY(sc.R) {
		sc.negR = true
		sc.R = sc.R.Negate()
		for i, t := range sc.terms {
			sc.terms[i] = t.Negate()
		}
	}
	sc.c = computeChallenge(s, sc.R, key.groupKey, msg)
	sc.lambdas = lagrangeAt(s.curve, ids, 0)
	return sc, nil
}

// signShare is RFC 9591 sign: z_i = d_i + e_i·ρ_i + λ_i·s_i·c, with d_i and
// e_i negated when the BIP340 group commitment had odd y.
func (sc *sigContext) signShare(self round.PartyID, d, e curve.Scalar) curve.Scalar {
	i := sc.index[self]
	k := d.Add(e.Mul(sc.rhos[i]))
	if sc.negR {
		k = k.Negate()
	}
	return k.Add(sc.lambdas[i].Mul(sc.key.secret).Mul(sc.c))
}

// verifyShare is RFC 9591 verify_signature_share: z_i·G = (D_i + ρ_i·E_i) +
// (c·λ_i)·Y_i, with the commitment share negated when the BIP340 group
// commitment had odd y.
func (sc *sigContext) verifyShare(id round.PartyID, z curve.Scalar) bool {
	i, ok := sc.index[id]
	if !ok {
		return false
	}
	s := sc.key.suite
	l := s.curve.MulBase(z)
	r := sc.terms[i].Add(sc.key.shares[id].Mul(sc.c.Mul(sc.lambdas[i])))
	return l.Equal(r)
}

// aggregate is RFC 9591 aggregate: z = Σ z_i, encoded with R as the suite's
// signature.
func (sc *sigContext) aggregate(zs []curve.Scalar) []byte {
	z := sc.key.suite.curve.NewScalar()
	for _, zi := range zs {
		z = z.Add(zi)
	}
	return encodeSignature(sc.key.suite, sc.R, z)
}

func encodeSignature(s *Suite, R curve.Point, z curve.Scalar) []byte {
	var out []byte
	if s.kind == kindBIP340 {
		out = append(out, curve.XOnly(R)...)
	} else {
		out = append(out, R.Bytes()...)
	}
	return append(out, z.Bytes()...)
}

// Verify checks a signature of suite on msg under pub, both in the
// encodings of KeyShare.VerifyingKey and Signature.Bytes: crypto/ed25519
// (RFC 8032) for Ed25519; z·G = R + H2(R‖PK‖msg)·PK of RFC 9591 for
// Secp256k1; BIP340 Verify for BIP340, where pub is the 32-byte x-only key
// and msg may have any length. It returns nil or an error wrapping
// ErrInvalidSignature.
func Verify(suite *Suite, pub, msg, sig []byte) error {
	if suite == nil || !suite.valid() {
		return fmt.Errorf("%w: unknown suite", ErrInvalidSignature)
	}
	switch suite.kind {
	case kindEd25519:
		if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
			return fmt.Errorf("%w: Ed25519 key or signature of the wrong length", ErrInvalidSignature)
		}
		if !ed25519.Verify(pub, msg, sig) {
			return ErrInvalidSignature
		}
		return nil
	case kindBIP340:
		return verifyBIP340(pub, msg, sig)
	}
	c := suite.curve
	if len(sig) != c.PointSize()+c.ScalarSize() {
		return fmt.Errorf("%w: signature is %d bytes, want %d", ErrInvalidSignature, len(sig), c.PointSize()+c.ScalarSize())
	}
	P, err := c.DecodePoint(pub)
	if err != nil {
		return fmt.Errorf("%w: public key: %w", ErrInvalidSignature, err)
	}
	R, err := c.DecodePoint(sig[:c.PointSize()])
	if err != nil {
		return fmt.Errorf("%w: R: %w", ErrInvalidSignature, err)
	}
	z, err := c.DecodeScalar(sig[c.PointSize():])
	if err != nil {
		return fmt.Errorf("%w: z: %w", ErrInvalidSignature, err)
	}
	ch := computeChallenge(suite, R, P, msg)
	if !c.MulBase(z).Equal(R.Add(P.Mul(ch))) {
		return ErrInvalidSignature
	}
	return nil
}
