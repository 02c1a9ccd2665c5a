package dkg

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
)

var curves = []curve.Curve{curve.Secp256k1, curve.Edwards25519}

func partyIDs(n int) []round.PartyID {
	ids := make([]round.PartyID, n)
	for i := range ids {
		ids[i] = round.PartyID(i + 1)
	}
	return ids
}

// seeded is a deterministic randomness source for tests.
func seeded(seed uint64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return mrand.NewChaCha8(s)
}

func testSession(label string) round.SessionID {
	return round.NewSessionID("dkg-test", []byte(label), nil, nil)
}

// cluster is one DKG ceremony among in-process parties.
type cluster struct {
	curve   curve.Curve
	t       int
	ids     []round.PartyID
	session round.SessionID
	net     *roundtest.Network
	// rand gives each party its randomness; nil means crypto/rand.
	rand func(round.PartyID) io.Reader
}

func newCluster(tb testing.TB, c curve.Curve, t, n int, extra ...round.PartyID) *cluster {
	tb.Helper()
	ids := partyIDs(n)
	return &cluster{
		curve:   c,
		t:       t,
		ids:     ids,
		session: testSession(fmt.Sprintf("%s/%d-of-%d/%s", c.Name(), t, n, tb.Name())),
		net:     roundtest.NewNetwork(append(slices.Clone(ids), extra...)),
	}
}

func (cl *cluster) config(id round.PartyID) Config {
	cfg := Config{
		Curve: cl.curve, Session: cl.session, Self: id, Parties: cl.ids,
		Threshold: cl.t, Evidence: cl.net.Keyring,
	}
	if cl.rand != nil {
		cfg.Rand = cl.rand(id)
	}
	return cfg
}

// start begins every party's round 1; wrap, if set, wraps each first round.
func (cl *cluster) start(tb testing.TB, wrap func(round.PartyID, round.Round) round.Round) map[round.PartyID]roundtest.Party {
	tb.Helper()
	parties := map[round.PartyID]roundtest.Party{}
	for _, id := range cl.ids {
		r, out, err := Start(cl.config(id))
		require.NoError(tb, err)
		if wrap != nil {
			r = wrap(id, r)
		}
		parties[id] = roundtest.Party{Round: r, Out: out}
	}
	return parties
}

// runHonest drives an honest ceremony and returns every party's key share.
func (cl *cluster) runHonest(tb testing.TB) map[round.PartyID]*KeyShare {
	tb.Helper()
	results, err := cl.net.Run(cl.start(tb, nil))
	require.NoError(tb, err)
	out := map[round.PartyID]*KeyShare{}
	for _, id := range cl.ids {
		ks, ok := results[id].(*KeyShare)
		require.Truef(tb, ok, "party %d result is %T", id, results[id])
		out[id] = ks
	}
	return out
}

// guarded wraps a party's rounds so that its abort becomes its result
// instead of stopping the whole network: every party then runs until it
// finishes or aborts, and the test can check each one's outcome.
type guarded struct {
	inner round.Round
	err   error
	// stored, if set, sees every message the inner round accepted.
	stored func(round.Message)
}

func (g *guarded) Number() uint16 { return g.inner.Number() }

func (g *guarded) Expect() round.Expectation {
	if g.err != nil {
		return round.Expectation{}
	}
	return g.inner.Expect()
}

func (g *guarded) Store(m round.Message) error {
	if g.err != nil {
		return nil
	}
	if err := g.inner.Store(m); err != nil {
		g.err = err
		return nil
	}
	if g.stored != nil {
		g.stored(m)
	}
	return nil
}

func (g *guarded) Finalize() (round.Round, []round.Message, error) {
	if g.err != nil {
		return &round.Output{Result: g.err}, nil, nil
	}
	next, out, err := g.inner.Finalize()
	if err != nil {
		return &round.Output{Result: err}, nil, nil
	}
	if o, ok := next.(*round.Output); ok {
		return o, out, nil
	}
	return &guarded{inner: next, stored: g.stored}, out, nil
}

// runGuarded drives every party, guarded, and returns each one's outcome
// (a *KeyShare or an error). Parties that wait for an aborted party stall;
// they have no outcome.
func (cl *cluster) runGuarded(tb testing.TB, stored func(round.PartyID, round.Message)) map[round.PartyID]any {
	tb.Helper()
	parties := cl.start(tb, func(id round.PartyID, r round.Round) round.Round {
		g := &guarded{inner: r}
		if stored != nil {
			g.stored = func(m round.Message) { stored(id, m) }
		}
		return g
	})
	results, err := cl.net.Run(parties)
	if err != nil {
		require.ErrorContains(tb, err, "stalled")
	}
	return results
}

// requireAbort checks that every honest party aborted with a *round.Error
// naming exactly culprits and wrapping sentinel, and that none has a key
// share.
func requireAbort(tb testing.TB, results map[round.PartyID]any, honest []round.PartyID, sentinel error, culprits ...round.PartyID) {
	tb.Helper()
	for _, id := range honest {
		res, ok := results[id]
		require.Truef(tb, ok, "honest party %d has no outcome", id)
		err, ok := res.(error)
		require.Truef(tb, ok, "honest party %d did not abort: result %T", id, res)
		var re *round.Error
		require.ErrorAsf(tb, err, &re, "party %d", id)
		require.Equalf(tb, culprits, re.Culprits, "party %d: %v", id, err)
		require.ErrorIsf(tb, err, sentinel, "party %d: %v", id, err)
	}
}

// keyedNet signs and opens messages with its own identity keys, for tests
// that drive rounds by hand and need envelopes (evidence) they can forge.
type keyedNet struct {
	keys    map[round.PartyID]ed25519.PrivateKey
	keyring round.Keyring
}

func newKeyedNet(ids ...round.PartyID) *keyedNet {
	k := &keyedNet{keys: map[round.PartyID]ed25519.PrivateKey{}, keyring: round.Keyring{}}
	for _, id := range ids {
		var seed [ed25519.SeedSize]byte
		binary.LittleEndian.PutUint16(seed[:], uint16(id))
		priv := ed25519.NewKeyFromSeed(seed[:])
		k.keys[id], k.keyring[id] = priv, priv.Public().(ed25519.PublicKey)
	}
	return k
}

// deliver returns m as a round receives it from the network: opened from an
// envelope signed by m.From, with that envelope as evidence.
func (k *keyedNet) deliver(tb testing.TB, m round.Message) round.Message {
	tb.Helper()
	sealed, err := round.Seal(k.keys[m.From], m, false)
	require.NoError(tb, err)
	opened, _, err := round.Open(k.keyring.Key, sealed)
	require.NoError(tb, err)
	return opened
}
