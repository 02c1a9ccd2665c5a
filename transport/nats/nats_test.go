package nats_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
	"github.com/cairn-mpc/cairn/transport/nats"
	"github.com/cairn-mpc/cairn/transport/nats/natstest"
	"github.com/cairn-mpc/cairn/transport/tcp/devpki"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startServer(t testing.TB, o natstest.Options) *natstest.Server {
	t.Helper()
	s, err := natstest.Start(o)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// refusals collects what one node's e2e layer refused.
type refusals struct{ ch chan *e2e.FrameError }

func (r *refusals) add(e *e2e.FrameError) {
	select {
	case r.ch <- e:
	default:
	}
}

// wait returns the first refusal matching sentinel.
func (r *refusals) wait(t testing.TB, sentinel error) *e2e.FrameError {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-r.ch:
			if errors.Is(e, sentinel) {
				return e
			}
		case <-deadline:
			t.Fatalf("no refusal wrapping %v", sentinel)
			return nil
		}
	}
}

// cluster is nodes on one NATS server, each with its identity.
type cluster struct {
	url   string
	ids   map[transport.NodeID]e2e.Identity
	dir   map[transport.NodeID]e2e.Peer
	nodes map[transport.NodeID]*e2e.Transport
	refs  map[transport.NodeID]*refusals
	errs  map[transport.NodeID]chan error
}

func newCluster(t *testing.T, url string, names []transport.NodeID, edit func(*nats.Config)) *cluster {
	t.Helper()
	c := &cluster{url: url, ids: map[transport.NodeID]e2e.Identity{}, dir: map[transport.NodeID]e2e.Peer{},
		nodes: map[transport.NodeID]*e2e.Transport{}, refs: map[transport.NodeID]*refusals{}, errs: map[transport.NodeID]chan error{}}
	for _, n := range names {
		id, err := e2e.GenerateIdentity(e2e.X25519)
		require.NoError(t, err)
		c.ids[n], c.dir[n] = id, id.Public()
	}
	for _, n := range names {
		tr, err := c.dial(t, n, edit)
		require.NoError(t, err)
		c.nodes[n] = tr
	}
	return c
}

