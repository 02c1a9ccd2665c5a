package dkg

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// KeyShare is one party's result of a DKG: its Shamir share of the group
// secret and the public values every party holds alike.
//
// The caller must keep Secret secret: never log or send it, and store the
// encoding from MarshalBinary only sealed (package store seals records at
// rest). String and every fmt verb print the public parts only.
type KeyShare struct {
	Curve curve.Curve
	// Threshold is the number t of shares needed to use the key.
	Threshold int
	// Self is this party's identifier, its x-coordinate.
	Self round.PartyID
	// Parties is the ordered party set of the key.
	Parties []round.PartyID
	// Secret is s_Self = F(Self), where F is the degree t−1 polynomial with
	// F(0) the group secret.
	Secret curve.Scalar
	// GroupKey is F(0)·G, the key's public key.
	GroupKey curve.Point
	// VerificationShares maps every party j to F(j)·G, against which its
	// partial results in later protocols are checked.
	VerificationShares map[round.PartyID]curve.Point
	// ChainCode is the BIP32 chain code the parties generated together.
	ChainCode [32]byte
}

// PublicKey is the public part of a threshold key: what a coordinator, an
// auditor or a verifier of partial signatures needs, and nothing secret.
type PublicKey struct {
	Curve              curve.Curve
	Threshold          int
	Parties            []round.PartyID
	GroupKey           curve.Point
	VerificationShares map[round.PartyID]curve.Point
	ChainCode          [32]byte
}

// Public returns the public part of k, sharing no memory with it.
func (k *KeyShare) Public() *PublicKey {
	return &PublicKey{
		Curve:              k.Curve,
		Threshold:          k.Threshold,
		Parties:            slices.Clone(k.Parties),
		GroupKey:           k.GroupKey,
		VerificationShares: maps.Clone(k.VerificationShares),
		ChainCode:          k.ChainCode,
	}
}

// String describes the key share without its secret.
func (k KeyShare) String() string {
	curveName := "<nil>"
	if k.Curve != nil {
		curveName = k.Curve.Name()
	}
	gk := "<nil>"
	if k.GroupKey != nil {
		gk = fmt.Sprintf("%x", k.GroupKey.Bytes())
	}
	return fmt.Sprintf("dkg.KeyShare{%s %d-of-%d, party %d, group key %s, secret redacted}", curveName, k.Threshold, len(k.Parties), k.Self, gk)
}

// Format makes every fmt verb (%v, %+v, %#v, %x, …) print String, so no
// formatting of a KeyShare can reach the secret.
func (k KeyShare) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// Validate checks that p is a well-formed threshold key: a valid party set
// of at most MaxParties, 1 ≤ Threshold ≤ len(Parties), a verification share
// for exactly the parties, no identity points, and verification shares that
// lie on one polynomial of degree below Threshold whose value at zero is the
// group key. It costs O(n·t) scalar multiplications.
func (p *PublicKey) Validate() error {
	if p.Curve == nil {
		return errors.New("dkg: public key has no curve")
	}
	if err := round.ValidateParties(p.Parties, 0); err != nil {
		return fmt.Errorf("dkg: public key: %w", err)
	}
	n := len(p.Parties)
	if n > MaxParties {
		return fmt.Errorf("dkg: public key has %d parties, at most %d", n, MaxParties)
	}
	if p.Threshold < 1 || p.Threshold > n {
		return fmt.Errorf("dkg: public key threshold %d out of range [1, %d]", p.Threshold, n)
	}
	if p.GroupKey == nil || p.GroupKey.IsIdentity() {
		return errors.New("dkg: public key has no group key")
	}
	if len(p.VerificationShares) != n {
		return fmt.Errorf("dkg: public key has %d verification shares for %d parties", len(p.VerificationShares), n)
	}
	for _, id := range p.Parties {
		if y := p.VerificationShares[id]; y == nil || y.IsIdentity() {
			return fmt.Errorf("dkg: public key has no verification share for party %d", id)
		}
	}
	// Interpolate from the first t parties; every other verification share
	// and the group key must agree with that polynomial.
	c := p.Curve
	base := p.Parties[:p.Threshold]
	ys := make([]curve.Point, len(base))
	for i, id := range base {
		ys[i] = p.VerificationShares[id]
	}
	basis := newLagrangeBasis(c, base)
	if !interpolate(c, basis.at(c.NewScalar()), ys).Equal(p.GroupKey) {
		return errors.New("dkg: public key: the group key does not match the verification shares")
	}
	for _, id := range p.Parties[p.Threshold:] {
		if !interpolate(c, basis.at(c.ScalarFromUint64(uint64(id))), ys).Equal(p.VerificationShares[id]) {
			return fmt.Errorf("dkg: public key: verification shares are not on one polynomial of degree below %d (party %d)", p.Threshold, id)
		}
	}
	return nil
}

