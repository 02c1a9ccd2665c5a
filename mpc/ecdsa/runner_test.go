package ecdsa_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/ecdsa"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/memory"
	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cluster is n parties on a memory network, each with an identity key.
type cluster struct {
	net     *memory.Network
	parties []round.PartyID
	keys    map[round.PartyID]ed25519.PrivateKey
	peers   []mpc.Peer
	shares  map[round.PartyID]*ecdsa.KeyShare
}

func node(id round.PartyID) transport.NodeID { return transport.NodeID(fmt.Sprintf("signer-%d", id)) }

func newCluster(t testing.TB, n int) *cluster {
	c := &cluster{net: memory.NewNetwork(), keys: map[round.PartyID]ed25519.PrivateKey{}}
	t.Cleanup(func() { c.net.Close() })
	for i := 1; i <= n; i++ {
		id := round.PartyID(i)
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		c.parties = append(c.parties, id)
		c.keys[id] = priv
		c.peers = append(c.peers, mpc.Peer{ID: id, Node: node(id), Key: pub})
		c.net.Endpoint(node(id))
	}
	return c
}

func (c *cluster) keyring() round.Keyring {
	k := round.Keyring{}
	for _, p := range c.peers {
		k[p.ID] = p.Key
	}
	return k
}

type result struct {
	out any
	err error
}

