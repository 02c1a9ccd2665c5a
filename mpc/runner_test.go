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
			mu.Lock() // the parties started before this one may be writing
			res[id] = result{nil, err}
			mu.Unlock()
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

// tamper returns the conns that make party bad a tamperConn with rewrite.
func (c *cluster) tamper(bad round.PartyID, rewrite func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool)) map[round.PartyID]Conn {
	return map[round.PartyID]Conn{bad: &tamperConn{Conn: c.net.Endpoint(node(bad)), c: c, self: bad, rewrite: rewrite}}
}

func (tc *tamperConn) Send(ctx context.Context, to transport.NodeID, payload []byte) error {
	sess, sealed, err := decodeFrame(payload)
	if err != nil {
		return err
	}
	m, echo, err := round.Open(tc.c.keyring().Key, sealed)
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
	conns := c.tamper(bad, func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
		if m.IsBroadcast() && !echo && to == node(4) {
			m.Payload = be(99) // party 4 sees a different broadcast from everyone else
		}
		return m, true
	})
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
	conns := c.tamper(bad, func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
		if m.IsBroadcast() && !echo && to == node(3) {
			m.Payload = []byte{1} // the round refuses this
		}
		return m, true
	})
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
	conns := c.tamper(bad, func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
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
	})
	ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
	defer cancel()
	res := c.run(ctx, conns, nil)
	assertAbort(t, res[1].err, round.ErrEquivocation, bad)
}

func TestRunnerBlamesRoundRefusal(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	bad := round.PartyID(1)
	conns := c.tamper(bad, func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
		if !m.IsBroadcast() {
			m.Payload = []byte{1}
		}
		return m, true
	})
	ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
	defer cancel()
	res := c.run(ctx, conns, nil)
	for _, id := range []round.PartyID{2, 3} {
		// Each honest party names the sender, from its own check or from
		// the other's complaint, whichever comes first.
		var ae *AbortError
		require.ErrorAs(t, res[id].err, &ae)
		assert.Equal(t, []round.PartyID{bad}, ae.Culprits)
		assert.True(t, errors.Is(res[id].err, round.ErrMalformed) || errors.Is(res[id].err, ErrComplaint), "party %d: %v", id, res[id].err)
		assert.NotErrorIs(t, res[id].err, round.ErrDeadline)
	}
}

