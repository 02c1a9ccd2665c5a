package tcp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/tcp"
	"github.com/cairn-mpc/cairn/transport/tcp/devpki"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// errSink collects a node's connection errors.
type errSink struct{ ch chan *tcp.ConnError }

func newSink() *errSink { return &errSink{ch: make(chan *tcp.ConnError, 1024)} }

func (s *errSink) add(e *tcp.ConnError) {
	select {
	case s.ch <- e:
	default:
	}
}

// wait returns the first error matching pred, failing the test if none
// comes in time.
func (s *errSink) wait(t testing.TB, pred func(*tcp.ConnError) bool) *tcp.ConnError {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-s.ch:
			if pred(e) {
				return e
			}
		case <-deadline:
			t.Fatal("expected connection error did not come")
			return nil
		}
	}
}

func is(sentinel error) func(*tcp.ConnError) bool {
	return func(e *tcp.ConnError) bool { return errors.Is(e, sentinel) }
}

// net3 is a CA and nodes node-1..node-n on loopback, each knowing all.
type testNet struct {
	ca    *devpki.CA
	nodes map[transport.NodeID]*tcp.Transport
	errs  map[transport.NodeID]*errSink
}

func newNet(t *testing.T, n int, edit func(*tcp.Config)) *testNet {
	t.Helper()
	ca, err := devpki.NewCA("tcp-test")
	require.NoError(t, err)
	tn := &testNet{ca: ca, nodes: map[transport.NodeID]*tcp.Transport{}, errs: map[transport.NodeID]*errSink{}}
	peers := map[transport.NodeID]string{}
	for i := 1; i <= n; i++ {
		peers[transport.NodeID(fmt.Sprintf("node-%d", i))] = ""
	}
	for id := range peers {
		tn.start(t, id, peers, "127.0.0.1:0", edit)
	}
	for _, a := range tn.nodes {
		for _, b := range tn.nodes {
			a.SetPeer(b.Self(), b.Addr().String())
		}
	}
	return tn
}

func (tn *testNet) start(t *testing.T, id transport.NodeID, peers map[transport.NodeID]string, addr string, edit func(*tcp.Config)) *tcp.Transport {
	t.Helper()
	cert, err := tn.ca.Issue(id)
	require.NoError(t, err)
	sink := newSink()
	cfg := tcp.Config{Self: id, Listen: addr, Peers: peers, Certificate: cert, CA: tn.ca.Pool(), Errors: sink.add}
	if edit != nil {
		edit(&cfg)
	}
	tr, err := tcp.Listen(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	tn.nodes[id], tn.errs[id] = tr, sink
	return tr
}

func recv(t *testing.T, tr *tcp.Transport) transport.Frame {
	t.Helper()
	f, err := tr.Receive(testCtx(t))
	require.NoError(t, err)
	return f
}

// rawClient plays a peer by hand: TLS with the given certificate (none if
// nil), then whatever the test writes.
type rawClient struct {
	c *tls.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string, cert *tls.Certificate, cfgEdit func(*tls.Config)) (*rawClient, error) {
	t.Helper()
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	if cfgEdit != nil {
		cfgEdit(cfg)
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{c: c, r: bufio.NewReader(c)}, nil
}

func (rc *rawClient) write(kind byte, data []byte) error {
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)+1))
	hdr[4] = kind
	_, err := rc.c.Write(append(hdr[:], data...))
	return err
}

func (rc *rawClient) hello(t *testing.T, from, to transport.NodeID) error {
	t.Helper()
	h, err := tcp.EncodeHello(from, to)
	require.NoError(t, err)
	if err := rc.write(tcp.KindHello, h); err != nil {
		return err
	}
	return rc.readHello()
}

// readHello reads the acceptor's hello; an error means it refused us.
func (rc *rawClient) readHello() error {
	var hdr [4]byte
	if _, err := io.ReadFull(rc.r, hdr[:]); err != nil {
		return err
	}
	buf := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(rc.r, buf); err != nil {
		return err
	}
	if buf[0] != tcp.KindHello {
		return fmt.Errorf("kind %q", buf[0])
	}
	_, err := tcp.DecodeHello(buf[1:])
	return err
}