func (c *cluster) dial(t *testing.T, n transport.NodeID, edit func(*nats.Config)) (*e2e.Transport, error) {
	t.Helper()
	r := &refusals{ch: make(chan *e2e.FrameError, 256)}
	errs := make(chan error, 256)
	c.refs[n], c.errs[n] = r, errs
	cfg := nats.Config{
		URL: c.url, Self: n,
		E2E: e2e.Config{Identity: c.ids[n], Peers: c.dir, Rejected: r.add},
		Errors: func(err error) {
			select {
			case errs <- err:
			default:
			}
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	tr, err := nats.Dial(testCtx(t), cfg)
	if err == nil {
		t.Cleanup(func() { tr.Close() })
	}
	return tr, err
}

// drive keeps n's Receive running (refusals happen inside it) and returns
// the frames it accepts.
func (c *cluster) drive(t *testing.T, n transport.NodeID) <-chan transport.Frame {
	t.Helper()
	out := make(chan transport.Frame, 64)
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			f, err := c.nodes[n].Receive(ctx)
			if err != nil {
				return
			}
			select {
			case out <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func next(t *testing.T, ch <-chan transport.Frame) transport.Frame {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame")
		return transport.Frame{}
	}
}

// relay is a plain NATS client on the server, playing a hostile relay.
func relay(t *testing.T, url string) *natsgo.Conn {
	t.Helper()
	nc, err := natsgo.Connect(url, natsgo.NoEcho())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

const sigLen = 64

func TestSubject(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "cairn.node.signer-1", nats.Subject("", "signer-1"))
	assert.Equal(t, "cairn.prod.node.signer-1", nats.Subject("cairn.prod", "signer-1"))
}

func TestDialRefusesBadConfig(t *testing.T) {
	t.Parallel()
	s := startServer(t, natstest.Options{})
	id, err := e2e.GenerateIdentity(e2e.X25519)
	require.NoError(t, err)
	for _, self := range []transport.NodeID{"", "a.b", "a*", ">", "a b"} {
		_, err := nats.Dial(testCtx(t), nats.Config{URL: s.URL(), Self: self, E2E: e2e.Config{Identity: id}})
		assert.ErrorIs(t, err, nats.ErrBadNodeID, "%q", self)
	}
	_, err = nats.Dial(testCtx(t), nats.Config{URL: s.URL(), Self: "a"})
	assert.Error(t, err, "no identity: e2e refuses")
}

// TestRelayTampersAndReplays: a relay subscribed to node-2's subject
// republishes each frame once altered and once verbatim. node-2 accepts
// the original only, refuses the altered copy as tampered and the verbatim
// copy as a replay, naming node-1 both times, and stays up.
func TestRelayTampersAndReplays(t *testing.T) {
	t.Parallel()
	s := startServer(t, natstest.Options{})
	c := newCluster(t, s.URL(), []transport.NodeID{"node-1", "node-2"}, nil)
	r := relay(t, s.URL())
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	sub, err := r.Subscribe(nats.Subject("", "node-2"), func(m *natsgo.Msg) {
		bad := bytes.Clone(m.Data)
		bad[len(bad)-sigLen-3] ^= 0x01 // inside the sealed payload
		_ = r.Publish(m.Subject, bad)
		_ = r.Publish(m.Subject, m.Data)
	})
	require.NoError(t, err)
	require.NoError(t, r.Flush())
	in := c.drive(t, "node-2")

	require.NoError(t, c.nodes["node-1"].Send(testCtx(t), "node-2", []byte("pay 1 BTC to bob")))
	f := next(t, in)
	assert.Equal(t, transport.Frame{From: "node-1", To: "node-2", Payload: []byte("pay 1 BTC to bob")}, f)
	tampered := c.refs["node-2"].wait(t, e2e.ErrTampered)
	assert.Equal(t, transport.NodeID("node-1"), tampered.From)
	assert.Contains(t, tampered.Error(), `"node-1"`)
	replayed := c.refs["node-2"].wait(t, e2e.ErrReplayed)
	assert.Equal(t, transport.NodeID("node-1"), replayed.From)
	require.NoError(t, sub.Unsubscribe())

	require.NoError(t, c.nodes["node-1"].Send(testCtx(t), "node-2", []byte("still up")))
	assert.Equal(t, "still up", string(next(t, in).Payload))
	select {
	case f := <-in:
		t.Fatalf("a relayed copy was accepted: %q", f.Payload)
	default:
	}
}

// TestNoPlaintextOnTheSubjects: a subscriber to every subject sees the
// frames of a conversation about a known secret, and never the secret.
func TestNoPlaintextOnTheSubjects(t *testing.T) {
	t.Parallel()
	s := startServer(t, natstest.Options{})
	names := []transport.NodeID{"node-1", "node-2", "node-3"}
	c := newCluster(t, s.URL(), names, nil)
	spy := relay(t, s.URL())
	var mu sync.Mutex
	var seen [][]byte
	_, err := spy.Subscribe(nats.DefaultPrefix+".>", func(m *natsgo.Msg) {
		mu.Lock()
		seen = append(seen, bytes.Clone(m.Data))
		mu.Unlock()
	})
	require.NoError(t, err)
	require.NoError(t, spy.Flush())

	secret := []byte("SHARE:7f3a9c0d5e21b4a8c6d0e9f1a2b3c4d5")
	ins := map[transport.NodeID]<-chan transport.Frame{}
	for _, n := range names {
		ins[n] = c.drive(t, n)
	}
	ctx := testCtx(t)
	for _, from := range names {
		require.NoError(t, transport.Broadcast(ctx, c.nodes[from], names, secret))
	}
	for _, n := range names {
		for range len(names) - 1 {
			assert.Equal(t, secret, next(t, ins[n]).Payload)
		}
	}
	require.NoError(t, spy.Flush())
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, len(names)*(len(names)-1), "the spy saw every frame")
	for _, p := range seen {
		for i := 0; i+8 <= len(secret); i++ {
			require.False(t, bytes.Contains(p, secret[i:i+8]), "plaintext %q visible on the subject", secret[i:i+8])
		}
	}
}

// TestForgedAndGarbageFrames: what any NATS client can publish on a node's
// subject, plaintext, garbage, or a frame sealed with a key outside the
// directory, is refused, and the node stays up.
func TestForgedAndGarbageFrames(t *testing.T) {
	t.Parallel()
	s := startServer(t, natstest.Options{})
	c := newCluster(t, s.URL(), []transport.NodeID{"node-1", "node-2"}, nil)
	in := c.drive(t, "node-2")
	r := relay(t, s.URL())
	subj := nats.Subject("", "node-2")

	require.NoError(t, r.Publish(subj, []byte("plaintext, claiming to be node-1")))
	assert.Equal(t, transport.NodeID(""), c.refs["node-2"].wait(t, e2e.ErrMalformed).From)
	require.NoError(t, r.Publish(subj, []byte{}))
	c.refs["node-2"].wait(t, e2e.ErrMalformed)

	// mallory has a key, and seals properly, but is not in the directory.
	mallory, err := e2e.GenerateIdentity(e2e.X25519)
	require.NoError(t, err)
	dir := map[transport.NodeID]e2e.Peer{"node-2": c.dir["node-2"]}
	tr, err := nats.Dial(testCtx(t), nats.Config{URL: s.URL(), Self: "mallory", E2E: e2e.Config{Identity: mallory, Peers: dir}})
	require.NoError(t, err)
	defer tr.Close()
	require.NoError(t, tr.Send(testCtx(t), "node-2", []byte("let me in")))
	assert.Equal(t, transport.NodeID("mallory"), c.refs["node-2"].wait(t, e2e.ErrUnknownSender).From)

	// mallory again, now claiming node-1's name with its own key.
	imp, err := nats.Dial(testCtx(t), nats.Config{URL: s.URL(), Self: "node-1", Prefix: "elsewhere", E2E: e2e.Config{Identity: mallory, Peers: dir}})
	require.NoError(t, err)
	defer imp.Close()
	fr, err := imp.Seal("node-2", []byte("I am node-1"))
	require.NoError(t, err)
	require.NoError(t, r.Publish(subj, fr))
	assert.Equal(t, transport.NodeID("node-1"), c.refs["node-2"].wait(t, e2e.ErrTampered).From)

	require.NoError(t, c.nodes["node-1"].Send(testCtx(t), "node-2", []byte("real")))
	assert.Equal(t, "real", string(next(t, in).Payload))
}

func TestOversized(t *testing.T) {
	t.Parallel()
	s := startServer(t, natstest.Options{MaxPayload: 64 << 10})
	c := newCluster(t, s.URL(), []transport.NodeID{"node-1", "node-2"}, nil)
	err := c.nodes["node-1"].Send(testCtx(t), "node-2", make([]byte, 64<<10))
	assert.ErrorIs(t, err, transport.ErrFrameTooLarge)
	require.NoError(t, c.nodes["node-1"].Send(testCtx(t), "node-2", make([]byte, 60<<10)))
	f, err := c.nodes["node-2"].Receive(testCtx(t))
	require.NoError(t, err)
	assert.Len(t, f.Payload, 60<<10)
}

// TestSlowConsumer: a node that does not read loses frames beyond its
// inbox bound (reported), and reads normally afterwards.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	s := startServer(t, natstest.Options{})
	c := newCluster(t, s.URL(), []transport.NodeID{"node-1", "node-2"}, func(cfg *nats.Config) { cfg.InboxSize = 8 })
	r := relay(t, s.URL())
	for range 200 {
		require.NoError(t, r.Publish(nats.Subject("", "node-2"), make([]byte, 1024)))
	}
	require.NoError(t, r.Flush())
	select {
	case err := <-c.errs["node-2"]:
		assert.ErrorIs(t, err, natsgo.ErrSlowConsumer)
	case <-time.After(10 * time.Second):
		t.Fatal("slow consumer not reported")
	}
	in := c.drive(t, "node-2")
	require.NoError(t, c.nodes["node-1"].Send(testCtx(t), "node-2", []byte("after the flood")))
	assert.Equal(t, "after the flood", string(next(t, in).Payload))
}

// TestReconnect: frames sent while the server is down wait in the bounded
// reconnect buffer (Send blocks when it is full) and flow again once a
// server is back on the same address.
func TestReconnect(t *testing.T) {
	t.Parallel()
	s := startServer(t, natstest.Options{})
	port := s.Port()
	edit := func(cfg *nats.Config) { cfg.ReconnectWait, cfg.ReconnectBufSize = 20*time.Millisecond, 16<<10 }
	c := newCluster(t, s.URL(), []transport.NodeID{"node-1", "node-2"}, edit)
	in := c.drive(t, "node-2")
	require.NoError(t, c.nodes["node-1"].Send(testCtx(t), "node-2", []byte("before")))
	assert.Equal(t, "before", string(next(t, in).Payload))

	s.Close()
	// The buffer holds a few frames, then Send waits for room.
	blocked := false
	for range 100 {
		ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
		err := c.nodes["node-1"].Send(ctx, "node-2", make([]byte, 4<<10))
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			blocked = true
			break
		}
		require.NoError(t, err)
	}
	assert.True(t, blocked, "Send never blocked on a full reconnect buffer")

	s2 := startServer(t, natstest.Options{Port: port})
	_ = s2
	ctx := testCtx(t)
	for i := 0; ; i++ {
		require.NoError(t, c.nodes["node-1"].Send(ctx, "node-2", []byte("after")))
		select {
		case f := <-in:
			if string(f.Payload) == "after" {
				return
			}
		case <-time.After(100 * time.Millisecond):
		}
		require.Less(t, i, 100, "never reconnected")
	}
}

