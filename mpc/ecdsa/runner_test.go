package ecdsa_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/ecdsa"
	"github.com/cairn-mpc/cairn/mpc/internal/rvole"
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
	return c.runWith(t, protocol, sess, parties, bad, nil, start)
}

// runWith is run with bad's Conn wrapped by wrap, if set.
func (c *cluster) runWith(t testing.TB, protocol string, sess round.SessionID, parties []round.PartyID, bad round.PartyID,
	wrap func(mpc.Conn) mpc.Conn, start func(round.PartyID) (round.Round, []round.Message, error)) map[round.PartyID]result {
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
		var conn mpc.Conn = c.net.Endpoint(node(id))
		if id == bad && wrap != nil {
			conn = wrap(conn)
		}
		r := &mpc.Runner{Conn: conn, Protocol: protocol, Session: sess, Self: id, Identity: c.keys[id], Peers: peers}
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
// over the memory transport, then a malicious signer that breaks each check
// of design §4 in turn. In every case each honest signer aborts naming the
// culprit (or nobody, where the check cannot tell), by its own check or by
// the runner's complaint from the honest signer that saw the message;
// neither releases a signature; their key shares are unchanged (but for a
// ban the check obliges) and still sign afterwards.
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

	// signWith signs with signers; bad's rounds are wrapped by edit and its
	// Conn by wrap, where set.
	// nonces, if set, are the instance keys r_i each party samples first.
	var nonces map[round.PartyID]curve.Scalar
	signWith := func(keys map[round.PartyID]*ecdsa.KeyShare, signers []round.PartyID, bad round.PartyID,
		edit func(round.Message) round.Message, wrap func(mpc.Conn) mpc.Conn) map[round.PartyID]result {
		sess := session(t, "ecdsa-sign", signers)
		return c.runWith(t, "ecdsa-sign", sess, signers, bad, wrap, func(id round.PartyID) (round.Round, []round.Message, error) {
			cfg := ecdsa.Config{}
			if r, ok := nonces[id]; ok {
				cfg.Rand = io.MultiReader(bytes.NewReader(r.Bytes()), rand.Reader)
			}
			r, out, err := ecdsa.NewSigning(keys[id], ecdsa.SignRequest{Session: sess, Signers: signers, Digest: digest[:]}, cfg)
			if id == bad && edit != nil && err == nil {
				d := &deviant{inner: r, edit: edit}
				return d, d.apply(out), nil
			}
			return r, out, err
		})
	}

	for _, signers := range [][]round.PartyID{{1, 2, 3}, {2, 4, 5}, {1, 3, 4, 5}} {
		res := signWith(keys, signers, 0, nil, nil)
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
	honest := []round.PartyID{1, 5}
	one := []round.PartyID{bad}
	plusG := func(b []byte) []byte {
		p, err := curve.Secp256k1.DecodePoint(b)
		if err != nil {
			panic(err)
		}
		return p.Add(curve.Secp256k1.Generator()).Bytes()
	}
	// Every check of design §4, broken by party 3 of signers {1, 3, 5}.
	// A case either rewrites what the malicious party's rounds emit (edit:
	// the runner then signs it as the party's own), gives it a shifted key
	// share (shift), or rewrites the frames its runner sends (conn).
	type malice struct {
		name  string
		edit  func(round.Message) round.Message
		shift bool
		conn  func(c *cluster) func(mpc.Conn) mpc.Conn
		// nonces fixes instance keys, standing for a malicious party that
		// knows the honest ones.
		nonces    map[round.PartyID]curve.Scalar
		sentinels []error
		culprits  []round.PartyID
		banned    bool
		// complained is the honest party that cannot see the deviation and
		// learns of it from the other's complaint; zero if either may detect
		// it itself.
		complained round.PartyID
	}
	cases := []malice{
		// §4 check 1: the OT-extension consistency check (Alice verifying
		// Bob); x̃ no longer matches Bob's rows.
		{name: "OT-extension consistency", edit: func(m round.Message) round.Message {
			if m.Round == 1 && !m.IsBroadcast() {
				m.Payload = rewriteField(m.Payload, 0, func(ote []byte) []byte {
					return rewriteField(ote, 3, func(x []byte) []byte { x[0] ^= 1; return x })
				})
			}
			return m
		}, sentinels: []error{ecdsa.ErrBanned, round.ErrInvalidProof}, culprits: one, banned: true},
		// §4 check 2: the multiplication check (Bob verifying Alice).
		{name: "multiplication consistency", edit: func(m round.Message) round.Message {
			if m.Round == 2 && !m.IsBroadcast() {
				m.Payload = rewriteField(m.Payload, 3, func(mult []byte) []byte {
					return rewriteField(mult, 4, func(mu []byte) []byte { mu[0] ^= 1; return mu })
				})
			}
			return m
		}, sentinels: []error{ecdsa.ErrBanned, round.ErrInvalidProof}, culprits: one, banned: true},
		// The multiplication check against one victim only: the other honest
		// signer sees nothing wrong and learns of it by complaint.
		{name: "multiplication consistency, one victim", edit: func(m round.Message) round.Message {
			if m.Round == 2 && m.To == 5 {
				m.Payload = rewriteField(m.Payload, 3, func(mult []byte) []byte {
					return rewriteField(mult, 4, func(mu []byte) []byte { mu[0] ^= 1; return mu })
				})
			}
			return m
		}, sentinels: []error{ecdsa.ErrBanned, round.ErrInvalidProof}, culprits: one, banned: true, complained: 1},
		// §4 check 3: the Γ-checks bind the VOLE inputs to R_j and pk_j.
		{name: "Γ^u check", edit: edit(2, false, 0, plusG), sentinels: []error{ecdsa.ErrConsistencyCheck, ecdsa.ErrBanned}, culprits: one, banned: true},
		{name: "Γ^v check", edit: edit(2, false, 1, plusG), sentinels: []error{ecdsa.ErrConsistencyCheck, ecdsa.ErrBanned}, culprits: one, banned: true},
		{name: "Γ^u check, one victim", edit: func(m round.Message) round.Message {
			if m.Round == 2 && m.To == 1 {
				m.Payload = rewriteField(m.Payload, 0, plusG)
			}
			return m
		}, sentinels: []error{ecdsa.ErrConsistencyCheck, ecdsa.ErrBanned}, culprits: one, banned: true, complained: 5},
		{name: "pk_j not the second VOLE input", edit: edit(2, true, 2, plusG), sentinels: []error{ecdsa.ErrConsistencyCheck, ecdsa.ErrBanned}, culprits: one, banned: true},
		// §4 check 4: commit-then-open of R_j, and R_j ≠ ∞.
		{name: "R_j does not open its commitment", edit: edit(2, true, 0, plusG), sentinels: []error{ecdsa.ErrCommitment}, culprits: one},
		{name: "commitment replaced", edit: edit(1, true, 0, func(b []byte) []byte { b[0] ^= 1; return b }), sentinels: []error{ecdsa.ErrCommitment}, culprits: one},
		{name: "R_j = ∞", edit: edit(2, true, 0, func([]byte) []byte { return make([]byte, 33) }), sentinels: []error{round.ErrMalformed, curve.ErrInvalidPoint}, culprits: one},
		// R = Σ R_j = ∞: a party that knew the others' instance keys before
		// committing could cancel them. Nobody can be named.
		{name: "R = ∞", nonces: map[round.PartyID]curve.Scalar{
			1: sc(1111), 5: sc(5555), bad: sc(1111 + 5555).Negate(),
		}, sentinels: []error{ecdsa.ErrIdentityNonce}},
		// §4 check 5: a consistently shifted key share passes the Γ-checks
		// and is stopped by Σ pk_j = pk. With three signers the sum cannot
		// say who shifted (TestKeyShiftOverMemoryTransport names it with
		// two).
		{name: "key share shifted", shift: true, sentinels: []error{ecdsa.ErrKeyMismatch}},
		// §4 check 6: what no earlier check attributes, the final
		// verification stops; nobody can be named.
		{name: "partial signature shifted", edit: edit(3, true, 4, func(w []byte) []byte { w[31] ^= 1; return w }), sentinels: []error{round.ErrBadSignature}},
		{name: "u_j shifted", edit: edit(3, true, 3, scalarPlusOne), sentinels: []error{round.ErrBadSignature}},
		{name: "ψ shifted", edit: edit(2, false, 2, scalarPlusOne), sentinels: []error{round.ErrBadSignature}},
		{name: "Σu = 0", conn: sumUZero(bad, honest), sentinels: []error{round.ErrBadSignature}},
		// §4 item 7: validation of each message, equivocation.
		{name: "another digest", edit: edit(3, true, 2, func(b []byte) []byte { b[0] ^= 1; return b }), sentinels: []error{ecdsa.ErrInputMismatch}},
		{name: "malformed partial signature", edit: edit(3, true, 3, func([]byte) []byte { return []byte{1} }), sentinels: []error{round.ErrMalformed}, culprits: one},
		{name: "malformed Bob message", edit: edit(1, false, 0, func(b []byte) []byte { return b[:len(b)/2] }), sentinels: []error{round.ErrMalformed}, culprits: one},
		{name: "malformed Alice message", edit: edit(2, false, 3, func(b []byte) []byte { return b[:100] }), sentinels: []error{round.ErrMalformed}, culprits: one},
		{name: "equivocated commitment", conn: func(c *cluster) func(mpc.Conn) mpc.Conn {
			return c.tamper(bad, func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
				if m.Round == 1 && m.IsBroadcast() && !echo && to == node(5) {
					m.Payload = rewriteField(m.Payload, 0, func(b []byte) []byte { b[0] ^= 1; return b })
				}
				return m, true
			}, nil)
		}, sentinels: []error{round.ErrEquivocation}, culprits: one},
		// §4 item 8: multiplication session ids name both parties in role
		// order. Party 3's Bob message for Alice = 1 also goes to Alice = 5,
		// which refuses it as another session's before using any secret (no
		// ban); party 1 sees nothing wrong and learns of it by complaint.
		{name: "multiplication message for another pair", edit: swapToFive(), sentinels: []error{rvole.ErrWrongSession, round.ErrMalformed}, culprits: one, complained: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Copies through storage, so that a ban stays in this case.
			keys := map[round.PartyID]*ecdsa.KeyShare{}
			before := map[round.PartyID][]byte{}
			for id, k := range c.shares {
				enc, err := k.MarshalBinary()
				require.NoError(t, err)
				keys[id], err = ecdsa.ParseKeyShare(enc)
				require.NoError(t, err)
				before[id], err = ecdsa.SessionState(keys[id], bad)
				require.NoError(t, err)
			}
			if tc.shift {
				var err error
				keys[bad], err = ecdsa.ShiftedShare(keys[bad], 1)
				require.NoError(t, err)
			}
			var wrap func(mpc.Conn) mpc.Conn
			if tc.conn != nil {
				wrap = tc.conn(c)
			}
			nonces = tc.nonces
			res := signWith(keys, signers, bad, tc.edit, wrap)
			nonces = nil
			// No honest party releases a signature. (A malicious signer that
			// sends others a wrong partial signature can still combine its
			// own true one with theirs: the online round's broadcasts are
			// the signature's shares, which no protocol can withhold from a
			// signer.)
			for _, id := range honest {
				assert.Nil(t, res[id].out, "party %d released a result", id)
			}
			detected := 0
			for _, id := range honest {
				var ae *mpc.AbortError
				require.ErrorAs(t, res[id].err, &ae, "party %d", id)
				assert.Equal(t, tc.culprits, ae.Culprits, "party %d: %v", id, res[id].err)
				assert.NotErrorIs(t, res[id].err, round.ErrDeadline, "party %d", id)
				var cp *mpc.Complaint
				if errors.As(res[id].err, &cp) {
					// It learnt of the deviation from the other honest
					// signer, who saw the very message.
					assert.ErrorIs(t, res[id].err, mpc.ErrComplaint)
					assert.NotErrorIs(t, res[id].err, mpc.ErrInvalidComplaint)
					assert.Equal(t, bad, cp.Accused)
					assert.Contains(t, honest, cp.Accuser)
					assert.NotEqual(t, id, cp.Accuser)
					assert.Empty(t, keys[id].Banned(), "party %d banned on another's word", id)
				} else {
					assert.NotEqual(t, tc.complained, id, "party %d cannot have seen the deviation: %v", id, res[id].err)
					for _, s := range tc.sentinels {
						assert.ErrorIs(t, res[id].err, s, "party %d", id)
					}
					detected++
					if tc.banned {
						assert.Equal(t, one, keys[id].Banned(), "party %d", id)
					}
				}
				if !tc.banned {
					assert.Empty(t, keys[id].Banned(), "party %d", id)
				}
				after, err := ecdsa.SessionState(keys[id], bad)
				require.NoError(t, err)
				assert.Equal(t, before[id], after, "party %d's key share changed", id)
			}
			assert.Positive(t, detected, "no honest party detected it itself")
			if tc.complained != 0 {
				var cp *mpc.Complaint
				require.ErrorAs(t, res[tc.complained].err, &cp)
			}
			// The honest parties' shares still sign, with a party that
			// took no part.
			after := []round.PartyID{1, 4, 5}
			res = signWith(keys, after, 0, nil, nil)
			for _, id := range after {
				require.NoError(t, res[id].err, "party %d", id)
				assert.NoError(t, ecdsa.Verify(pub.Bytes(), digest[:], res[id].out.(*ecdsa.Signature)))
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

func sc(v uint64) curve.Scalar { return curve.Secp256k1.ScalarFromUint64(v) }

func scalarPlusOne(b []byte) []byte {
	c := curve.Secp256k1
	s, err := c.DecodeScalar(b)
	if err != nil {
		panic(err)
	}
	return s.Add(c.ScalarFromUint64(1)).Bytes()
}

// swapToFive returns an edit that sends party 5 the round-1 Bob message
// meant for party 1: a multiplication message of another pair.
func swapToFive() func(round.Message) round.Message {
	var toOne []byte
	return func(m round.Message) round.Message {
		if m.Round == 1 && !m.IsBroadcast() {
			switch m.To {
			case 1:
				toOne = m.Payload
			case 5:
				if toOne == nil {
					panic("the message for party 1 comes first")
				}
				m.Payload = toOne
			}
		}
		return m
	}
}

// wireFrame is mpc's frame layout, for a malicious party that rewrites its
// own frames: the session in the clear and the signed envelope.
type wireFrame struct {
	_       struct{} `cbor:",toarray"`
	Session []byte
	Sealed  []byte
}

// tamperConn is a malicious party's connection. Every message its runner
// sends is opened and passed to edit, and what edit returns is resealed
// with the party's own identity key, so it leaves with a valid signature;
// edit may also hold a message back. Every message received is shown to
// seen; when seen returns true the held messages are offered to edit again.
// The runner calls Send and Receive from one goroutine.
type tamperConn struct {
	mpc.Conn
	key  ed25519.PrivateKey
	ring round.Keyring
	edit func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool)
	seen func(m round.Message, echo bool) bool
	held []heldMessage
}

type heldMessage struct {
	to   transport.NodeID
	m    round.Message
	echo bool
}

// tamper returns a wrapper that makes self's Conn a tamperConn.
func (c *cluster) tamper(self round.PartyID, edit func(transport.NodeID, round.Message, bool) (round.Message, bool), seen func(round.Message, bool) bool) func(mpc.Conn) mpc.Conn {
	return func(conn mpc.Conn) mpc.Conn {
		return &tamperConn{Conn: conn, key: c.keys[self], ring: c.keyring(), edit: edit, seen: seen}
	}
}

func (tc *tamperConn) open(payload []byte) (round.Message, bool, error) {
	var f wireFrame
	if err := wire.Unmarshal(payload, &f); err != nil {
		return round.Message{}, false, err
	}
	return round.Open(tc.ring.Key, f.Sealed)
}

func (tc *tamperConn) Send(ctx context.Context, to transport.NodeID, payload []byte) error {
	m, echo, err := tc.open(payload)
	if err != nil {
		return err
	}
	return tc.send(ctx, to, m, echo)
}

func (tc *tamperConn) send(ctx context.Context, to transport.NodeID, m round.Message, echo bool) error {
	m, ok := tc.edit(to, m, echo)
	if !ok {
		tc.held = append(tc.held, heldMessage{to, m, echo})
		return nil
	}
	sealed, err := round.Seal(tc.key, m, echo)
	if err != nil {
		return err
	}
	fr, err := wire.Marshal(wireFrame{Session: m.Session[:], Sealed: sealed})
	if err != nil {
		return err
	}
	return tc.Conn.Send(ctx, to, fr)
}

func (tc *tamperConn) Receive(ctx context.Context) (transport.Frame, error) {
	f, err := tc.Conn.Receive(ctx)
	if err != nil || tc.seen == nil {
		return f, err
	}
	if m, echo, err := tc.open(f.Payload); err == nil && tc.seen(m, echo) {
		held := tc.held
		tc.held = nil
		for _, h := range held {
			if err := tc.send(ctx, h.to, h.m, h.echo); err != nil {
				return f, err
			}
		}
	}
	return f, nil
}

// sumUZero makes bad speak last in the online round: it holds its partial
// signature until it has every honest one, then sends u_bad = −Σ u_j so
// that Σu = 0 (design §4 check 6).
func sumUZero(bad round.PartyID, honest []round.PartyID) func(c *cluster) func(mpc.Conn) mpc.Conn {
	return func(c *cluster) func(mpc.Conn) mpc.Conn {
		us := map[round.PartyID]curve.Scalar{}
		return c.tamper(bad, func(_ transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
			if m.Round != 3 || !m.IsBroadcast() || echo {
				return m, true
			}
			if len(us) < len(honest) {
				return m, false
			}
			sum := curve.Secp256k1.NewScalar()
			for _, u := range us {
				sum = sum.Add(u)
			}
			m.Payload = rewriteField(m.Payload, 3, func([]byte) []byte { return sum.Negate().Bytes() })
			return m, true
		}, func(m round.Message, echo bool) bool {
			if m.Round != 3 || !m.IsBroadcast() || echo || !slices.Contains(honest, m.From) {
				return false
			}
			u, err := curve.Secp256k1.DecodeScalar(payloadField(m.Payload, 3))
			if err != nil {
				panic(err)
			}
			us[m.From] = u
			return len(us) == len(honest)
		})
	}
}

// payloadField returns field i of a toarray payload.
func payloadField(payload []byte, i int) []byte {
	var fields []any
	if err := cbor.Unmarshal(payload[1:], &fields); err != nil {
		panic(err)
	}
	return fields[i].([]byte)
}

// TestKeyShiftOverMemoryTransport is design §4 check 5 with two signers,
// where the sum names the culprit: party 2 signs with a consistently shifted
// key share (its VOLE input and pk_2 agree, so the Γ-checks pass), and party
// 1 aborts at Σ pk_j = pk naming it, with no signature, its share unchanged
// and still good for signing with party 3.
func TestKeyShiftOverMemoryTransport(t *testing.T) {
	if testing.Short() {
		t.Skip("key generation over the transport takes seconds")
	}
	t.Parallel()
	c := newCluster(t, 3)
	c.shares = c.keygen(t, 2)
	pub := c.shares[1].GroupKey()
	digest := sha256.Sum256([]byte("shifted"))
	const bad = round.PartyID(2)
	sign := func(keys map[round.PartyID]*ecdsa.KeyShare, signers []round.PartyID, bad round.PartyID) map[round.PartyID]result {
		sess := session(t, "ecdsa-sign", signers)
		return c.run(t, "ecdsa-sign", sess, signers, bad, func(id round.PartyID) (round.Round, []round.Message, error) {
			return ecdsa.NewSigning(keys[id], ecdsa.SignRequest{Session: sess, Signers: signers, Digest: digest[:]}, ecdsa.Config{})
		})
	}
	before, err := ecdsa.SessionState(c.shares[1], 0)
	require.NoError(t, err)
	keys := map[round.PartyID]*ecdsa.KeyShare{1: c.shares[1], 3: c.shares[3]}
	keys[bad], err = ecdsa.ShiftedShare(c.shares[bad], 7)
	require.NoError(t, err)

	res := sign(keys, []round.PartyID{1, bad}, bad)
	var ae *mpc.AbortError
	require.ErrorAs(t, res[1].err, &ae)
	assert.Equal(t, []round.PartyID{bad}, ae.Culprits, "%v", res[1].err)
	// Party 2's own sum fails too and it blames party 1; its complaint may
	// reach party 1 before party 1's own check, and is then refused as an
	// accusation of party 1's own message, which names party 2 as well.
	assert.True(t, errors.Is(res[1].err, ecdsa.ErrKeyMismatch) || errors.Is(res[1].err, mpc.ErrInvalidComplaint), "%v", res[1].err)
	assert.Nil(t, res[1].out)
	assert.Empty(t, c.shares[1].Banned())
	after, err := ecdsa.SessionState(c.shares[1], 0)
	require.NoError(t, err)
	assert.Equal(t, before, after, "party 1's key share changed")

	res = sign(keys, []round.PartyID{1, 3}, 0)
	for _, id := range []round.PartyID{1, 3} {
		require.NoError(t, res[id].err, "party %d", id)
		assert.NoError(t, ecdsa.Verify(pub.Bytes(), digest[:], res[id].out.(*ecdsa.Signature)))
	}
}
