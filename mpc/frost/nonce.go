package frost

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

var (
	// ErrNonceUsed reports a second use of a single-use nonce.
	ErrNonceUsed = errors.New("frost: nonce already used")
	// ErrUnknownNonce reports a commitment the NonceStore holds no nonce for.
	ErrUnknownNonce = errors.New("frost: no nonce for this commitment")
)

// Commitment is a signer's public nonce commitment (D, E) = (d·G, e·G) of
// RFC 9591 commit, with the signer's identifier. A Commitment is valid by
// construction: it comes from Precommit or from UnmarshalCommitment, which
// checks its points.
type Commitment struct {
	suite   *Suite
	party   round.PartyID
	hiding  curve.Point
	binding curve.Point
}

// Party is the identifier of the signer that made the commitment.
func (c Commitment) Party() round.PartyID { return c.party }

// Suite is the ciphersuite the commitment is for.
func (c Commitment) Suite() *Suite { return c.suite }

// Hiding and Binding are the commitments D = d·G and E = e·G.
func (c Commitment) Hiding() curve.Point  { return c.hiding }
func (c Commitment) Binding() curve.Point { return c.binding }

// Equal reports whether two commitments are the same.
func (c Commitment) Equal(o Commitment) bool {
	return c.suite == o.suite && c.party == o.party && c.hiding != nil && o.hiding != nil &&
		c.hiding.Equal(o.hiding) && c.binding.Equal(o.binding)
}

// commitmentEncoding is the wire form of a Commitment exchanged ahead of a
// session (precommitment).
type commitmentEncoding struct {
	_       struct{} `cbor:",toarray"`
	Suite   string
	Party   uint16
	Hiding  []byte
	Binding []byte
}

// MarshalBinary encodes the commitment for exchange before a session.
func (c Commitment) MarshalBinary() ([]byte, error) {
	if c.suite == nil {
		return nil, errors.New("frost: zero Commitment")
	}
	return wire.Marshal(commitmentEncoding{Suite: c.suite.context, Party: uint16(c.party), Hiding: c.hiding.Bytes(), Binding: c.binding.Bytes()})
}

// UnmarshalCommitment decodes a commitment from a peer and validates it: the
// suite matches, the party is non-zero, and both points are valid
// non-identity group elements (curve.DecodePoint) and differ.
func UnmarshalCommitment(suite *Suite, b []byte) (Commitment, error) {
	var e commitmentEncoding
	if err := wire.Unmarshal(b, &e); err != nil {
		return Commitment{}, fmt.Errorf("frost: commitment: %w", err)
	}
	if suite == nil || e.Suite != suite.context {
		return Commitment{}, fmt.Errorf("frost: commitment: %w: suite %q, want %v", round.ErrMalformed, e.Suite, suite)
	}
	if e.Party == 0 {
		return Commitment{}, fmt.Errorf("frost: commitment: %w: party 0", round.ErrMalformed)
	}
	return decodeCommitment(suite, round.PartyID(e.Party), e.Hiding, e.Binding)
}

func decodeCommitment(suite *Suite, party round.PartyID, hiding, binding []byte) (Commitment, error) {
	d, err := suite.curve.DecodePoint(hiding)
	if err != nil {
		return Commitment{}, fmt.Errorf("frost: hiding commitment: %w: %w", round.ErrMalformed, err)
	}
	e, err := suite.curve.DecodePoint(binding)
	if err != nil {
		return Commitment{}, fmt.Errorf("frost: binding commitment: %w: %w", round.ErrMalformed, err)
	}
	if d.Equal(e) {
		return Commitment{}, fmt.Errorf("frost: %w: hiding and binding commitments are equal", ErrDuplicateCommitment)
	}
	return Commitment{suite: suite, party: party, hiding: d, binding: e}, nil
}

// Nonce is a signer's secret nonce pair (d, e) and its Commitment. A Nonce
// signs at most once: computing a signature share erases it (the encodings
// held here are zeroed and the Nonce is marked used), and any later use fails
// with ErrNonceUsed. Using one nonce pair for two signatures would reveal the
// secret share.
//
// A Nonce lives in memory only. Never persist one: restoring a stored nonce
// (a backup, a snapshot of a VM) would let it be used twice.
type Nonce struct {
	mu         sync.Mutex
	commitment Commitment
	hiding     []byte // encodings of d and e; zeroed on use
	binding    []byte
	used       bool
}

// Commitment is the public commitment to the nonce.
func (n *Nonce) Commitment() Commitment { return n.commitment }

// Used reports whether the nonce has been consumed.
func (n *Nonce) Used() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.used
}

// String describes the nonce without its secret.
func (n *Nonce) String() string {
	if n == nil || n.commitment.hiding == nil {
		return "frost.Nonce{}"
	}
	return fmt.Sprintf("frost.Nonce{party %d, commitment %x, secret redacted}", n.commitment.party, n.commitment.hiding.Bytes())
}

// GoString is String.
func (n *Nonce) GoString() string { return n.String() }

// take returns the nonce scalars and erases them; only the first call
// succeeds.
func (n *Nonce) take() (d, e curve.Scalar, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.used {
		return nil, nil, ErrNonceUsed
	}
	n.used = true
	c := n.commitment.suite.curve
	d, err1 := c.DecodeScalar(n.hiding)
	e, err2 := c.DecodeScalar(n.binding)
	clear(n.hiding)
	clear(n.binding)
	n.hiding, n.binding = nil, nil
	if err1 != nil || err2 != nil {
		return nil, nil, errors.New("frost: unreachable: corrupt nonce")
	}
	return d, e, nil
}