// TestMutualTLS: against a server that requires client certificates from
// its CA, a node with one connects and talks; a node without one, or with
// one from another CA, cannot connect.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	ca, err := devpki.NewCA("nats-test")
	require.NoError(t, err)
	srvCert, err := ca.Issue("nats-server", devpki.NodeOptions{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	require.NoError(t, err)
	s := startServer(t, natstest.Options{TLS: &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{srvCert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(),
	}})
	clientTLS := func(id transport.NodeID, issuer *devpki.CA) *tls.Config {
		cert, err := issuer.Issue(id)
		require.NoError(t, err)
		return &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}}
	}
	c := newCluster(t, s.URL(), nil, nil)
	for _, n := range []transport.NodeID{"node-1", "node-2"} {
		id, err := e2e.GenerateIdentity(e2e.X25519)
		require.NoError(t, err)
		c.ids[n], c.dir[n] = id, id.Public()
	}
	for _, n := range []transport.NodeID{"node-1", "node-2"} {
		tr, err := c.dial(t, n, func(cfg *nats.Config) { cfg.TLS = clientTLS(n, ca) })
		require.NoError(t, err)
		c.nodes[n] = tr
	}
	require.NoError(t, c.nodes["node-1"].Send(testCtx(t), "node-2", []byte("over mTLS")))
	f, err := c.nodes["node-2"].Receive(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "over mTLS", string(f.Payload))

	other, err := devpki.NewCA("other")
	require.NoError(t, err)
	noCert := func(cfg *nats.Config) { cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: ca.Pool()} }
	foreign := func(cfg *nats.Config) { cfg.TLS = clientTLS("node-3", other) }
	plain := func(cfg *nats.Config) { cfg.URL = fmt.Sprintf("nats://127.0.0.1:%d", s.Port()) }
	for name, edit := range map[string]func(*nats.Config){"no client certificate": noCert, "foreign CA": foreign, "no TLS": plain} {
		c.ids["node-3"], c.dir["node-3"] = c.ids["node-1"], c.dir["node-1"]
		_, err := c.dial(t, "node-3", edit)
		assert.Error(t, err, name)
	}
}

func TestCloseUnblocksAndIsFinal(t *testing.T) {
	t.Parallel()
	s := startServer(t, natstest.Options{})
	c := newCluster(t, s.URL(), []transport.NodeID{"node-1", "node-2"}, nil)
	errc := make(chan error, 1)
	go func() { _, err := c.nodes["node-2"].Receive(context.Background()); errc <- err }()
	require.NoError(t, c.nodes["node-2"].Close())
	assert.ErrorIs(t, <-errc, transport.ErrClosed)
	assert.ErrorIs(t, c.nodes["node-2"].Send(testCtx(t), "node-1", nil), transport.ErrClosed)
	assert.NoError(t, c.nodes["node-2"].Close())
}
