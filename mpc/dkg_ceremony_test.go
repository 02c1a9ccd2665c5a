package mpc

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (c *cluster) keyring() round.Keyring {
	k := round.Keyring{}
	for _, p := range c.peers {
		k[p.ID] = p.Key
	}
	return k
}

// runDKG runs a DKG among all the cluster's parties over the memory network.
func (c *cluster) runDKG(t testing.TB, crv curve.Curve, threshold int, conns map[round.PartyID]Conn) map[round.PartyID]result {
	t.Helper()
	sess := round.NewSessionID(dkg.Protocol, []byte(crv.Name()), c.parties, randomNonce(t))
	ctx, cancel := context.WithTimeout(context.Background(), scaled(20*time.Second))
	defer cancel()
	return c.runProto(ctx, dkg.Protocol, sess, c.parties, conns, nil, func(id round.PartyID) (round.Round, []round.Message, error) {
		return dkg.Start(dkg.Config{Curve: crv, Session: sess, Self: id, Parties: c.parties, Threshold: threshold, Evidence: c.keyring()})
	})
}

func randomNonce(t testing.TB) []byte {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// keyShares unwraps a successful DKG.
func keyShares(t testing.TB, res map[round.PartyID]result) map[round.PartyID]*dkg.KeyShare {
	t.Helper()
	out := map[round.PartyID]*dkg.KeyShare{}
	for id, r := range res {
		require.NoError(t, r.err, "party %d", id)
		ks, ok := r.out.(*dkg.KeyShare)
		require.True(t, ok, "party %d returned %T", id, r.out)
		out[id] = ks
	}
	return out
}

func TestDKGOverMemoryTransport(t *testing.T) {
	t.Parallel()
	for _, crv := range []curve.Curve{curve.Secp256k1, curve.Edwards25519} {
		for _, tn := range [][2]int{{1, 1}, {2, 3}, {3, 5}, {7, 10}, {16, 16}} {
			t.Run(fmt.Sprintf("%s/%d-of-%d", crv.Name(), tn[0], tn[1]), func(t *testing.T) {
				if raceScale > 1 && tn[1] > 10 {
					t.Skip("large ceremonies run without the race detector; its runs keep to concurrency")
				}
				t.Parallel()
				c := newCluster(t, tn[1])
				shares := keyShares(t, c.runDKG(t, crv, tn[0], nil))
				first := shares[1]
				for id, ks := range shares {
					assert.True(t, ks.GroupKey.Equal(first.GroupKey), "party %d group key", id)
					assert.Equal(t, first.ChainCode, ks.ChainCode)
					assert.True(t, crv.MulBase(ks.Secret).Equal(first.VerificationShares[id]), "party %d share matches its public share", id)
				}
				// Any t shares give the group key.
				ids := c.parties[len(c.parties)-tn[0]:]
				secret := crv.NewScalar()
				for _, id := range ids {
					l, err := curve.Lagrange(crv, uint16(id), toU16(ids))
					require.NoError(t, err)
					secret = secret.Add(l.Mul(shares[id].Secret))
				}
				assert.True(t, crv.MulBase(secret).Equal(first.GroupKey))
			})
		}
	}
}

func toU16(ids []round.PartyID) []uint16 {
	out := make([]uint16, len(ids))
	for i, id := range ids {
		out[i] = uint16(id)
	}
	return out
}

// rewriteFields decodes a toarray CBOR payload into its fields, lets f edit
// them, and re-encodes: a malicious party that knows the message layout but
// not our types.
func rewriteFields(payload []byte, f func(fields []any) []any) []byte {
	var fields []any
	if err := cbor.Unmarshal(payload[1:], &fields); err != nil {
		panic(err)
	}
	b, err := wire.Marshal(f(fields))
	if err != nil {
		panic(err)
	}
	return b
}

// malicious returns a tamperConn for party bad that rewrites its outgoing
// protocol messages of round rnd (broadcast or direct, as selected) to the
// given recipients (nil: all) with edit.
func (c *cluster) malicious(bad round.PartyID, rnd uint16, broadcast bool, to []round.PartyID, edit func([]byte) []byte) map[round.PartyID]Conn {
	return c.tamper(bad, func(dst transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
		if echo || m.Round != rnd || m.IsBroadcast() != broadcast {
			return m, true
		}
		hit := to == nil
		for _, p := range to {
			hit = hit || node(p) == dst
		}
		if hit {
			m.Payload = edit(m.Payload)
		}
		return m, true
	})
}

func TestDKGMaliciousParty(t *testing.T) {
	t.Parallel()
	const bad = round.PartyID(2)
	for _, crv := range []curve.Curve{curve.Secp256k1, curve.Edwards25519} {
		otherPoint := crv.MulBase(crv.ScalarFromUint64(12345)).Bytes()
		cases := []struct {
			name      string
			rnd       uint16
			broadcast bool
			to        []round.PartyID
			edit      func([]byte) []byte
			sentinel  error
		}{
			{"wrong share", 2, false, []round.PartyID{4}, func(p []byte) []byte {
				return rewriteFields(p, func(f []any) []any { f[0] = crv.ScalarFromUint64(7).Bytes(); return f })
			}, round.ErrInvalidShare},
			{"commitment vector too long", 1, true, nil, func(p []byte) []byte {
				return rewriteFields(p, func(f []any) []any { f[0] = append(f[0].([]any), otherPoint); return f })
			}, round.ErrMalformed},
			{"commitment vector too short", 1, true, nil, func(p []byte) []byte {
				return rewriteFields(p, func(f []any) []any { f[0] = f[0].([]any)[:2]; return f })
			}, round.ErrMalformed},
			{"bad proof of knowledge", 1, true, nil, func(p []byte) []byte {
				return rewriteFields(p, func(f []any) []any { f[2] = crv.ScalarFromUint64(1).Bytes(); return f })
			}, round.ErrInvalidProof},
			{"invalid point", 1, true, nil, func(p []byte) []byte {
				return rewriteFields(p, func(f []any) []any { f[1] = make([]byte, crv.PointSize()); return f })
			}, round.ErrMalformed},
			{"equivocating broadcast", 1, true, []round.PartyID{5}, func(p []byte) []byte {
				// A different, well-formed dealing for party 5 only.
				return rewriteFields(p, func(f []any) []any { f[3] = make([]byte, 32); return f })
			}, round.ErrEquivocation},
		}
		for _, tc := range cases {
			t.Run(crv.Name()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				c := newCluster(t, 5)
				res := c.runDKG(t, crv, 3, c.malicious(bad, tc.rnd, tc.broadcast, tc.to, tc.edit))
				for _, id := range c.parties {
					if id == bad {
						continue
					}
					assertAbort(t, res[id].err, tc.sentinel, bad)
					assert.Nil(t, res[id].out, "party %d got a key share", id)
				}
			})
		}
	}
}