func TestListenChecksOwnCertificate(t *testing.T) {
	t.Parallel()
	ca, err := devpki.NewCA("c")
	require.NoError(t, err)
	cert, err := ca.Issue("node-2")
	require.NoError(t, err)
	_, err = tcp.Listen(tcp.Config{Self: "node-1", Listen: "127.0.0.1:0", Certificate: cert, CA: ca.Pool()})
	assert.ErrorIs(t, err, tcp.ErrIdentity)
	_, err = tcp.Listen(tcp.Config{Self: "node-1", Listen: "127.0.0.1:0", CA: ca.Pool()})
	assert.Error(t, err)
}

func TestNodeID(t *testing.T) {
	t.Parallel()
	for _, id := range []transport.NodeID{"signer-1", "a b/c:d%e", "ünï"} {
		u := tcp.NodeURI(id)
		got, err := tcp.NodeID(&x509.Certificate{URIs: []*url.URL{u}})
		require.NoError(t, err)
		assert.Equal(t, id, got)
	}
	two := &x509.Certificate{URIs: []*url.URL{tcp.NodeURI("a"), tcp.NodeURI("b")}}
	_, err := tcp.NodeID(two)
	assert.ErrorIs(t, err, tcp.ErrIdentity)
	_, err = tcp.NodeID(&x509.Certificate{Subject: x509.Certificate{}.Subject})
	assert.ErrorIs(t, err, tcp.ErrIdentity)
}

// TestRefusedPeers: every way of connecting without a valid identity is
// refused by the acceptor, which names the reason and stays up.
func TestRefusedPeers(t *testing.T) {
	t.Parallel()
	tn := newNet(t, 2, nil)
	srv := tn.nodes["node-1"]
	addr := srv.Addr().String()
	otherCA, err := devpki.NewCA("other")
	require.NoError(t, err)
	foreign, err := otherCA.Issue("node-2")
	require.NoError(t, err)
	expired, err := tn.ca.Issue("node-2", devpki.NodeOptions{NotAfter: time.Now().Add(-time.Minute)})
	require.NoError(t, err)
	stranger, err := tn.ca.Issue("mallory")
	require.NoError(t, err)
	noURI, err := tn.ca.Issue("node-2", devpki.NodeOptions{URIs: []*url.URL{}})
	require.NoError(t, err)
	twoURIs, err := tn.ca.Issue("node-2", devpki.NodeOptions{URIs: []*url.URL{tcp.NodeURI("node-2"), tcp.NodeURI("node-3")}})
	require.NoError(t, err)
	node2, err := tn.ca.Issue("node-2")
	require.NoError(t, err)

	cases := []struct {
		name     string
		cert     *tls.Certificate
		edit     func(*tls.Config)
		from, to transport.NodeID
		sentinel error
	}{
		{"no client certificate", nil, nil, "node-2", "node-1", tcp.ErrHandshake},
		{"certificate from another CA", &foreign, nil, "node-2", "node-1", tcp.ErrHandshake},
		{"expired certificate", &expired, nil, "node-2", "node-1", tcp.ErrHandshake},
		{"certificate of an unknown node", &stranger, nil, "mallory", "node-1", tcp.ErrIdentity},
		{"certificate naming no node", &noURI, nil, "node-2", "node-1", tcp.ErrIdentity},
		{"certificate naming two nodes", &twoURIs, nil, "node-2", "node-1", tcp.ErrIdentity},
		{"presenting another node's id", &node2, nil, "node-3", "node-1", tcp.ErrIdentity},
		{"hello addressed elsewhere", &node2, nil, "node-2", "node-9", tcp.ErrIdentity},
		{"TLS 1.2", &node2, func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS12, tls.VersionTLS12 }, "node-2", "node-1", tcp.ErrHandshake},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := dialRaw(t, addr, tc.cert, tc.edit)
			if err == nil {
				err = rc.hello(t, tc.from, tc.to)
			}
			assert.Error(t, err, "the acceptor must refuse")
			tn.errs["node-1"].wait(t, is(tc.sentinel))
		})
	}

	// The node is still up and serves a legitimate peer.
	require.NoError(t, tn.nodes["node-2"].Send(testCtx(t), "node-1", []byte("still here")))
	assert.Equal(t, "still here", string(recv(t, srv).Payload))
}