func TestRunnerSessionAndMembership(t *testing.T) {
	t.Parallel()
	t.Run("another session", func(t *testing.T) {
		c := newCluster(t, 3)
		bad := round.PartyID(3)
		other := round.NewSessionID("sum", []byte("k"), c.parties, []byte("other"))
		conns := c.tamper(bad, func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
			m.Session = other // signed for another session, framed for this one
			return m, true
		})
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

// relayProto is a two-round toy protocol whose first round is direct
// messages only: a party that refuses one in round 1 leaves the others
// waiting in round 2 for a broadcast it will never send. It refuses a
// direct payload that is not 8 bytes, blaming the sender.
type relayProto struct {
	n     uint16
	total uint64
}

func startRelay(self round.PartyID, parties []round.PartyID) (round.Round, []round.Message, error) {
	var out []round.Message
	for _, p := range parties {
		if p != self {
			out = append(out, round.Message{Round: 1, To: p, Payload: be(uint64(self) * 1000)})
		}
	}
	return &relayProto{n: 1}, out, nil
}

func (r *relayProto) Number() uint16 { return r.n }
func (r *relayProto) Expect() round.Expectation {
	return round.Expectation{Direct: r.n == 1, Broadcast: r.n == 2}
}
func (r *relayProto) Store(m round.Message) error {
	if len(m.Payload) != 8 {
		return round.Blame("relay", r.n, round.ErrMalformed, "payload length", m.From)
	}
	r.total += binary.BigEndian.Uint64(m.Payload)
	return nil
}
func (r *relayProto) Finalize() (round.Round, []round.Message, error) {
	if r.n == 2 {
		return &round.Output{Result: r.total}, nil, nil
	}
	return &relayProto{n: 2, total: r.total}, []round.Message{{Round: 2, To: round.Broadcast, Payload: be(r.total)}}, nil
}

func (c *cluster) runRelay(ctx context.Context, conns map[round.PartyID]Conn, skip round.PartyID, rejected func(round.PartyID, transport.NodeID, error)) map[round.PartyID]result {
	return c.runProto(ctx, "relay", c.session, c.parties, conns, rejected, func(id round.PartyID) (round.Round, []round.Message, error) {
		if id == skip {
			return nil, nil, errors.New("not running")
		}
		return startRelay(id, c.parties)
	})
}

// TestRunnerComplaintNamesSender: a direct message that only its recipient
// can see is invalid. The recipient names the sender and complains; the
// other honest party, which would otherwise wait for the recipient until its
// deadline and then blame it, names the sender at once, with the accuser and
// the sender's own signed envelope in the error.
func TestRunnerComplaintNamesSender(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	bad := round.PartyID(1)
	conns := c.tamper(bad, func(to transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
		if m.Round == 1 && to == node(3) {
			m.Payload = []byte{1} // party 3's round refuses this; party 2 never sees it
		}
		return m, true
	})
	// A deadline far beyond the test's running time: an abort that names
	// the right party before it comes is the complaint's doing.
	ctx, cancel := context.WithTimeout(context.Background(), scaled(time.Minute))
	defer cancel()
	res := c.runRelay(ctx, conns, 0, nil)
	assertAbort(t, res[3].err, round.ErrMalformed, bad)
	assert.NotErrorIs(t, res[3].err, ErrComplaint)

	assertAbort(t, res[2].err, ErrComplaint, bad)
	assert.NotErrorIs(t, res[2].err, round.ErrDeadline)
	assert.Nil(t, res[2].out)
	var cp *Complaint
	require.ErrorAs(t, res[2].err, &cp)
	assert.Equal(t, round.PartyID(3), cp.Accuser)
	assert.Equal(t, bad, cp.Accused)
	assert.Equal(t, uint16(1), cp.Round)
	m, err := c.keyring().VerifyEvidence(c.session, cp.Envelope)
	require.NoError(t, err, "the evidence verifies under the accused's key")
	assert.Equal(t, bad, m.From)
	assert.Equal(t, round.PartyID(3), m.To)
	assert.Equal(t, []byte{1}, m.Payload)
}

// TestRunnerComplaintVerification sends the running parties 1 and 2 a
// complaint signed by party 3, which does not run, and checks who they name.
func TestRunnerComplaintVerification(t *testing.T) {
	t.Parallel()
	const accuser = round.PartyID(3)
	other := round.NewSessionID("relay", []byte("k"), []round.PartyID{1, 2, 3}, []byte("another session"))
	// sealed is an envelope signed by signer claiming to come from party
	// from, addressed to party to.
	sealed := func(c *cluster, signer, from, to round.PartyID, sess round.SessionID, rnd uint16, payload []byte) []byte {
		b, err := round.Seal(c.keys[signer], round.Message{Session: sess, Round: rnd, From: from, To: to, Payload: payload}, false)
		require.NoError(t, err)
		return b
	}
	genuine := func(c *cluster) []byte { return sealed(c, 1, 1, accuser, c.session, 1, be(1000)) }
	body := func(env []byte) []byte {
		b, err := wireMarshal(complaintBody{Envelope: env})
		require.NoError(t, err)
		return b
	}
	// verdict is what a running party must name, and why.
	type verdict struct {
		culprits []round.PartyID
		sentinel error
	}
	cases := []struct {
		name string
		// complaint returns the session the accuser signs the complaint
		// for and its payload.
		complaint func(c *cluster) (round.SessionID, []byte)
		// want maps each running party to its culprits and sentinel; nil
		// culprits mean the complaint is refused and the run reaches its
		// deadline for want of party 3.
		want map[round.PartyID]verdict
	}{
		{"valid complaint", func(c *cluster) (round.SessionID, []byte) {
			return c.session, body(genuine(c))
		}, map[round.PartyID]verdict{
			// Party 2 cannot tell a true complaint from a false one and
			// names the accused; party 1 knows its message was the
			// protocol's and names the accuser.
			1: {[]round.PartyID{accuser}, ErrInvalidComplaint},
			2: {[]round.PartyID{1}, ErrComplaint},
		}},
		{"forged envelope", func(c *cluster) (round.SessionID, []byte) {
			return c.session, body(sealed(c, accuser, 1, accuser, c.session, 1, []byte{1}))
		}, map[round.PartyID]verdict{
			1: {[]round.PartyID{accuser}, round.ErrBadSignature},
			2: {[]round.PartyID{accuser}, round.ErrBadSignature},
		}},
		{"enclosed envelope of another session", func(c *cluster) (round.SessionID, []byte) {
			return c.session, body(sealed(c, 1, 1, accuser, other, 1, be(1000)))
		}, map[round.PartyID]verdict{
			1: {[]round.PartyID{accuser}, ErrInvalidComplaint},
			2: {[]round.PartyID{accuser}, ErrInvalidComplaint},
		}},
		{"enclosed message to another party", func(c *cluster) (round.SessionID, []byte) {
			return c.session, body(sealed(c, 1, 1, 2, c.session, 1, be(1000)))
		}, map[round.PartyID]verdict{
			1: {[]round.PartyID{accuser}, ErrInvalidComplaint},
			2: {[]round.PartyID{accuser}, ErrInvalidComplaint},
		}},
		{"enclosed broadcast", func(c *cluster) (round.SessionID, []byte) {
			return c.session, body(sealed(c, 1, 1, round.Broadcast, c.session, 2, be(1000)))
		}, map[round.PartyID]verdict{
			1: {[]round.PartyID{accuser}, ErrInvalidComplaint},
			2: {[]round.PartyID{accuser}, ErrInvalidComplaint},
		}},
		{"undecodable complaint", func(c *cluster) (round.SessionID, []byte) {
			return c.session, []byte{1, 2, 3}
		}, map[round.PartyID]verdict{
			1: {[]round.PartyID{accuser}, round.ErrMalformed},
			2: {[]round.PartyID{accuser}, round.ErrMalformed},
		}},
		{"complaint for another session", func(c *cluster) (round.SessionID, []byte) {
			return other, body(sealed(c, 1, 1, accuser, other, 1, be(1000)))
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, 3)
			c.session = round.NewSessionID("relay", []byte("k"), c.parties, []byte(t.Name()))
			sess, payload := tc.complaint(c)
			complaint, err := round.Seal(c.keys[accuser], round.Message{Session: sess, Round: complaintRound, From: accuser, To: round.Broadcast, Payload: payload}, false)
			require.NoError(t, err)
			fr, err := encodeFrame(c.session, complaint)
			require.NoError(t, err)
			for _, p := range []round.PartyID{1, 2} {
				require.NoError(t, c.net.Endpoint(node(accuser)).Send(context.Background(), node(p), fr))
			}
			var mu sync.Mutex
			refused := map[round.PartyID]int{}
			deadline := time.Minute
			if tc.want == nil {
				deadline = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), scaled(deadline))
			defer cancel()
			res := c.runRelay(ctx, nil, accuser, func(self round.PartyID, from transport.NodeID, err error) {
				mu.Lock()
				defer mu.Unlock()
				if from == node(accuser) && errors.Is(err, ErrRejected) {
					refused[self]++
				}
			})
			for _, p := range []round.PartyID{1, 2} {
				assert.Nil(t, res[p].out)
				if tc.want == nil {
					assertAbort(t, res[p].err, round.ErrDeadline, accuser)
					assert.NotErrorIs(t, res[p].err, ErrComplaint)
					assert.Equal(t, 1, refused[p], "party %d refused the complaint", p)
					continue
				}
				w := tc.want[p]
				assertAbort(t, res[p].err, w.sentinel, w.culprits...)
				assert.NotErrorIs(t, res[p].err, round.ErrDeadline)
				if slices.Equal(w.culprits, []round.PartyID{accuser}) {
					assert.ErrorIs(t, res[p].err, ErrInvalidComplaint)
				}
			}
		})
	}
}