// Precommit draws a fresh nonce pair for key (RFC 9591 commit) and returns
// it; its Commitment can be published before the message to sign is known,
// so that signing later takes a single broadcast (see
// NewPrecommittedSigning). rand nil means crypto/rand.Reader; other readers
// are for tests only.
func Precommit(key *KeyShare, rand io.Reader) (*Nonce, error) {
	if key == nil {
		return nil, errors.New("frost: nil key share")
	}
	return commit(key.suite, key.self, key.secret, randOrDefault(rand))
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// nonceGenerate is RFC 9591 nonce_generate: H3(random_bytes(32)‖
// SerializeScalar(secret)). Mixing in the secret share keeps the nonce
// secret even if rand is weak. A zero result (probability about 2⁻²⁵²) is
// drawn again, since its commitment would be the identity.
func nonceGenerate(s *Suite, rand io.Reader, secret curve.Scalar) (curve.Scalar, error) {
	var rb [32]byte
	defer clear(rb[:])
	for {
		if _, err := io.ReadFull(rand, rb[:]); err != nil {
			return nil, fmt.Errorf("frost: reading nonce randomness: %w", err)
		}
		k := s.h3(rb[:], secret.Bytes())
		if !k.IsZero() {
			return k, nil
		}
	}
}

// commit is RFC 9591 commit: a hiding and a binding nonce, in that order,
// and their commitments.
func commit(s *Suite, self round.PartyID, secret curve.Scalar, rand io.Reader) (*Nonce, error) {
	d, err := nonceGenerate(s, rand, secret)
	if err != nil {
		return nil, err
	}
	e, err := nonceGenerate(s, rand, secret)
	if err != nil {
		return nil, err
	}
	return &Nonce{
		commitment: Commitment{suite: s, party: self, hiding: s.curve.MulBase(d), binding: s.curve.MulBase(e)},
		hiding:     d.Bytes(),
		binding:    e.Bytes(),
	}, nil
}

// NonceStore keeps a signer's precommitted nonces until they sign, and
// remembers which commitments were used, so that a commitment is honoured at
// most once even after its Nonce is gone. It is safe for concurrent use and
// holds nonces in memory only (see Nonce).
type NonceStore struct {
	mu      sync.Mutex
	pending map[string]*Nonce
	used    map[string]struct{}
}

// NewNonceStore returns an empty store.
func NewNonceStore() *NonceStore {
	return &NonceStore{pending: map[string]*Nonce{}, used: map[string]struct{}{}}
}

func commitmentKey(c Commitment) string {
	return string(c.hiding.Bytes()) + string(c.binding.Bytes())
}

// Precommit draws count nonces for key, keeps them and returns their
// commitments for publication. rand nil means crypto/rand.Reader.
func (s *NonceStore) Precommit(key *KeyShare, count int, rand io.Reader) ([]Commitment, error) {
	out := make([]Commitment, 0, count)
	nonces := make([]*Nonce, 0, count)
	for range count {
		n, err := Precommit(key, rand)
		if err != nil {
			return nil, err
		}
		nonces = append(nonces, n)
		out = append(out, n.commitment)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range nonces {
		s.pending[commitmentKey(n.commitment)] = n
	}
	return out, nil
}

// Take removes and returns the nonce behind c, to be passed to
// NewPrecommittedSigning. A commitment already taken fails with ErrNonceUsed,
// one the store never held with ErrUnknownNonce.
func (s *NonceStore) Take(c Commitment) (*Nonce, error) {
	if c.suite == nil {
		return nil, ErrUnknownNonce
	}
	k := commitmentKey(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.used[k]; ok {
		return nil, ErrNonceUsed
	}
	n, ok := s.pending[k]
	if !ok || n.commitment.party != c.party || n.commitment.suite != c.suite {
		return nil, ErrUnknownNonce
	}
	delete(s.pending, k)
	s.used[k] = struct{}{}
	return n, nil
}

// Len is the number of nonces not yet taken.
func (s *NonceStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// CommitmentLog remembers every nonce commitment point a party has accepted,
// across sessions, so that a replayed or reused commitment is refused (see
// Config.Log). It is safe for concurrent use. It grows by two points per
// signer per session; a long-lived signer should persist and prune it along
// with its session-id log.
type CommitmentLog struct {
	mu   sync.Mutex
	seen map[string]Sighting
}

// Sighting is where a commitment point was first seen.
type Sighting struct {
	Session round.SessionID
	Party   round.PartyID
}

// NewCommitmentLog returns an empty log.
func NewCommitmentLog() *CommitmentLog { return &CommitmentLog{seen: map[string]Sighting{}} }

// record atomically checks the points of cs and records them as sent by
// their parties in session. If any was seen before, nothing is recorded and
// the earlier sighting is returned with ok false.
func (l *CommitmentLog) record(session round.SessionID, cs []Commitment) (Sighting, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		for _, pt := range []curve.Point{c.hiding, c.binding} {
			if s, ok := l.seen[string(pt.Bytes())]; ok {
				return s, false
			}
		}
	}
	for _, c := range cs {
		here := Sighting{Session: session, Party: c.party}
		l.seen[string(c.hiding.Bytes())] = here
		l.seen[string(c.binding.Bytes())] = here
	}
	return Sighting{}, true
}