// TestDiallerChecksServerIdentity: a listener at node-3's address that
// presents node-2's certificate is refused by the dialler.
func TestDiallerChecksServerIdentity(t *testing.T) {
	t.Parallel()
	tn := newNet(t, 3, func(c *tcp.Config) { c.MinBackoff, c.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond })
	a := tn.nodes["node-1"]
	a.SetPeer("node-3", tn.nodes["node-2"].Addr().String())
	require.NoError(t, a.Send(testCtx(t), "node-3", []byte("for node-3 only")))
	e := tn.errs["node-1"].wait(t, is(tcp.ErrIdentity))
	assert.Equal(t, transport.NodeID("node-3"), e.Peer)

	short, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	_, err := tn.nodes["node-2"].Receive(short)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "node-2 must not get node-3's frame")
}

// TestGarbageAndOversized: non-TLS bytes, a frame over the limit and a
// framing violation each cost the sender its connection, with a typed
// error; the node stays up.
func TestGarbageAndOversized(t *testing.T) {
	t.Parallel()
	tn := newNet(t, 2, func(c *tcp.Config) { c.MaxFrameSize = 1024 })
	srv := tn.nodes["node-1"]
	addr := srv.Addr().String()
	node2, err := tn.ca.Issue("node-2")
	require.NoError(t, err)

	t.Run("garbage instead of TLS", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\x16\x03"))
		tn.errs["node-1"].wait(t, is(tcp.ErrHandshake))
	})
	t.Run("oversized frame", func(t *testing.T) {
		rc, err := dialRaw(t, addr, &node2, nil)
		require.NoError(t, err)
		require.NoError(t, rc.hello(t, "node-2", "node-1"))
		var hdr [5]byte
		binary.BigEndian.PutUint32(hdr[:4], 1<<30) // claims 1 GiB; nothing follows
		hdr[4] = tcp.KindData
		_, err = rc.c.Write(hdr[:])
		require.NoError(t, err)
		e := tn.errs["node-1"].wait(t, is(transport.ErrFrameTooLarge))
		assert.Equal(t, transport.NodeID("node-2"), e.Peer)
		_, err = rc.r.ReadByte() // dropped: keepalives stop, EOF comes
		for err == nil {
			_, err = rc.r.ReadByte()
		}
	})
	t.Run("empty frame", func(t *testing.T) {
		rc, err := dialRaw(t, addr, &node2, nil)
		require.NoError(t, err)
		require.NoError(t, rc.hello(t, "node-2", "node-1"))
		_, err = rc.c.Write([]byte{0, 0, 0, 0})
		require.NoError(t, err)
		tn.errs["node-1"].wait(t, is(tcp.ErrProtocol))
	})
	t.Run("second hello", func(t *testing.T) {
		rc, err := dialRaw(t, addr, &node2, nil)
		require.NoError(t, err)
		require.NoError(t, rc.hello(t, "node-2", "node-1"))
		h, _ := tcp.EncodeHello("node-2", "node-1")
		require.NoError(t, rc.write(tcp.KindHello, h))
		tn.errs["node-1"].wait(t, is(tcp.ErrProtocol))
	})
	t.Run("Send refuses oversized", func(t *testing.T) {
		err := tn.nodes["node-2"].Send(testCtx(t), "node-1", make([]byte, 1025))
		assert.ErrorIs(t, err, transport.ErrFrameTooLarge)
	})

	require.NoError(t, tn.nodes["node-2"].Send(testCtx(t), "node-1", make([]byte, 1024)))
	assert.Len(t, recv(t, srv).Payload, 1024)
}