// Validate checks k.Public() and that Self is a party whose verification
// share is Secret·G.
func (k *KeyShare) Validate() error {
	if err := k.Public().Validate(); err != nil {
		return err
	}
	if _, ok := slices.BinarySearch(k.Parties, k.Self); !ok || k.Self == 0 {
		return fmt.Errorf("dkg: key share: party %d is not in the party set", k.Self)
	}
	if k.Secret == nil || k.Secret.IsZero() || !k.Curve.MulBase(k.Secret).Equal(k.VerificationShares[k.Self]) {
		return errors.New("dkg: key share: the secret does not match this party's verification share")
	}
	return nil
}

// Encoding formats, the first field of each encoding.
const (
	formatPublicKey = "cairn/dkg/public-key/v1"
	formatKeyShare  = "cairn/dkg/key-share/v1"
)

type publicKeyWire struct {
	_                  struct{} `cbor:",toarray"`
	Format             string
	Curve              string
	Threshold          uint16
	Parties            []uint16
	GroupKey           []byte
	VerificationShares [][]byte // in Parties order
	ChainCode          []byte
}

type keyShareWire struct {
	_      struct{} `cbor:",toarray"`
	Format string
	Public publicKeyWire
	Self   uint16
	Secret []byte
}

// MarshalBinary encodes p (internal/wire) after validating it.
func (p *PublicKey) MarshalBinary() ([]byte, error) {
	w, err := p.toWire()
	if err != nil {
		return nil, err
	}
	return wire.Marshal(w)
}

func (p *PublicKey) toWire() (publicKeyWire, error) {
	if err := p.Validate(); err != nil {
		return publicKeyWire{}, err
	}
	w := publicKeyWire{
		Format:    formatPublicKey,
		Curve:     p.Curve.Name(),
		Threshold: uint16(p.Threshold),
		Parties:   make([]uint16, len(p.Parties)),
		GroupKey:  p.GroupKey.Bytes(),
		ChainCode: p.ChainCode[:],
	}
	for i, id := range p.Parties {
		w.Parties[i] = uint16(id)
		w.VerificationShares = append(w.VerificationShares, p.VerificationShares[id].Bytes())
	}
	return w, nil
}

// UnmarshalBinary decodes and validates (Validate) an encoding made by
// MarshalBinary. On error p is unchanged.
func (p *PublicKey) UnmarshalBinary(b []byte) error {
	var w publicKeyWire
	if err := wire.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("dkg: public key: %w", err)
	}
	q, err := w.decode()
	if err != nil {
		return err
	}
	*p = *q
	return nil
}