// TestRunnerRefusesRoundZero: round 0 is the complaints' own; a round that
// emits a message for it is a programming error, not a complaint.
func TestRunnerRefusesRoundZero(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2)
	r := &Runner{Conn: c.net.Endpoint(node(1)), Protocol: "zero", Session: c.session, Self: 1, Identity: c.keys[1], Peers: c.peers}
	first, _ := startSum(1, c.parties, 1)
	_, err := r.Run(context.Background(), first, []round.Message{{Round: 0, To: round.Broadcast, Payload: be(1)}})
	require.Error(t, err)
	var ae *AbortError
	assert.False(t, errors.As(err, &ae), "a local error blames nobody")
}

func FuzzComplaint(f *testing.F) {
	c := newCluster(f, 3)
	seal := func(signer, from, to round.PartyID) []byte {
		b, err := round.Seal(c.keys[signer], round.Message{Session: c.session, Round: 1, From: from, To: to, Payload: be(7)}, false)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	for _, env := range [][]byte{seal(1, 1, 3), seal(3, 1, 3), seal(2, 2, 3), seal(1, 1, 2)} {
		b, err := wireMarshal(complaintBody{Envelope: env})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	ring := c.keyring()
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &Runner{Conn: c.net.Endpoint(node(2)), Protocol: "fuzz", Session: c.session, Self: 2, Identity: c.keys[2], Peers: c.peers}
		first, _ := startSum(2, c.parties, 2)
		st, err := r.newRun(context.Background(), first)
		if err != nil {
			t.Fatal(err)
		}
		err = st.onComplaint(round.Message{Session: c.session, From: 3, To: round.Broadcast, Payload: b})
		var ae *AbortError
		if !errors.As(err, &ae) || len(ae.Culprits) != 1 {
			t.Fatalf("complaint %x: %v, want an abort naming one party", b, err)
		}
		if errors.Is(err, ErrInvalidComplaint) {
			if ae.Culprits[0] != 3 {
				t.Fatalf("an invalid complaint names %v, not its complainer", ae.Culprits)
			}
			return
		}
		// Accepted: the accused really signed a direct message of this
		// session to the complainer.
		var cp *Complaint
		if !errors.As(err, &cp) || cp.Accused != ae.Culprits[0] || cp.Accuser != 3 {
			t.Fatalf("accepted complaint without its record: %v", err)
		}
		m, err := ring.VerifyEvidence(c.session, cp.Envelope)
		if err != nil || m.From != cp.Accused || m.To != 3 {
			t.Fatalf("accepted complaint whose evidence does not hold: %v", err)
		}
	})
}