// TestHalfOpen: a peer that completes the handshake and then goes silent
// is dropped after three keepalive intervals, on either side.
func TestHalfOpen(t *testing.T) {
	t.Parallel()
	const ka = 50 * time.Millisecond
	tn := newNet(t, 2, func(c *tcp.Config) { c.KeepAlive = ka })
	node2, err := tn.ca.Issue("node-2")
	require.NoError(t, err)

	t.Run("silent dialler", func(t *testing.T) {
		rc, err := dialRaw(t, tn.nodes["node-1"].Addr().String(), &node2, nil)
		require.NoError(t, err)
		require.NoError(t, rc.hello(t, "node-2", "node-1"))
		e := tn.errs["node-1"].wait(t, is(os.ErrDeadlineExceeded))
		assert.Equal(t, transport.NodeID("node-2"), e.Peer)
	})

	t.Run("silent acceptor", func(t *testing.T) {
		// A listener with node-2's identity that answers the hello and then
		// never writes again.
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
			MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{node2},
			ClientAuth: tls.RequireAnyClientCert,
		})
		require.NoError(t, err)
		defer ln.Close()
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			rc := &rawClient{c: c.(*tls.Conn), r: bufio.NewReader(c)}
			if rc.readHello() != nil {
				return
			}
			h, _ := tcp.EncodeHello("node-2", "node-1")
			_ = rc.write(tcp.KindHello, h)
			_, _ = io.Copy(io.Discard, c) // read forever, write nothing
		})
		tn.nodes["node-1"].SetPeer("node-2", ln.Addr().String())
		require.NoError(t, tn.nodes["node-1"].Send(testCtx(t), "node-2", []byte("into the void")))
		e := tn.errs["node-1"].wait(t, func(e *tcp.ConnError) bool {
			return errors.Is(e, os.ErrDeadlineExceeded) && e.Remote == ln.Addr().String()
		})
		assert.Equal(t, transport.NodeID("node-2"), e.Peer)
		ln.Close()
	})
}

// TestSlowReader: a receiver whose application does not call Receive stops
// reading its socket once its inbox is full; the sender's writes stall, time
// out and are reported, and the connection is redialled, with at most one
// connection (and one frame) held per peer. Once the application reads
// again, frames flow.
func TestSlowReader(t *testing.T) {
	t.Parallel()
	tn := newNet(t, 2, func(c *tcp.Config) {
		c.InboxSize, c.QueueSize, c.WriteTimeout = 2, 2, 100*time.Millisecond
		c.MinBackoff, c.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	})
	a, b := tn.nodes["node-1"], tn.nodes["node-2"]
	payload := make([]byte, 256<<10)
	sent := 0
	for sent < 200 {
		ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
		err := a.Send(ctx, "node-2", payload)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		require.NoError(t, err)
		sent++
		select {
		case e := <-tn.errs["node-1"].ch:
			if errors.Is(e, os.ErrDeadlineExceeded) {
				sent = 200 // the stalled write timed out: seen enough
			}
		default:
		}
	}

	// The application reads again: frames flow (some were lost with the
	// dropped connections, which the contract allows).
	got := make(chan string, 1)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	go func() {
		for {
			f, err := b.Receive(ctx)
			if err != nil {
				return
			}
			if len(f.Payload) < 100 {
				select {
				case got <- string(f.Payload):
				default:
				}
			}
		}
	}()
	for i := 0; ; i++ {
		require.NoError(t, a.Send(ctx, "node-2", []byte("wake up")))
		select {
		case s := <-got:
			assert.Equal(t, "wake up", s)
			return
		case <-time.After(100 * time.Millisecond):
		}
		require.Less(t, i, 100, "frames never flowed again")
	}
}

