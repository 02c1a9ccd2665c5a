package mpc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sumProto is a two-round toy protocol: in round 1 every party broadcasts a
// value and sends every peer a direct value; round 2 outputs the sum of all
// it saw. It refuses a payload that is not 8 bytes, blaming the sender.
type sumProto struct {
	self  round.PartyID
	total uint64
	n     uint16
}

func startSum(self round.PartyID, parties []round.PartyID, v uint64) (round.Round, []round.Message) {
	out := []round.Message{{Round: 1, To: round.Broadcast, Payload: be(v)}}
	for _, p := range parties {
		if p != self {
			out = append(out, round.Message{Round: 1, To: p, Payload: be(v * 1000)})
		}
	}
	return &sumProto{self: self, total: v, n: 1}, out
}

func be(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func (s *sumProto) Number() uint16 { return s.n }
func (s *sumProto) Expect() round.Expectation {
	return round.Expectation{Broadcast: true, Direct: true}
}
func (s *sumProto) Store(m round.Message) error {
	if len(m.Payload) != 8 {
		return round.Blame("sum", s.n, round.ErrMalformed, "payload length", m.From)
	}
	s.total += binary.BigEndian.Uint64(m.Payload)
	return nil
}
func (s *sumProto) Finalize() (round.Round, []round.Message, error) {
	return &round.Output{Result: s.total}, nil, nil
}

type cluster struct {
	net     *memory.Network
	parties []round.PartyID
	keys    map[round.PartyID]ed25519.PrivateKey
	peers   []Peer
	session round.SessionID
}

func newCluster(t testing.TB, n int, opts ...memory.Option) *cluster {
	c := &cluster{net: memory.NewNetwork(opts...), keys: map[round.PartyID]ed25519.PrivateKey{}}
	t.Cleanup(func() { c.net.Close() })
	for i := 1; i <= n; i++ {
		id := round.PartyID(i)
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		c.parties = append(c.parties, id)
		c.keys[id] = priv
		c.peers = append(c.peers, Peer{ID: id, Node: node(id), Key: pub})
		c.net.Endpoint(node(id)) // every endpoint exists before anyone sends
	}
	c.session = round.NewSessionID("sum", []byte("k"), c.parties, []byte(t.Name()))
	return c
}

func node(id round.PartyID) transport.NodeID { return transport.NodeID(fmt.Sprintf("signer-%d", id)) }

type result struct {
	out any
	err error
}

// run runs the toy protocol on every party with its own Conn (conns may
// override a party's).
func (c *cluster) run(ctx context.Context, conns map[round.PartyID]Conn, rejected func(round.PartyID, transport.NodeID, error)) map[round.PartyID]result {
	return c.runProto(ctx, "sum", c.session, c.parties, conns, rejected, func(id round.PartyID) (round.Round, []round.Message, error) {
		first, out := startSum(id, c.parties, uint64(id))
		return first, out, nil
	})
}

// runProto runs one session among parties, each started by start.
func (c *cluster) runProto(ctx context.Context, protocol string, sess round.SessionID, parties []round.PartyID,
	conns map[round.PartyID]Conn, rejected func(round.PartyID, transport.NodeID, error),
	start func(round.PartyID) (round.Round, []round.Message, error)) map[round.PartyID]result {
	var peers []Peer
	for _, p := range c.peers {
		if slices.Contains(parties, p.ID) {
			peers = append(peers, p)
		}
	}
	// A malicious party may wait for messages its victims, having aborted,
	// will never send: once every honest party is done, stop it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var honestWG sync.WaitGroup
	var wg sync.WaitGroup
	var mu sync.Mutex
	res := map[round.PartyID]result{}
	for _, id := range parties {
		_, isBad := conns[id].(*tamperConn)
		conn, ok := conns[id]
		if !ok {
			conn = c.net.Endpoint(node(id))
		}
		r := &Runner{Conn: conn, Protocol: protocol, Session: sess, Self: id, Identity: c.keys[id], Peers: peers}
		if rejected != nil {
			r.Rejected = func(from transport.NodeID, err error) { rejected(id, from, err) }
		}
		first, out, err := start(id)
		if err != nil {
			res[id] = result{nil, err}
			continue
		}
		wg.Add(1)
		if !isBad {
			honestWG.Add(1)
		}
		go func() {
			defer wg.Done()
			if !isBad {
				defer honestWG.Done()
			}
			v, err := r.Run(ctx, first, out)
			mu.Lock()
			res[id] = result{v, err}
			mu.Unlock()
		}()
	}
	go func() { honestWG.Wait(); cancel() }()
	wg.Wait()
	return res
}

// want is what party self must output: every value broadcast, plus the
// direct values of its peers.
func (c *cluster) want(self round.PartyID) uint64 {
	var sum uint64
	for _, p := range c.parties {
		sum += uint64(p)
		if p != self {
			sum += uint64(p) * 1000
		}
	}
	return sum
}

func TestRunnerCompletes(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 3, 5, 16} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c := newCluster(t, n)
			ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
			defer cancel()
			for id, r := range c.run(ctx, nil, nil) {
				require.NoError(t, r.err, "party %d", id)
				assert.Equal(t, c.want(id), r.out, "party %d", id)
			}
		})
	}
}