// run runs one ceremony among parties with mpc.Runner over the memory
// network. A party in bad is stopped once every other party is done (it may
// wait for messages its victims, having aborted, never send).
func (c *cluster) run(t testing.TB, protocol string, sess round.SessionID, parties []round.PartyID, bad round.PartyID,
	start func(round.PartyID) (round.Round, []round.Message, error)) map[round.PartyID]result {
	t.Helper()
	var peers []mpc.Peer
	for _, p := range c.peers {
		if slices.Contains(parties, p.ID) {
			peers = append(peers, p)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg, honest sync.WaitGroup
	var mu sync.Mutex
	res := map[round.PartyID]result{}
	for _, id := range parties {
		r := &mpc.Runner{Conn: c.net.Endpoint(node(id)), Protocol: protocol, Session: sess, Self: id, Identity: c.keys[id], Peers: peers}
		first, out, err := start(id)
		require.NoError(t, err)
		wg.Add(1)
		if id != bad {
			honest.Add(1)
		}
		go func() {
			defer wg.Done()
			if id != bad {
				defer honest.Done()
			}
			v, err := r.Run(ctx, first, out)
			mu.Lock()
			res[id] = result{v, err}
			mu.Unlock()
		}()
	}
	honest.Wait()
	cancel()
	wg.Wait()
	return res
}

func session(t testing.TB, protocol string, parties []round.PartyID) round.SessionID {
	nonce := make([]byte, 16)
	_, err := rand.Read(nonce)
	require.NoError(t, err)
	return round.NewSessionID(protocol, nil, parties, nonce)
}

func (c *cluster) keygen(t testing.TB, threshold int) map[round.PartyID]*ecdsa.KeyShare {
	sess := session(t, "ecdsa-keygen", c.parties)
	res := c.run(t, "ecdsa-keygen", sess, c.parties, 0, func(id round.PartyID) (round.Round, []round.Message, error) {
		return ecdsa.NewKeygen(ecdsa.KeygenConfig{Session: sess, Self: id, Parties: c.parties, Threshold: threshold, Evidence: c.keyring()})
	})
	out := map[round.PartyID]*ecdsa.KeyShare{}
	for id, r := range res {
		require.NoError(t, r.err, "party %d", id)
		out[id] = r.out.(*ecdsa.KeyShare)
	}
	return out
}

// deviant wraps a party's rounds and rewrites the messages they produce:
// a malicious party that runs the protocol but sends something else, which
// the runner then signs as its own.
type deviant struct {
	inner round.Round
	edit  func(m round.Message) round.Message
}

func (d *deviant) Number() uint16              { return d.inner.Number() }
func (d *deviant) Expect() round.Expectation   { return d.inner.Expect() }
func (d *deviant) Store(m round.Message) error { return d.inner.Store(m) }
func (d *deviant) Finalize() (round.Round, []round.Message, error) {
	next, out, err := d.inner.Finalize()
	if err != nil {
		return nil, nil, err
	}
	if _, done := next.(*round.Output); !done {
		next = &deviant{inner: next, edit: d.edit}
	}
	return next, d.apply(out), nil
}

func (d *deviant) apply(out []round.Message) []round.Message {
	res := make([]round.Message, 0, len(out))
	for _, m := range out {
		res = append(res, d.edit(m))
	}
	return res
}

// rewriteField replaces field i of a toarray payload with g of it.
func rewriteField(payload []byte, i int, g func([]byte) []byte) []byte {
	var fields []any
	if err := cbor.Unmarshal(payload[1:], &fields); err != nil {
		panic(err)
	}
	fields[i] = g(slices.Clone(fields[i].([]byte)))
	b, err := wire.Marshal(fields)
	if err != nil {
		panic(err)
	}
	return b
}

// TestOverMemoryTransport runs a 3-of-5 key generation, signing with
// several subsets, and presigning with the online step through mpc.Runner
// over the memory transport, then the malicious cases that the runner's
// echo broadcast and the protocol's checks catch, each aborting at every
// honest party with the culprit named and no signature.
func TestOverMemoryTransport(t *testing.T) {
	if testing.Short() {
		t.Skip("key generation over the transport takes seconds")
	}
	t.Parallel()
	c := newCluster(t, 5)
	keys := c.keygen(t, 3)
	c.shares = keys
	pub := keys[1].GroupKey()
	for _, k := range keys {
		require.True(t, k.GroupKey().Equal(pub))
	}
	digest := sha256.Sum256([]byte("over the memory transport"))

	sign := func(keys map[round.PartyID]*ecdsa.KeyShare, signers []round.PartyID, bad round.PartyID, edit func(round.Message) round.Message) map[round.PartyID]result {
		sess := session(t, "ecdsa-sign", signers)
		return c.run(t, "ecdsa-sign", sess, signers, bad, func(id round.PartyID) (round.Round, []round.Message, error) {
			r, out, err := ecdsa.NewSigning(keys[id], ecdsa.SignRequest{Session: sess, Signers: signers, Digest: digest[:]}, ecdsa.Config{})
			if id == bad && err == nil {
				d := &deviant{inner: r, edit: edit}
				return d, d.apply(out), nil
			}
			return r, out, err
		})
	}

	for _, signers := range [][]round.PartyID{{1, 2, 3}, {2, 4, 5}, {1, 3, 4, 5}} {
		res := sign(keys, signers, 0, nil)
		for _, id := range signers {
			require.NoError(t, res[id].err)
			sig := res[id].out.(*ecdsa.Signature)
			assert.NoError(t, ecdsa.Verify(pub.Bytes(), digest[:], sig))
		}
	}

	t.Run("presign then online", func(t *testing.T) {
		signers := []round.PartyID{1, 4, 5}
		sess := session(t, "ecdsa-presign", signers)
		res := c.run(t, "ecdsa-presign", sess, signers, 0, func(id round.PartyID) (round.Round, []round.Message, error) {
			return ecdsa.NewPresigning(keys[id], ecdsa.SignRequest{Session: sess, Signers: signers}, ecdsa.Config{})
		})
		online := session(t, "ecdsa-online", signers)
		res = c.run(t, "ecdsa-online", online, signers, 0, func(id round.PartyID) (round.Round, []round.Message, error) {
			require.NoError(t, res[id].err)
			return ecdsa.NewOnlineSigning(keys[id], res[id].out.(*ecdsa.Presignature), online, digest[:])
		})
		for _, id := range signers {
			require.NoError(t, res[id].err)
			assert.NoError(t, ecdsa.Verify(pub.Bytes(), digest[:], res[id].out.(*ecdsa.Signature)))
		}
	})

	const bad = round.PartyID(3)
	signers := []round.PartyID{1, 3, 5}
	one := []round.PartyID{bad}
	plusG := func(b []byte) []byte {
		p, err := curve.Secp256k1.DecodePoint(b)
		if err != nil {
			panic(err)
		}
		return p.Add(curve.Secp256k1.Generator()).Bytes()
	}
	cases := []struct {
		name      string
		edit      func(round.Message) round.Message
		sentinels []error
		culprits  []round.PartyID
		banned    bool
	}{
		{"Γ^u check", func(m round.Message) round.Message {
			if m.Round == 2 && !m.IsBroadcast() {
				m.Payload = rewriteField(m.Payload, 0, plusG)
			}
			return m
		}, []error{ecdsa.ErrConsistencyCheck, ecdsa.ErrBanned}, one, true},
		{"OT-extension consistency", func(m round.Message) round.Message {
			if m.Round == 1 && !m.IsBroadcast() {
				m.Payload = rewriteField(m.Payload, 0, func(ote []byte) []byte {
					return rewriteField(ote, 3, func(x []byte) []byte { x[0] ^= 1; return x })
				})
			}
			return m
		}, []error{ecdsa.ErrBanned, round.ErrInvalidProof}, one, true},
		{"multiplication consistency", func(m round.Message) round.Message {
			if m.Round == 2 && !m.IsBroadcast() {
				m.Payload = rewriteField(m.Payload, 3, func(mult []byte) []byte {
					return rewriteField(mult, 4, func(mu []byte) []byte { mu[0] ^= 1; return mu })
				})
			}
			return m
		}, []error{ecdsa.ErrBanned, round.ErrInvalidProof}, one, true},
		{"partial signature shifted", func(m round.Message) round.Message {
			if m.Round == 3 {
				m.Payload = rewriteField(m.Payload, 4, func(w []byte) []byte { w[31] ^= 1; return w })
			}
			return m
		}, []error{round.ErrBadSignature}, nil, false},
		{"R_j does not open its commitment", func(m round.Message) round.Message {
			if m.Round == 2 && m.IsBroadcast() {
				m.Payload = rewriteField(m.Payload, 0, plusG)
			}
			return m
		}, []error{ecdsa.ErrCommitment}, one, false},
		// The rest of design §4, as TestMaliciousSigner breaks it through
		// roundtest, here through the runner and the memory transport.
		{"Γ^v check", edit(2, false, 1, plusG), []error{ecdsa.ErrConsistencyCheck, ecdsa.ErrBanned}, one, true},
		{"pk_j not the second VOLE input", edit(2, true, 2, plusG), []error{ecdsa.ErrConsistencyCheck, ecdsa.ErrBanned}, one, true},
		{"commitment replaced", edit(1, true, 0, func(b []byte) []byte { b[0] ^= 1; return b }), []error{ecdsa.ErrCommitment}, one, false},
		{"R_j = ∞", edit(2, true, 0, func([]byte) []byte { return make([]byte, 33) }), []error{round.ErrMalformed, curve.ErrInvalidPoint}, one, false},
		{"u_j shifted", edit(3, true, 3, scalarPlusOne), []error{round.ErrBadSignature}, nil, false},
		{"ψ shifted", edit(2, false, 2, scalarPlusOne), []error{round.ErrBadSignature}, nil, false},
		{"another digest", edit(3, true, 2, func(b []byte) []byte { b[0] ^= 1; return b }), []error{ecdsa.ErrInputMismatch}, nil, false},
		{"malformed partial signature", edit(3, true, 3, func([]byte) []byte { return []byte{1} }), []error{round.ErrMalformed}, one, false},
		{"malformed Bob message", edit(1, false, 0, func(b []byte) []byte { return b[:len(b)/2] }), []error{round.ErrMalformed}, one, false},
		{"malformed Alice message", edit(2, false, 3, func(b []byte) []byte { return b[:100] }), []error{round.ErrMalformed}, one, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Copies through storage, so that a ban stays in this case.
			keys := map[round.PartyID]*ecdsa.KeyShare{}
			for id, k := range c.shares {
				enc, err := k.MarshalBinary()
				require.NoError(t, err)
				keys[id], err = ecdsa.ParseKeyShare(enc)
				require.NoError(t, err)
			}
			res := sign(keys, signers, bad, tc.edit)
			for _, id := range signers {
				if id == bad {
					continue
				}
				var ae *mpc.AbortError
				require.ErrorAs(t, res[id].err, &ae, "party %d", id)
				assert.Equal(t, tc.culprits, ae.Culprits)
				for _, s := range tc.sentinels {
					assert.ErrorIs(t, res[id].err, s)
				}
				assert.Nil(t, res[id].out)
				if tc.banned {
					assert.Equal(t, []round.PartyID{bad}, keys[id].Banned())
				}
			}
		})
	}
}

// edit rewrites field i of the deviant's messages of round rnd (broadcast or
// direct) with g.
func edit(rnd uint16, broadcast bool, i int, g func([]byte) []byte) func(round.Message) round.Message {
	return func(m round.Message) round.Message {
		if m.Round == rnd && m.IsBroadcast() == broadcast {
			m.Payload = rewriteField(m.Payload, i, g)
		}
		return m
	}
}

func scalarPlusOne(b []byte) []byte {
	c := curve.Secp256k1
	s, err := c.DecodeScalar(b)
	if err != nil {
		panic(err)
	}
	return s.Add(c.ScalarFromUint64(1)).Bytes()
}
