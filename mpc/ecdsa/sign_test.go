package ecdsa

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	decred "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run drives one session among signers; start makes each party's first
// round. It returns the results and the first error.
func run(t testing.TB, net *roundtest.Network, signers []round.PartyID, start func(id round.PartyID) (round.Round, []round.Message, error)) (map[round.PartyID]any, error) {
	t.Helper()
	return net.Run(startAll(t, signers, start))
}

func sign(t testing.TB, keys map[round.PartyID]*KeyShare, signers []round.PartyID, digest []byte, intercept func(round.Message, round.PartyID) []round.Message) (map[round.PartyID]any, error) {
	t.Helper()
	return signWith(t, keys, SignRequest{Session: freshSession(t, "ecdsa-sign", signers), Signers: signers, Digest: digest}, nil, intercept)
}

// signWith runs NewSigning for req.Signers, with cfg(id) as each party's
// Config (nil: the zero Config).
func signWith(t testing.TB, keys map[round.PartyID]*KeyShare, req SignRequest, cfg func(round.PartyID) Config, intercept func(round.Message, round.PartyID) []round.Message) (map[round.PartyID]any, error) {
	t.Helper()
	net := roundtest.NewNetwork(req.Signers)
	net.Intercept = intercept
	return run(t, net, req.Signers, func(id round.PartyID) (round.Round, []round.Message, error) {
		var c Config
		if cfg != nil {
			c = cfg(id)
		}
		return NewSigning(keys[id], req, c)
	})
}

// verifyIndependently checks sig with decred's verifier and by public-key
// recovery, against the expected key.
func verifyIndependently(t *testing.T, pub curve.Point, digest []byte, sig *Signature) {
	t.Helper()
	pk, err := secp256k1.ParsePubKey(pub.Bytes())
	require.NoError(t, err)
	var r, s secp256k1.ModNScalar
	r.SetBytes(&sig.R)
	s.SetBytes(&sig.S)
	assert.False(t, s.IsOverHalfOrder(), "s is not low")
	assert.True(t, decred.NewSignature(&r, &s).Verify(digest, pk), "decred ecdsa rejects the signature")
	der, err := decred.ParseDERSignature(sig.DER())
	require.NoError(t, err)
	assert.True(t, der.Verify(digest, pk))
	got, compressed, err := decred.RecoverCompact(sig.Compact(), digest)
	require.NoError(t, err)
	assert.True(t, compressed)
	assert.True(t, got.IsEqual(pk), "recovered key is not the group key")
	assert.Equal(t, pub.Bytes(), sig.PublicKey)
	assert.NoError(t, Verify(pub.Bytes(), digest, sig))
}

func TestSign(t *testing.T) {
	t.Parallel()
	cases := []struct {
		t, n    int
		subsets [][]round.PartyID
	}{
		{2, 3, [][]round.PartyID{{1, 2}, {1, 3}, {2, 3}, {1, 2, 3}}},
		{3, 5, [][]round.PartyID{{1, 2, 3}, {1, 3, 5}, {2, 4, 5}, {3, 4, 5}, {1, 2, 3, 4, 5}}},
		{5, 9, [][]round.PartyID{{1, 2, 3, 4, 5}, {2, 4, 6, 8, 9}, {5, 6, 7, 8, 9}}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d-of-%d", tc.t, tc.n), func(t *testing.T) {
			if tc.n > 5 && (raceEnabled || testing.Short()) {
				t.Skip("72 base-OT setups: too slow under -race or -short")
			}
			t.Parallel()
			keys := cachedKeys(t, tc.t, tc.n)
			pub := keys[1].GroupKey()
			for i, signers := range tc.subsets {
				digest := sha256.Sum256([]byte(fmt.Sprintf("cairn ecdsa %d-of-%d message %d", tc.t, tc.n, i)))
				res, err := sign(t, keys, signers, digest[:], nil)
				require.NoError(t, err, "signers %v", signers)
				var first *Signature
				for _, id := range signers {
					sig := res[id].(*Signature)
					verifyIndependently(t, pub, digest[:], sig)
					if first == nil {
						first = sig
					}
					assert.Equal(t, first, sig)
				}
			}
		})
	}
}

// TestConcurrentSessions runs signing and presigning sessions on the same
// key shares at once (run it with -race): a KeyShare serves concurrent
// sessions.
func TestConcurrentSessions(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 2, 3)
	pub := keys[1].GroupKey()
	var wg sync.WaitGroup
	for i, signers := range [][]round.PartyID{{1, 2}, {1, 3}, {2, 3}, {1, 2, 3}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			digest := sha256.Sum256(fmt.Appendf(nil, "concurrent %d", i))
			res, err := sign(t, keys, signers, digest[:], nil)
			if assert.NoError(t, err) {
				assert.NoError(t, Verify(pub.Bytes(), digest[:], res[signers[0]].(*Signature)))
			}
		}()
	}
	wg.Wait()
}