// tamperConn lets a test play a malicious party: every outgoing message is
// opened, passed to rewrite, and resealed with the party's own key, so what
// leaves carries a valid signature of the malicious party.
type tamperConn struct {
	Conn
	c       *cluster
	self    round.PartyID
	rewrite func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool)
}

func (tc *tamperConn) Send(ctx context.Context, to transport.NodeID, payload []byte) error {
	sess, sealed, err := decodeFrame(payload)
	if err != nil {
		return err
	}
	ring := round.Keyring{}
	for _, p := range tc.c.peers {
		ring[p.ID] = p.Key
	}
	m, echo, err := round.Open(ring.Key, sealed)
	if err != nil {
		return err
	}
	m2, send := tc.rewrite(to, m, echo)
	if !send {
		return nil
	}
	resealed, err := round.Seal(tc.c.keys[tc.self], m2, echo)
	if err != nil {
		return err
	}
	fr, err := encodeFrame(sess, resealed)
	if err != nil {
		return err
	}
	return tc.Conn.Send(ctx, to, fr)
}

func assertAbort(t *testing.T, err error, sentinel error, culprits ...round.PartyID) {
	t.Helper()
	var ae *AbortError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, culprits, ae.Culprits, "culprits of %v", err)
	assert.ErrorIs(t, err, sentinel)
}

func TestRunnerCatchesEquivocation(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 4)
	bad := round.PartyID(2)
	conns := map[round.PartyID]Conn{bad: &tamperConn{Conn: c.net.Endpoint(node(bad)), c: c, self: bad,
		rewrite: func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
			if m.IsBroadcast() && !echo && to == node(4) {
				m.Payload = be(99) // party 4 sees a different broadcast from everyone else
			}
			return m, true
		}}}
	ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
	defer cancel()
	res := c.run(ctx, conns, nil)
	for _, id := range []round.PartyID{1, 3, 4} {
		assertAbort(t, res[id].err, round.ErrEquivocation, bad)
		assert.Nil(t, res[id].out)
	}
}

// TestRunnerInvalidBroadcastToOnePeer: a broadcast that is invalid for one
// peer only must not make that peer abort alone (leaving the others to blame
// it for going silent): the echo exposes it first and everyone names the
// sender.
func TestRunnerInvalidBroadcastToOnePeer(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 4)
	bad := round.PartyID(1)
	conns := map[round.PartyID]Conn{bad: &tamperConn{Conn: c.net.Endpoint(node(bad)), c: c, self: bad,
		rewrite: func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
			if m.IsBroadcast() && !echo && to == node(3) {
				m.Payload = []byte{1} // the round refuses this
			}
			return m, true
		}}}
	ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
	defer cancel()
	res := c.run(ctx, conns, nil)
	for _, id := range []round.PartyID{2, 3, 4} {
		assertAbort(t, res[id].err, round.ErrEquivocation, bad)
	}
}

func TestRunnerBlamesForgedEcho(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	bad := round.PartyID(3)
	conns := map[round.PartyID]Conn{bad: &tamperConn{Conn: c.net.Endpoint(node(bad)), c: c, self: bad,
		rewrite: func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
			if echo && to == node(1) {
				entries, err := decodeEcho(m.Payload)
				if err != nil {
					panic(err)
				}
				for i := range entries {
					if entries[i].From == 2 {
						entries[i].Digest = make([]byte, 32) // claim party 2 broadcast something else
					}
				}
				m.Payload = mustMarshalEcho(entries)
			}
			return m, true
		}}}
	ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
	defer cancel()
	res := c.run(ctx, conns, nil)
	assertAbort(t, res[1].err, round.ErrEquivocation, bad)
}

func TestRunnerBlamesRoundRefusal(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	bad := round.PartyID(1)
	conns := map[round.PartyID]Conn{bad: &tamperConn{Conn: c.net.Endpoint(node(bad)), c: c, self: bad,
		rewrite: func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
			if !m.IsBroadcast() {
				m.Payload = []byte{1}
			}
			return m, true
		}}}
	ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
	defer cancel()
	res := c.run(ctx, conns, nil)
	assertAbort(t, res[2].err, round.ErrMalformed, bad)
	assertAbort(t, res[3].err, round.ErrMalformed, bad)
}

