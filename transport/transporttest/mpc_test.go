package transporttest_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/cputime"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/frost"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
	"github.com/cairn-mpc/cairn/transport/transporttest"
)

// party is one mpc party on a transport.
type party struct {
	id   round.PartyID
	conn transport.Transport
	key  ed25519.PrivateKey
}

type ceremony struct {
	parties map[round.PartyID]*party
	peers   []mpc.Peer
	ring    round.Keyring
}

func newCeremony(t testing.TB, n transporttest.Network, ids []transport.NodeID) *ceremony {
	c := &ceremony{parties: map[round.PartyID]*party{}, ring: round.Keyring{}}
	for i, node := range ids {
		id := round.PartyID(i + 1)
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		c.parties[id] = &party{id: id, conn: n.Endpoints[node], key: priv}
		c.peers = append(c.peers, mpc.Peer{ID: id, Node: node, Key: pub})
		c.ring[id] = pub
	}
	return c
}

type outcome struct {
	out any
	err error
}

// run runs one session among members, each started by start, with the
// real mpc runner over the parties' transports.
func (c *ceremony) run(t testing.TB, protocol string, sess round.SessionID, members []round.PartyID,
	start func(round.PartyID) (round.Round, []round.Message, error)) map[round.PartyID]outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var peers []mpc.Peer
	for _, p := range c.peers {
		for _, m := range members {
			if p.ID == m {
				peers = append(peers, p)
			}
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	res := map[round.PartyID]outcome{}
	for _, id := range members {
		first, out, err := start(id)
		require.NoError(t, err)
		r := &mpc.Runner{Conn: c.parties[id].conn, Protocol: protocol, Session: sess, Self: id, Identity: c.parties[id].key, Peers: peers}
		wg.Go(func() {
			v, err := r.Run(ctx, first, out)
			mu.Lock()
			res[id] = outcome{v, err}
			mu.Unlock()
		})
	}
	wg.Wait()
	return res
}

func nonce(t testing.TB) []byte {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// dkgThenSign runs a 3-of-5 DKG for suite, then FROST signing with two
// different signer sets, and checks the signatures with a verifier that is
// not Cairn's.
func (c *ceremony) dkgThenSign(t *testing.T, suite *frost.Suite) {
	keys := c.dkg(t, suite)
	msg := sha256.Sum256([]byte("cairn: sign over a real carrier"))
	for _, signers := range [][]round.PartyID{{1, 3, 5}, {2, 4, 5}} {
		res := c.sign(t, keys, signers, msg[:])
		for _, id := range signers {
			require.NoError(t, res[id].err, "signers %v, party %d", signers, id)
			sig := res[id].out.(*frost.Signature)
			switch suite {
			case frost.Ed25519:
				assert.True(t, ed25519.Verify(sig.PublicKey, msg[:], sig.Bytes), "crypto/ed25519 rejects the signature")
			case frost.BIP340:
				pk, err := schnorr.ParsePubKey(sig.PublicKey)
				require.NoError(t, err)
				s, err := schnorr.ParseSignature(sig.Bytes)
				require.NoError(t, err)
				assert.True(t, s.Verify(msg[:], pk), "btcec rejects the signature")
			}
		}
	}
}

// sign runs one FROST signing session among signers.
func (c *ceremony) sign(t testing.TB, keys map[round.PartyID]*frost.KeyShare, signers []round.PartyID, msg []byte) map[round.PartyID]outcome {
	sess := round.NewSessionID(frost.Protocol, keys[signers[0]].GroupKey().Bytes(), signers, nonce(t))
	return c.run(t, frost.Protocol, sess, signers, func(id round.PartyID) (round.Round, []round.Message, error) {
		return frost.NewSigning(keys[id], frost.SignRequest{Session: sess, Signers: signers, Message: msg}, frost.Config{})
	})
}

// dkg runs a 3-of-5 DKG for suite and returns every party's FROST key.
func (c *ceremony) dkg(t testing.TB, suite *frost.Suite) map[round.PartyID]*frost.KeyShare {
	all := []round.PartyID{1, 2, 3, 4, 5}
	crv := suite.Curve()
	sess := round.NewSessionID(dkg.Protocol, []byte(crv.Name()), all, nonce(t))
	res := c.run(t, dkg.Protocol, sess, all, func(id round.PartyID) (round.Round, []round.Message, error) {
		return dkg.Start(dkg.Config{Curve: crv, Session: sess, Self: id, Parties: all, Threshold: 3, Evidence: c.ring})
	})
	keys := map[round.PartyID]*frost.KeyShare{}
	for _, id := range all {
		require.NoError(t, res[id].err, "DKG party %d", id)
		ks := res[id].out.(*dkg.KeyShare)
		fk, err := frost.NewKeyShare(suite, id, ks.Threshold, ks.Secret, ks.GroupKey, ks.VerificationShares)
		require.NoError(t, err)
		keys[id] = fk
	}
	return keys
}

// TestDKGAndSigningOverEveryTransport is the issue's "same DKG and signing
// suite over memory, TCP+mTLS and NATS": the mpc runner drives a real DKG
// and FROST signing over each carrier, end-to-end protected.
func TestDKGAndSigningOverEveryTransport(t *testing.T) {
	ids := []transport.NodeID{"node-1", "node-2", "node-3", "node-4", "node-5"}
	cases := []struct {
		name string
		f    transporttest.Factory
	}{
		{"memory+e2e", secured(memoryNetwork, e2e.X25519)},
		{"tcp-mtls+e2e", secured(tcpNetwork, e2e.X25519)},
		{"tcp-mtls+e2e-mlkem", secured(tcpNetwork, e2e.MLKEM768X25519)},
		{"nats+e2e", natsNetwork},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCeremony(t, tc.f(t, ids), ids)
			for _, suite := range []*frost.Suite{frost.Ed25519, frost.BIP340} {
				t.Run(fmt.Sprint(suite.Curve().Name()), func(t *testing.T) { c.dkgThenSign(t, suite) })
			}
		})
	}
}

// BenchmarkFROSTSigning measures one FROST(Ed25519) signature by three
// signers with the mpc runner over each carrier, against the bare memory
// transport: the difference is what end-to-end protection and the carrier
// cost per signature. cpu-ms/sig is the CPU of all parties together.
func BenchmarkFROSTSigning(b *testing.B) {
	ids := []transport.NodeID{"node-1", "node-2", "node-3", "node-4", "node-5"}
	cases := []struct {
		name string
		f    transporttest.Factory
	}{
		{"memory", memoryNetwork},
		{"memory+e2e", secured(memoryNetwork, e2e.X25519)},
		{"tcp-mtls+e2e", secured(tcpNetwork, e2e.X25519)},
		{"nats+e2e", natsNetwork},
	}
	msg := sha256.Sum256([]byte("benchmark"))
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c := newCeremony(b, tc.f(b, ids), ids)
			keys := c.dkg(b, frost.Ed25519)
			signers := []round.PartyID{1, 3, 5}
			cpu := cputime.Process()
			for b.Loop() {
				res := c.sign(b, keys, signers, msg[:])
				for _, id := range signers {
					if res[id].err != nil {
						b.Fatal(res[id].err)
					}
				}
			}
			if d := cputime.Process() - cpu; d > 0 {
				b.ReportMetric(float64(d.Microseconds())/1000/float64(b.N), "cpu-ms/sig")
			}
		})
	}
}