func (w *publicKeyWire) decode() (*PublicKey, error) {
	if w.Format != formatPublicKey {
		return nil, fmt.Errorf("dkg: public key: %w: format %q", wire.ErrMalformed, w.Format)
	}
	c := curve.ByName(w.Curve)
	if c == nil {
		return nil, fmt.Errorf("dkg: public key: %w: unknown curve %q", wire.ErrMalformed, w.Curve)
	}
	if len(w.Parties) > MaxParties || len(w.VerificationShares) != len(w.Parties) || len(w.ChainCode) != 32 {
		return nil, fmt.Errorf("dkg: public key: %w: %d parties, %d verification shares, %d-byte chain code",
			wire.ErrMalformed, len(w.Parties), len(w.VerificationShares), len(w.ChainCode))
	}
	p := &PublicKey{
		Curve:              c,
		Threshold:          int(w.Threshold),
		Parties:            make([]round.PartyID, len(w.Parties)),
		VerificationShares: make(map[round.PartyID]curve.Point, len(w.Parties)),
	}
	copy(p.ChainCode[:], w.ChainCode)
	var err error
	if p.GroupKey, err = c.DecodePoint(w.GroupKey); err != nil {
		return nil, fmt.Errorf("dkg: public key: group key: %w", err)
	}
	for i, id := range w.Parties {
		p.Parties[i] = round.PartyID(id)
		y, err := c.DecodePoint(w.VerificationShares[i])
		if err != nil {
			return nil, fmt.Errorf("dkg: public key: verification share of party %d: %w", id, err)
		}
		p.VerificationShares[round.PartyID(id)] = y
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// MarshalBinary encodes k (internal/wire), secret included, after
// validating it. The caller must seal the result before it leaves memory.
func (k *KeyShare) MarshalBinary() ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	pub, err := k.Public().toWire()
	if err != nil {
		return nil, err
	}
	return wire.Marshal(keyShareWire{Format: formatKeyShare, Public: pub, Self: uint16(k.Self), Secret: k.Secret.Bytes()})
}

// UnmarshalBinary decodes and validates an encoding made by MarshalBinary,
// including that the secret matches this party's verification share; like
// Validate, it costs O(n·t) scalar multiplications. On error k is unchanged.
func (k *KeyShare) UnmarshalBinary(b []byte) error {
	var w keyShareWire
	if err := wire.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("dkg: key share: %w", err)
	}
	if w.Format != formatKeyShare {
		return fmt.Errorf("dkg: key share: %w: format %q", wire.ErrMalformed, w.Format)
	}
	pub, err := w.Public.decode()
	if err != nil {
		return err
	}
	secret, err := pub.Curve.DecodeScalar(w.Secret)
	if err != nil {
		return fmt.Errorf("dkg: key share: secret: %w", curve.ErrInvalidScalar)
	}
	ks := &KeyShare{
		Curve:              pub.Curve,
		Threshold:          pub.Threshold,
		Self:               round.PartyID(w.Self),
		Parties:            pub.Parties,
		Secret:             secret,
		GroupKey:           pub.GroupKey,
		VerificationShares: pub.VerificationShares,
		ChainCode:          pub.ChainCode,
	}
	if err := ks.Validate(); err != nil {
		return err
	}
	*k = *ks
	return nil
}

// lagrangeBasis evaluates the Lagrange basis polynomials of a set of
// distinct, non-zero x-coordinates at any point.
type lagrangeBasis struct {
	one    curve.Scalar
	xs     []curve.Scalar
	invDen []curve.Scalar // 1 / Π_{m≠k} (x_k − x_m)
}

func newLagrangeBasis(c curve.Curve, ids []round.PartyID) *lagrangeBasis {
	b := &lagrangeBasis{one: c.ScalarFromUint64(1), xs: make([]curve.Scalar, len(ids)), invDen: make([]curve.Scalar, len(ids))}
	for k, id := range ids {
		b.xs[k] = c.ScalarFromUint64(uint64(id))
	}
	for k := range b.xs {
		den := b.one
		for m := range b.xs {
			if m != k {
				den = den.Mul(b.xs[k].Sub(b.xs[m]))
			}
		}
		b.invDen[k] = den.Invert()
	}
	return b
}

// at returns ℓ_k(x) = Π_{m≠k} (x − x_m) / (x_k − x_m) for every k, with the
// numerators from prefix and suffix products.
func (b *lagrangeBasis) at(x curve.Scalar) []curve.Scalar {
	n := len(b.xs)
	out := make([]curve.Scalar, n)
	// out[k] = Π_{m<k} (x − x_m), then multiplied by Π_{m>k} (x − x_m).
	acc := b.one
	for k := 0; k < n; k++ {
		out[k] = acc
		acc = acc.Mul(x.Sub(b.xs[k]))
	}
	acc = b.one
	for k := n - 1; k >= 0; k-- {
		out[k] = out[k].Mul(acc).Mul(b.invDen[k])
		acc = acc.Mul(x.Sub(b.xs[k]))
	}
	return out
}

func interpolate(c curve.Curve, coeffs []curve.Scalar, ys []curve.Point) curve.Point {
	acc := c.Identity()
	for i, y := range ys {
		acc = acc.Add(y.Mul(coeffs[i]))
	}
	return acc
}
