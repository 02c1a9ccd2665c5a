package ecdsa

import (
	"crypto/rand"
	"fmt"
	"sync"
	"testing"

	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
	"github.com/stretchr/testify/require"
)

func ids(n int) []round.PartyID {
	out := make([]round.PartyID, n)
	for i := range out {
		out[i] = round.PartyID(i + 1)
	}
	return out
}

func freshSession(t testing.TB, protocol string, parties []round.PartyID) round.SessionID {
	t.Helper()
	nonce := make([]byte, 16)
	_, err := rand.Read(nonce)
	require.NoError(t, err)
	return round.NewSessionID(protocol, nil, parties, nonce)
}

// startAll makes each party's first round with start, failing t on any
// error.
func startAll(t testing.TB, parties []round.PartyID, start func(id round.PartyID) (round.Round, []round.Message, error)) map[round.PartyID]roundtest.Party {
	t.Helper()
	out := map[round.PartyID]roundtest.Party{}
	for _, id := range parties {
		r, msgs, err := start(id)
		require.NoError(t, err)
		out[id] = roundtest.Party{Round: r, Out: msgs}
	}
	return out
}

// keygen runs NewKeygen among n parties with threshold t in one process.
func keygen(t testing.TB, tt, n int) map[round.PartyID]*KeyShare {
	t.Helper()
	parties := ids(n)
	net := roundtest.NewNetwork(parties)
	net.Intercept = func(m round.Message, _ round.PartyID) []round.Message {
		if m.Round > dkgRounds {
			sampleMu.Lock()
			if _, ok := sampleSetup[m.Round]; !ok {
				sampleSetup[m.Round] = m.Payload
			}
			sampleMu.Unlock()
		}
		return []round.Message{m}
	}
	sess := freshSession(t, "ecdsa-keygen", parties)
	res, err := net.Run(startAll(t, parties, func(id round.PartyID) (round.Round, []round.Message, error) {
		return NewKeygen(KeygenConfig{Session: sess, Self: id, Parties: parties, Threshold: tt, Evidence: net.Keyring})
	}))
	require.NoError(t, err)
	out := map[round.PartyID]*KeyShare{}
	for id, r := range res {
		out[id] = r.(*KeyShare)
	}
	return out
}

// Shared keys, made once per shape: key generation costs a few hundred
// milliseconds of base OTs per pair.
var (
	keyCacheMu sync.Mutex
	keyCache   = map[string]map[round.PartyID]*KeyShare{}
)

// cachedKeys returns fresh copies of a cached key, so that a test that
// bans a party does not affect the others.
func cachedKeys(t testing.TB, tt, n int) map[round.PartyID]*KeyShare {
	t.Helper()
	name := fmt.Sprintf("%d-of-%d", tt, n)
	keyCacheMu.Lock()
	keys, ok := keyCache[name]
	if !ok {
		keys = keygen(t, tt, n)
		keyCache[name] = keys
	}
	keyCacheMu.Unlock()
	out := map[round.PartyID]*KeyShare{}
	for id, k := range keys {
		c, err := k.clone()
		require.NoError(t, err)
		out[id] = c
	}
	return out
}

// newGarbageNet is a plain network; garbage is injected by garbageRound.
func newGarbageNet(t testing.TB, parties []round.PartyID) *roundtest.Network {
	t.Helper()
	return roundtest.NewNetwork(parties)
}

// sampleSetup holds one real setup message per round, for fuzz seeds.
var (
	sampleMu    sync.Mutex
	sampleSetup = map[uint16][]byte{}
)

// clone returns an independent copy of the public and secret parts of k
// that share no mutable state: a copy through storage.
func (k *KeyShare) clone() (*KeyShare, error) {
	b, err := k.MarshalBinary()
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return ParseKeyShare(b)
}
