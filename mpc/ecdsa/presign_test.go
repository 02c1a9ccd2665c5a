package ecdsa

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func presign(t testing.TB, keys map[round.PartyID]*KeyShare, req SignRequest) map[round.PartyID]*Presignature {
	t.Helper()
	net := roundtest.NewNetwork(req.Signers)
	res, err := run(t, net, req.Signers, func(id round.PartyID) (round.Round, []round.Message, error) {
		return NewPresigning(keys[id], req, Config{})
	})
	require.NoError(t, err)
	out := map[round.PartyID]*Presignature{}
	for id, r := range res {
		out[id] = r.(*Presignature)
	}
	return out
}

func online(t testing.TB, keys map[round.PartyID]*KeyShare, pres map[round.PartyID]*Presignature, signers []round.PartyID, digest []byte) (map[round.PartyID]any, error) {
	t.Helper()
	net := roundtest.NewNetwork(signers)
	sess := freshSession(t, "ecdsa-online", signers)
	return run(t, net, signers, func(id round.PartyID) (round.Round, []round.Message, error) {
		return NewOnlineSigning(keys[id], pres[id], sess, digest)
	})
}

func TestPresignThenSign(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 3, 5)
	pub := keys[1].GroupKey()
	for i, signers := range [][]round.PartyID{{1, 2, 3}, {2, 4, 5}, {1, 2, 3, 4}} {
		// Presignatures for three messages, made before the messages exist.
		var batch []map[round.PartyID]*Presignature
		for range 3 {
			batch = append(batch, presign(t, keys, SignRequest{Session: freshSession(t, "ecdsa-presign", signers), Signers: signers}))
		}
		for k, pres := range batch {
			digest := sha256.Sum256(fmt.Appendf(nil, "presigned %d/%d", i, k))
			if k == 1 {
				// Through sealed storage and back.
				for id, p := range pres {
					enc, err := p.MarshalBinary()
					require.NoError(t, err)
					back, err := ParsePresignature(enc)
					require.NoError(t, err)
					pres[id] = back
				}
			}
			res, err := online(t, keys, pres, signers, digest[:])
			require.NoError(t, err)
			for _, id := range signers {
				verifyIndependently(t, pub, digest[:], res[id].(*Signature))
				assert.True(t, pres[id].Used())
			}
		}
	}
}

func TestPresignatureSingleUse(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 2, 3)
	signers := []round.PartyID{1, 3}
	pres := presign(t, keys, SignRequest{Session: freshSession(t, "ecdsa-presign", signers), Signers: signers})
	p := pres[1]
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v %s", p, p, p, p), fmt.Sprintf("%x", p.phi.Bytes()))
	stored, err := p.MarshalBinary()
	require.NoError(t, err)

	digest := sha256.Sum256([]byte("first"))
	sess := freshSession(t, "ecdsa-online", signers)
	_, out, err := NewOnlineSigning(keys[1], p, sess, digest[:])
	require.NoError(t, err)
	require.Len(t, out, 1)
	// Consumed before its output left the party.
	assert.True(t, p.Used())
	assert.Nil(t, p.u)
	assert.Nil(t, p.v)
	assert.Nil(t, p.phi)

	other := sha256.Sum256([]byte("second"))
	_, _, err = NewOnlineSigning(keys[1], p, freshSession(t, "ecdsa-online", signers), other[:])
	assert.ErrorIs(t, err, ErrPresignatureUsed)
	_, err = p.MarshalBinary()
	assert.ErrorIs(t, err, ErrPresignatureUsed)

	// A copy that survived (the caller failed to delete its record) is a
	// new object; the contract puts deleting it on the caller, and the
	// in-memory guard covers each object.
	copyP, err := ParsePresignature(stored)
	require.NoError(t, err)
	assert.False(t, copyP.Used())

	// Refused: another key's or party's presignature.
	_, _, err = NewOnlineSigning(keys[2], copyP, sess, digest[:])
	assert.ErrorIs(t, err, ErrInvalidRequest)
}

func TestSignTweaked(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 2, 3)
	c := curve.Secp256k1
	tweak := c.ReduceScalar([]byte("a BIP32 tweak of 32 bytes......."))
	pub := keys[1].GroupKey().Add(c.MulBase(tweak))
	digest := sha256.Sum256([]byte("tweaked"))
	for _, signers := range [][]round.PartyID{{1, 2}, {2, 3}, {1, 2, 3}} {
		req := SignRequest{Session: freshSession(t, "ecdsa-sign", signers), Signers: signers, Digest: digest[:], Derivation: []byte("m/0/7"), Tweak: tweak}
		res, err := signWith(t, keys, req, nil, nil)
		require.NoError(t, err)
		for _, id := range signers {
			verifyIndependently(t, pub, digest[:], res[id].(*Signature))
		}
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 2, 3)
	d := make([]byte, 32)
	sess := freshSession(t, "x", nil)
	cases := []struct {
		name string
		req  SignRequest
	}{
		{"zero session", SignRequest{Signers: []round.PartyID{1, 2}, Digest: d}},
		{"below threshold", SignRequest{Session: sess, Signers: []round.PartyID{1}, Digest: d}},
		{"self missing", SignRequest{Session: sess, Signers: []round.PartyID{2, 3}, Digest: d}},
		{"unsorted", SignRequest{Session: sess, Signers: []round.PartyID{2, 1}, Digest: d}},
		{"not a party", SignRequest{Session: sess, Signers: []round.PartyID{1, 4}, Digest: d}},
		{"short digest", SignRequest{Session: sess, Signers: []round.PartyID{1, 2}, Digest: d[:31]}},
	}
	for _, tc := range cases {
		_, _, err := NewSigning(keys[1], tc.req, Config{})
		assert.ErrorIs(t, err, ErrInvalidRequest, tc.name)
	}
	_, _, err := NewPresigning(keys[1], SignRequest{Session: sess, Signers: []round.PartyID{1, 2}, Digest: d}, Config{})
	assert.ErrorIs(t, err, ErrInvalidRequest)
	_, _, err = NewSigning(nil, SignRequest{Session: sess, Signers: []round.PartyID{1, 2}, Digest: d}, Config{})
	assert.ErrorIs(t, err, ErrInvalidRequest)
	_, _, err = NewKeygen(KeygenConfig{Session: sess, Self: 1, Parties: []round.PartyID{1, 2}, Threshold: 1})
	assert.ErrorIs(t, err, ErrInvalidRequest)
}