// TestBackpressure: a peer that keeps its connection alive but does not
// read makes Send block once the socket buffers and the queue are full,
// until ctx ends; the stalled write then times out and is reported, and
// sends to other peers are unaffected.
// TestSlowPeerDoesNotReadAtAll: a peer that accepts and answers but never
// reads makes our writes time out; we report it and keep serving others.
func TestBackpressure(t *testing.T) {
	t.Parallel()
	tn := newNet(t, 3, func(c *tcp.Config) {
		c.WriteTimeout, c.KeepAlive, c.QueueSize = 2*time.Second, 500*time.Millisecond, 2
	})
	node2, err := tn.ca.Issue("node-2")
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{node2}, ClientAuth: tls.RequireAnyClientCert})
	require.NoError(t, err)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	defer close(stop)
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		rc := &rawClient{c: c.(*tls.Conn), r: bufio.NewReader(c)}
		if rc.readHello() != nil {
			return
		}
		h, _ := tcp.EncodeHello("node-2", "node-1")
		_ = rc.write(tcp.KindHello, h)
		tick := time.NewTicker(10 * time.Millisecond) // keepalives, so we are not "silent"
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if rc.write(tcp.KindKeepalive, nil) != nil {
					return
				}
			}
		}
	})
	a := tn.nodes["node-1"]
	a.SetPeer("node-2", ln.Addr().String())
	big := make([]byte, 512<<10)
	blocked := false
	for i := 0; i < 200 && !blocked; i++ {
		ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
		err := a.Send(ctx, "node-2", big)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			blocked = true
			break
		}
		require.NoError(t, err)
	}
	require.True(t, blocked, "Send never blocked")
	tn.errs["node-1"].wait(t, func(e *tcp.ConnError) bool {
		var op *net.OpError
		return errors.As(e, &op) && op.Op == "write" && errors.Is(e, os.ErrDeadlineExceeded)
	})
	require.NoError(t, a.Send(testCtx(t), "node-3", []byte("others unaffected")))
	assert.Equal(t, "others unaffected", string(recv(t, tn.nodes["node-3"]).Payload))
}

// TestReconnect: a peer that restarts on the same address is reached again
// without intervention.
func TestReconnect(t *testing.T) {
	t.Parallel()
	edit := func(c *tcp.Config) { c.MinBackoff, c.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond }
	tn := newNet(t, 2, edit)
	a, b := tn.nodes["node-1"], tn.nodes["node-2"]
	ctx := testCtx(t)
	require.NoError(t, a.Send(ctx, "node-2", []byte("before")))
	assert.Equal(t, "before", string(recv(t, b).Payload))

	addr := b.Addr().String()
	require.NoError(t, b.Close())
	peers := map[transport.NodeID]string{"node-1": a.Addr().String(), "node-2": addr}
	// Frames sent while node-2 is down wait in the queue (or are lost with
	// the dead connection); keep sending until one arrives.
	var b2 *tcp.Transport
	for i := 0; ; i++ {
		require.NoError(t, a.Send(ctx, "node-2", fmt.Appendf(nil, "after %d", i)))
		if i == 3 {
			b2 = tn.start(t, "node-2", peers, addr, edit)
		}
		if b2 != nil {
			short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			f, err := b2.Receive(short)
			cancel()
			if err == nil {
				assert.Contains(t, string(f.Payload), "after")
				return
			}
		}
		require.NoError(t, ctx.Err(), "never reconnected")
	}
}

// TestUnreachablePeerFramesExpire: a peer that never comes up costs at
// most FrameTTL of blocking once its queue is full.
func TestUnreachablePeerFramesExpire(t *testing.T) {
	t.Parallel()
	tn := newNet(t, 1, func(c *tcp.Config) {
		c.QueueSize, c.FrameTTL = 2, 100*time.Millisecond
		c.MinBackoff, c.MaxBackoff = 10*time.Millisecond, 20*time.Millisecond
	})
	a := tn.nodes["node-1"]
	a.SetPeer("ghost", "127.0.0.1:1") // nothing listens there
	for i := range 10 {
		require.NoError(t, a.Send(testCtx(t), "ghost", []byte{byte(i)}), "frame %d", i)
	}
	tn.errs["node-1"].wait(t, is(tcp.ErrHandshake))
}

