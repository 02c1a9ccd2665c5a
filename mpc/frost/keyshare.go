package frost

import (
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sync"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// ErrInvalidKeyShare reports a key share whose parts do not fit together.
var ErrInvalidKeyShare = errors.New("frost: invalid key share")

// KeyShare is one party's share of a threshold key: its secret share s_i of
// the group secret s (a point on a degree t−1 polynomial f with f(0) = s), the
// group public key s·G and every party's verification share s_j·G.
//
// A KeyShare is immutable once made and safe for concurrent use. Its String
// and GoString never print the secret share.
type KeyShare struct {
	suite     *Suite
	self      round.PartyID
	threshold int
	secret    curve.Scalar
	groupKey  curve.Point
	shares    map[round.PartyID]curve.Point
	parties   []round.PartyID
}

// NewKeyShare assembles a KeyShare, typically from a DKG's output, and checks
// that its parts fit: every identifier is non-zero, 1 ≤ threshold ≤ number of
// parties, the secret share is non-zero and matches self's verification
// share, the verification shares lie on one polynomial of degree
// threshold−1, and that polynomial's value at zero is groupKey. Points and
// the scalar are re-encoded into suite's group, so values of another curve
// are refused rather than mixed.
//
// The checks cost about (n−t+1)·t scalar multiplications for n parties;
// they run once per key, not per signature.
func NewKeyShare(suite *Suite, self round.PartyID, threshold int, secret curve.Scalar,
	groupKey curve.Point, verificationShares map[round.PartyID]curve.Point) (*KeyShare, error) {
	if suite == nil || !suite.valid() {
		return nil, fmt.Errorf("%w: unknown suite", ErrInvalidKeyShare)
	}
	if secret == nil || groupKey == nil {
		return nil, fmt.Errorf("%w: missing secret share or group key", ErrInvalidKeyShare)
	}
	c := suite.curve
	k := &KeyShare{suite: suite, self: self, threshold: threshold, shares: map[round.PartyID]curve.Point{}}
	var err error
	if k.secret, err = c.DecodeScalar(secret.Bytes()); err != nil || k.secret.IsZero() {
		return nil, fmt.Errorf("%w: secret share is zero or not a %s scalar", ErrInvalidKeyShare, c.Name())
	}
	if k.groupKey, err = c.DecodePoint(groupKey.Bytes()); err != nil {
		return nil, fmt.Errorf("%w: group key: %w", ErrInvalidKeyShare, err)
	}
	k.parties = slices.Sorted(maps.Keys(verificationShares))
	if err := round.ValidateParties(k.parties, self); err != nil || self == 0 {
		return nil, fmt.Errorf("%w: verification shares: party set must be non-zero and include self %d", ErrInvalidKeyShare, self)
	}
	if threshold < 1 || threshold > len(k.parties) {
		return nil, fmt.Errorf("%w: threshold %d for %d parties", ErrInvalidKeyShare, threshold, len(k.parties))
	}
	for _, id := range k.parties {
		p := verificationShares[id]
		if p == nil {
			return nil, fmt.Errorf("%w: no verification share for party %d", ErrInvalidKeyShare, id)
		}
		if k.shares[id], err = c.DecodePoint(p.Bytes()); err != nil {
			return nil, fmt.Errorf("%w: verification share of party %d: %w", ErrInvalidKeyShare, id, err)
		}
	}
	if !c.MulBase(k.secret).Equal(k.shares[self]) {
		return nil, fmt.Errorf("%w: secret share does not match the verification share of party %d", ErrInvalidKeyShare, self)
	}
	// Interpolate the first t verification shares at 0 (the group key) and
	// at every other party's identifier (its verification share).
	base := k.parties[:threshold]
	for _, x := range append([]round.PartyID{0}, k.parties[threshold:]...) {
		want := k.groupKey
		if x != 0 {
			want = k.shares[x]
		}
		got := c.Identity()
		for i, l := range lagrangeAt(c, base, x) {
			got = got.Add(k.shares[base[i]].Mul(l))
		}
		if !got.Equal(want) {
			if x == 0 {
				return nil, fmt.Errorf("%w: verification shares do not interpolate to the group key", ErrInvalidKeyShare)
			}
			return nil, fmt.Errorf("%w: verification share of party %d is not on the polynomial of degree %d", ErrInvalidKeyShare, x, threshold-1)
		}
	}
	return k, nil
}

// Suite is the ciphersuite the key signs with.
func (k *KeyShare) Suite() *Suite { return k.suite }

// Self is the identifier of the party holding this share.
func (k *KeyShare) Self() round.PartyID { return k.self }

// Threshold is the number of signers a signature needs.
func (k *KeyShare) Threshold() int { return k.threshold }

// Parties lists every party of the key, ascending.
func (k *KeyShare) Parties() []round.PartyID { return slices.Clone(k.parties) }

// GroupKey is the group public key as the DKG made it. For the BIP340 suite
// it may have odd y; signatures verify under its x coordinate (see
// VerifyingKey).
func (k *KeyShare) GroupKey() curve.Point { return k.groupKey }

// VerificationShare returns party id's public share s_id·G, or nil.
func (k *KeyShare) VerificationShare(id round.PartyID) curve.Point { return k.shares[id] }

// VerifyingKey is the encoding of the key that signatures made with this
// share verify under: the 32-byte RFC 8032 key (Ed25519), the 33-byte SEC1
// compressed key (Secp256k1), or the 32-byte x-only BIP340 key (BIP340),
// which with a non-nil tr is the BIP341 output key Q.x instead of the
// internal key P.x.
func (k *KeyShare) VerifyingKey(tr *Taproot) ([]byte, error) {
	sk, err := k.signingKey(k.parties[:1], tr)
	if err != nil {
		return nil, err
	}
	return sk.verifyingKey(), nil
}

// String describes the share without its secret.
func (k *KeyShare) String() string {
	if k == nil || k.groupKey == nil {
		return "frost.KeyShare{}"
	}
	return fmt.Sprintf("frost.KeyShare{%s, party %d, %d-of-%d, group key %x, secret share redacted}",
		k.suite, k.self, k.threshold, len(k.parties), k.groupKey.Bytes())
}

// GoString is String, so %#v does not print the secret share either.
func (k *KeyShare) GoString() string { return k.String() }

// signingKey is the key material one signing session uses: for the RFC
// suites the key share as it is; for BIP340 the even-y form of the group
// key, tweaked when tr is set, with the secret share and the signers'
// verification shares transformed to match.
type signingKey struct {
	suite    *Suite
	secret   curve.Scalar
	groupKey curve.Point
	shares   map[round.PartyID]curve.Point // signers only
	// bindingKey is the group key the binding factors commit to: groupKey,
	// except for a tweaked BIP340 key, where it is Q = P_even + t·G before
	// Q's own y parity is normalized, as the Zcash Foundation's
	// frost-secp256k1-tr binds it. Q and its even form determine each
	// other, so either binds the key; this choice keeps the two
	// implementations interoperable.
	bindingKey curve.Point
}

// signingKey derives the session's key for signers. With P the group key,
// g1 = ±1 so that g1·P has even y, t the TapTweak scalar, Q = g1·P + t·G and
// g2 = ±1 so that g2·Q has even y, every share is mapped to
// s'_i = g2·(g1·s_i + t) and Y'_i = g2·(g1·Y_i + t·G). Because Lagrange
// coefficients at zero sum to one, the s'_i are Shamir shares of the secret
// of g2·Q, the even-y key BIP340 verifies under, and every party derives the
// same Y'_j. Without tr the maps are s'_i = g1·s_i and Y'_i = g1·Y_i.
// negate is applied to the group key too, so after the tweak it maps Q to
// g2·Q; bindingKey keeps Q.
func (k *KeyShare) signingKey(signers []round.PartyID, tr *Taproot) (*signingKey, error) {
	sk := &signingKey{suite: k.suite, secret: k.secret, groupKey: k.groupKey, shares: make(map[round.PartyID]curve.Point, len(signers))}
	for _, id := range signers {
		sk.shares[id] = k.shares[id]
	}
	if k.suite.kind != kindBIP340 {
		if tr != nil {
			return nil, fmt.Errorf("%w: a taproot tweak needs the BIP340 suite, not %s", ErrInvalidTweak, k.suite)
		}
		sk.bindingKey = sk.groupKey
		return sk, nil
	}
	negate := func() {
		sk.secret = sk.secret.Negate()
		for id, p := range sk.shares {
			sk.shares[id] = p.Negate()
		}
		sk.groupKey = sk.groupKey.Negate()
	}
	if !curve.HasEvenY(sk.groupKey) {
		negate()
	}
	if tr == nil {
		sk.bindingKey = sk.groupKey
		return sk, nil
	}
	t, q, err := taprootTweak(sk.groupKey, tr)
	if err != nil {
		return nil, err
	}
	tG := k.suite.curve.MulBase(t)
	sk.secret = sk.secret.Add(t)
	for id, p := range sk.shares {
		sk.shares[id] = p.Add(tG)
	}
	sk.groupKey, sk.bindingKey = q, q
	if !curve.HasEvenY(sk.groupKey) {
		negate()
	}
	return sk, nil
}

// verifyingKey encodes the key signatures verify under.
func (sk *signingKey) verifyingKey() []byte {
	if sk.suite.kind == kindBIP340 {
		return curve.XOnly(sk.groupKey)
	}
	return sk.groupKey.Bytes()
}

// lagrangeAt returns, for each ids[i], the Lagrange coefficient at x of the
// interpolation over ids: Π_{j≠i} (x − x_j)/(x_i − x_j). ids are distinct and
// non-zero (callers validate). Identifiers are public, so the coefficients
// are computed over the integers with math/big and reduced once, with a
// variable-time inversion: nothing secret flows here.
func lagrangeAt(c curve.Curve, ids []round.PartyID, x round.PartyID) []curve.Scalar {
	o := orderOf(c)
	X := big.NewInt(int64(x))
	out := make([]curve.Scalar, len(ids))
	num, den, t := new(big.Int), new(big.Int), new(big.Int)
	for i, id := range ids {
		xi := big.NewInt(int64(id))
		num.SetInt64(1)
		den.SetInt64(1)
		for _, jd := range ids {
			if jd == id {
				continue
			}
			xj := big.NewInt(int64(jd))
			num.Mul(num, t.Sub(X, xj))
			den.Mul(den, t.Sub(xi, xj))
		}
		den.Mod(den, o.n)
		if den.ModInverse(den, o.n) == nil {
			panic("frost: unreachable: identifiers are distinct and below the group order")
		}
		num.Mul(num, den).Mod(num, o.n)
		out[i] = o.scalar(c, num)
	}
	return out
}

// groupOrder is a curve's group order and scalar byte order, recovered
// through the curve interface: n − 1 = 0 − 1.
type groupOrder struct {
	n      *big.Int
	little bool // scalars encode little-endian (edwards25519)
}

var orders sync.Map // curve name → groupOrder

func orderOf(c curve.Curve) groupOrder {
	if o, ok := orders.Load(c.Name()); ok {
		return o.(groupOrder)
	}
	little := c.ScalarFromUint64(1).Bytes()[0] == 1
	b := c.NewScalar().Sub(c.ScalarFromUint64(1)).Bytes()
	if little {
		slices.Reverse(b)
	}
	n := new(big.Int).SetBytes(b)
	n.Add(n, big.NewInt(1))
	o := groupOrder{n: n, little: little}
	orders.Store(c.Name(), o)
	return o
}

// scalar converts 0 ≤ v < n to a Scalar.
func (o groupOrder) scalar(c curve.Curve, v *big.Int) curve.Scalar {
	b := v.FillBytes(make([]byte, c.ScalarSize()))
	if o.little {
		slices.Reverse(b)
	}
	s, err := c.DecodeScalar(b)
	if err != nil {
		panic("frost: unreachable: reduced scalar is canonical")
	}
	return s
}