func TestRunnerSessionAndMembership(t *testing.T) {
	t.Parallel()
	t.Run("another session", func(t *testing.T) {
		c := newCluster(t, 3)
		bad := round.PartyID(3)
		other := round.NewSessionID("sum", []byte("k"), c.parties, []byte("other"))
		conns := map[round.PartyID]Conn{bad: &tamperConn{Conn: c.net.Endpoint(node(bad)), c: c, self: bad,
			rewrite: func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
				m.Session = other // signed for another session, framed for this one
				return m, true
			}}}
		var mu sync.Mutex
		refused := 0
		ctx, cancel := context.WithTimeout(context.Background(), scaled(300*time.Millisecond))
		defer cancel()
		res := c.run(ctx, conns, func(_ round.PartyID, from transport.NodeID, err error) {
			mu.Lock()
			defer mu.Unlock()
			if from == node(bad) && errors.Is(err, ErrRejected) {
				refused++
			}
		})
		assertAbort(t, res[1].err, round.ErrDeadline, bad)
		assertAbort(t, res[2].err, round.ErrDeadline, bad)
		assert.Positive(t, refused)
	})
	t.Run("non-member", func(t *testing.T) {
		c := newCluster(t, 3)
		// An outsider with its own key sends well-formed frames claiming to
		// be party 1, and frames as an unknown party 9.
		_, outsiderKey, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		outsider := c.net.Endpoint("outsider")
		for _, claim := range []round.PartyID{1, 9} {
			sealed, err := round.Seal(outsiderKey, round.Message{Session: c.session, Round: 1, From: claim, To: round.Broadcast, Payload: be(1 << 40)}, false)
			require.NoError(t, err)
			fr, err := encodeFrame(c.session, sealed)
			require.NoError(t, err)
			for _, p := range c.parties {
				require.NoError(t, outsider.Send(context.Background(), node(p), fr))
			}
		}
		var mu sync.Mutex
		refused := map[round.PartyID]int{}
		ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
		defer cancel()
		res := c.run(ctx, nil, func(self round.PartyID, from transport.NodeID, err error) {
			mu.Lock()
			defer mu.Unlock()
			if from == "outsider" {
				refused[self]++
			}
		})
		for _, p := range c.parties {
			require.NoError(t, res[p].err)
			assert.Equal(t, c.want(p), res[p].out, "the outsider's value was not counted")
			assert.Equal(t, 2, refused[p])
		}
	})
}

func TestRunnerDeadlineNamesSilentParty(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	require.NoError(t, c.net.SetFaults(memory.Link{From: node(2), To: memory.Any}, memory.Faults{Drop: 1}))
	ctx, cancel := context.WithTimeout(context.Background(), scaled(200*time.Millisecond))
	defer cancel()
	res := c.run(ctx, nil, nil)
	assertAbort(t, res[1].err, round.ErrDeadline, 2)
	assertAbort(t, res[3].err, round.ErrDeadline, 2)
	assert.ErrorIs(t, res[1].err, context.DeadlineExceeded)
}

// TestRunnerUnderFaults: with drops, delays, duplicates and reordering on
// every link, every party either gets the right answer or a deadline error;
// never a wrong result, never a hang, and goleak checks nothing is left.
func TestRunnerUnderFaults(t *testing.T) {
	t.Parallel()
	faults := map[string]memory.Faults{
		"duplicate": {Duplicate: 0.5},
		"reorder":   {Reorder: 3, ReorderTimeout: 5 * time.Millisecond},
		"delay":     {Delay: time.Millisecond, Jitter: 3 * time.Millisecond},
		"drop":      {Drop: 0.05},
		"all":       {Drop: 0.02, Duplicate: 0.3, Reorder: 2, ReorderTimeout: 2 * time.Millisecond, Jitter: 2 * time.Millisecond},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			completed, aborted := 0, 0
			for seed := range uint64(10) {
				c := newCluster(t, 4, memory.WithRand(mrand.NewPCG(seed, 7)))
				require.NoError(t, c.net.SetFaults(memory.Link{From: memory.Any, To: memory.Any}, f))
				ctx, cancel := context.WithTimeout(context.Background(), scaled(2*time.Second))
				res := c.run(ctx, nil, nil)
				cancel()
				for id, r := range res {
					if r.err != nil {
						var ae *AbortError
						require.ErrorAs(t, r.err, &ae, "party %d", id)
						require.ErrorIs(t, r.err, round.ErrDeadline, "party %d: only the deadline may stop a faulty run", id)
						aborted++
						continue
					}
					require.Equal(t, c.want(id), r.out, "party %d under %s, seed %d", id, name, seed)
					completed++
				}
				c.net.Close()
			}
			t.Logf("%s: %d party-runs completed, %d hit the deadline", name, completed, aborted)
			if name != "drop" && name != "all" {
				assert.Zero(t, aborted, "lossless faults must not stop a run")
			}
		})
	}
}

func mustMarshalEcho(entries []echoEntry) []byte {
	b, err := wireMarshal(echoBody{Entries: entries})
	if err != nil {
		panic(err)
	}
	return b
}

func FuzzDecodeFrame(f *testing.F) {
	fr, _ := encodeFrame(round.SessionID{1}, []byte("sealed"))
	f.Add(fr)
	echo, _ := wireMarshal(echoBody{Entries: []echoEntry{{From: 1, Digest: make([]byte, 32), Sig: make([]byte, 64)}}})
	f.Add(echo)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = decodeFrame(b)
		if entries, err := decodeEcho(b); err == nil {
			for _, e := range entries {
				if len(e.Digest) != 32 {
					t.Fatal("echo entry with a bad digest accepted")
				}
			}
		}
	})
}