// TestCloseStopsEverything: Close returns with sends blocked, dials in
// backoff and connections open, and leaves no goroutine behind (goleak in
// TestMain checks the whole package).
func TestCloseStopsEverything(t *testing.T) {
	t.Parallel()
	tn := newNet(t, 3, func(c *tcp.Config) { c.QueueSize = 1 })
	a := tn.nodes["node-1"]
	a.SetPeer("ghost", "127.0.0.1:1")
	ctx := testCtx(t)
	require.NoError(t, a.Send(ctx, "node-2", []byte("x")))
	recv(t, tn.nodes["node-2"])
	errc := make(chan error, 4)
	for range 3 {
		go func() { errc <- a.Send(ctx, "ghost", []byte("y")) }()
	}
	go func() { _, err := a.Receive(ctx); errc <- err }()
	require.NoError(t, a.Close())
	for range 4 {
		if err := <-errc; err != nil {
			assert.ErrorIs(t, err, transport.ErrClosed)
		}
	}
	assert.NoError(t, a.Close(), "Close is idempotent")
	assert.ErrorIs(t, a.Send(ctx, "node-2", nil), transport.ErrClosed)
}

func TestSendToSelf(t *testing.T) {
	t.Parallel()
	tn := newNet(t, 1, nil)
	a := tn.nodes["node-1"]
	require.NoError(t, a.Send(testCtx(t), "node-1", []byte("me")))
	assert.Equal(t, transport.Frame{From: "node-1", To: "node-1", Payload: []byte("me")}, recv(t, a))
}

// flipProxy forwards TCP between a dialler and a listener, flipping one bit
// in every chunk from the dialler once armed.
type flipProxy struct {
	ln    net.Listener
	to    string
	armed chan struct{}
	wg    sync.WaitGroup
}

func newFlipProxy(t *testing.T, to string) *flipProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &flipProxy{ln: ln, to: to, armed: make(chan struct{})}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Go(func() { defer up.Close(); defer c.Close(); _, _ = io.Copy(c, up) })
			p.wg.Go(func() {
				defer up.Close()
				defer c.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						select {
						case <-p.armed:
							buf[n/2] ^= 0x10
						default:
						}
						if _, werr := up.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

// TestTamperingProxy: bytes altered between two nodes never reach the
// receiver's application: TLS refuses the record, the connection is dropped
// and reported, and once the path is clean again frames flow.
func TestTamperingProxy(t *testing.T) {
	t.Parallel()
	tn := newNet(t, 2, func(c *tcp.Config) { c.MinBackoff, c.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond })
	a, b := tn.nodes["node-1"], tn.nodes["node-2"]
	p := newFlipProxy(t, b.Addr().String())
	a.SetPeer("node-2", p.ln.Addr().String())
	ctx := testCtx(t)
	require.NoError(t, a.Send(ctx, "node-2", []byte("clean")))
	assert.Equal(t, "clean", string(recv(t, b).Payload))

	close(p.armed)
	for i := range 5 {
		require.NoError(t, a.Send(ctx, "node-2", fmt.Appendf(nil, "tampered %d", i)))
	}
	e := tn.errs["node-2"].wait(t, func(e *tcp.ConnError) bool { return e.Peer == "node-1" })
	assert.Error(t, e.Err)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	f, err := b.Receive(short)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a tampered frame was delivered: %q", f.Payload)

	// The path is clean again (straight to node-2): frames flow.
	a.SetPeer("node-2", b.Addr().String())
	for i := 0; ; i++ {
		require.NoError(t, a.Send(ctx, "node-2", []byte("clean again")))
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		f, err := b.Receive(short)
		cancel()
		if err == nil {
			assert.Equal(t, "clean again", string(f.Payload))
			return
		}
		require.Less(t, i, 100, "frames never flowed again")
	}
}

func TestPeerWithoutAddress(t *testing.T) {
	t.Parallel()
	tn := newNet(t, 2, nil)
	a := tn.nodes["node-1"]
	a.SetPeer("node-3", "")
	assert.ErrorIs(t, a.Send(testCtx(t), "node-3", []byte("x")), transport.ErrUnknownNode)
	assert.ErrorIs(t, a.Send(testCtx(t), "node-4", []byte("x")), transport.ErrUnknownNode)
}
