package ecdsa

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
	"github.com/fxamacker/cbor/v2"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeygen(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 2, 3)
	require.Len(t, keys, 3)
	var pk []byte
	for id, k := range keys {
		assert.Equal(t, id, k.Self())
		if pk == nil {
			pk = k.PublicKey()
		}
		assert.Equal(t, pk, k.PublicKey())
		assert.Empty(t, k.Banned())
		for j, p := range k.peers {
			// The zero-sharing seed is symmetric.
			assert.Equal(t, p.seed, keys[j].peers[id].seed)
		}
		s := fmt.Sprintf("%v %+v %#v %s", k, k, k, k)
		assert.NotContains(t, s, fmt.Sprintf("%x", k.share.Secret.Bytes()))
		enc, err := k.MarshalBinary()
		require.NoError(t, err)
		back, err := ParseKeyShare(enc)
		require.NoError(t, err)
		enc2, err := back.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, enc, enc2)
	}
}

// TestGarbageInputKeygen feeds every round of key generation, the DKG's and
// the setup's, malformed variants of each real message before the real one:
// each is refused with a typed error and the ceremony still completes.
func TestGarbageInputKeygen(t *testing.T) {
	t.Parallel()
	parties := ids(3)
	net := roundtest.NewNetwork(parties)
	sess := freshSession(t, "ecdsa-keygen", parties)
	res, err := run(t, net, parties, func(id round.PartyID) (round.Round, []round.Message, error) {
		r, out, err := NewKeygen(KeygenConfig{Session: sess, Self: id, Parties: parties, Threshold: 2, Evidence: net.Keyring})
		return &garbageRound{t: t, inner: r}, out, err
	})
	require.NoError(t, err)
	keys := map[round.PartyID]*KeyShare{}
	for id, r := range res {
		keys[id] = r.(*KeyShare)
	}
	digest := sha256.Sum256([]byte("after garbage"))
	sigs, err := sign(t, keys, []round.PartyID{1, 3}, digest[:], nil)
	require.NoError(t, err)
	verifyIndependently(t, keys[1].GroupKey(), digest[:], sigs[1].(*Signature))
}

func TestKeyShareDecodingRefusals(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 2, 3)
	k := keys[1]
	enc, err := k.MarshalBinary()
	require.NoError(t, err)
	other, err := keys[2].MarshalBinary()
	require.NoError(t, err)
	for _, b := range [][]byte{nil, {1}, enc[:len(enc)-1], append(slices.Clone(enc), 0), other[:100]} {
		assert.ErrorIs(t, k.UnmarshalBinary(b), ErrInvalidKeyShare)
	}
	// Pairwise state of another party in place of this one's.
	swapped := rewriteFields(enc, func(f []any) []any {
		var o []any
		require.NoError(t, cbor.Unmarshal(other[1:], &o))
		f[2] = o[2]
		return f
	})
	assert.ErrorIs(t, k.UnmarshalBinary(swapped), ErrInvalidKeyShare)
	after, err := k.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, enc, after, "a refused encoding changed the share")
}

// TestSetupOnDKGShares runs the pairwise setup alone on the shares of a
// separate DKG (as after a refresh), then signs.
func TestSetupOnDKGShares(t *testing.T) {
	t.Parallel()
	parties := ids(3)
	net := roundtest.NewNetwork(parties)
	sess := freshSession(t, "dkg", parties)
	res, err := run(t, net, parties, func(id round.PartyID) (round.Round, []round.Message, error) {
		return dkg.Start(dkg.Config{Curve: curve.Secp256k1, Session: sess, Self: id, Parties: parties, Threshold: 2, Evidence: net.Keyring})
	})
	require.NoError(t, err)
	setup := freshSession(t, "setup", parties)
	res, err = run(t, net, parties, func(id round.PartyID) (round.Round, []round.Message, error) {
		return NewSetup(res[id].(*dkg.KeyShare), SetupConfig{Session: setup})
	})
	require.NoError(t, err)
	keys := map[round.PartyID]*KeyShare{}
	for id, r := range res {
		keys[id] = r.(*KeyShare)
		assert.Equal(t, setup, keys[id].KeyID())
	}
	digest := sha256.Sum256([]byte("after setup"))
	sigs, err := sign(t, keys, []round.PartyID{2, 3}, digest[:], nil)
	require.NoError(t, err)
	verifyIndependently(t, keys[1].GroupKey(), digest[:], sigs[2].(*Signature))

	// Refused: edwards25519 shares, and t = 1.
	edSess := freshSession(t, "dkg", parties)
	edRes, err := run(t, net, parties, func(id round.PartyID) (round.Round, []round.Message, error) {
		return dkg.Start(dkg.Config{Curve: curve.Edwards25519, Session: edSess, Self: id, Parties: parties, Threshold: 1, Evidence: net.Keyring})
	})
	require.NoError(t, err)
	_, _, err = NewSetup(edRes[1].(*dkg.KeyShare), SetupConfig{Session: setup})
	assert.ErrorIs(t, err, ErrInvalidRequest)
	_, _, err = NewSetup(res[1].(*KeyShare).share, SetupConfig{})
	assert.ErrorIs(t, err, ErrInvalidRequest)
}

// The setup rounds refuse a message off their envelope: from a non-member,
// for another session, round or recipient, a broadcast, from self, or a
// second one from a party; every refusal but the last two names the sender.
func TestSetupChecksEnvelope(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 2, 3)
	sess := freshSession(t, "setup", ids(3))
	const base = 4
	r1, _, err := startSetup(keys[1].share, sess, base, nil)
	require.NoError(t, err)
	_, out2, err := startSetup(keys[2].share, sess, base, nil)
	require.NoError(t, err)
	var direct round.Message
	for _, m := range out2 {
		if m.To == 1 {
			direct = m
		}
	}
	require.Equal(t, round.PartyID(2), direct.From)
	cases := []struct {
		name     string
		m        func() round.Message
		sentinel error
		culprits []round.PartyID
	}{
		{"non-member", func() round.Message { m := direct; m.From = 4; return m }, ErrNotSigner, []round.PartyID{4}},
		{"another session", func() round.Message { m := direct; m.Session[0] ^= 1; return m }, ErrWrongSession, []round.PartyID{2}},
		{"another round", func() round.Message { m := direct; m.Round++; return m }, round.ErrMalformed, []round.PartyID{2}},
		{"another recipient", func() round.Message { m := direct; m.To = 3; return m }, round.ErrMalformed, []round.PartyID{2}},
		{"broadcast", func() round.Message { m := direct; m.To = round.Broadcast; return m }, round.ErrMalformed, []round.PartyID{2}},
		{"from self", func() round.Message { m := direct; m.From = 1; return m }, round.ErrMalformed, nil},
	}
	for _, tc := range cases {
		err := r1.Store(tc.m())
		var re *round.Error
		require.ErrorAs(t, err, &re, tc.name)
		assert.ErrorIs(t, err, tc.sentinel, tc.name)
		assert.Equal(t, tc.culprits, re.Culprits, tc.name)
	}
	require.NoError(t, r1.Store(direct))
	err = r1.Store(direct)
	assert.ErrorIs(t, err, ErrDuplicateMessage)
	var re *round.Error
	require.ErrorAs(t, err, &re)
	assert.Empty(t, re.Culprits)
}
