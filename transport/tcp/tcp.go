// Package tcp is a transport.Transport over TCP with mutual TLS 1.3.
//
// Each node listens for its peers and dials them: a node sends on the
// connection it dialled and receives on the connections it accepted, so
// every ordered pair of nodes has its own connection and no tie-breaking is
// needed.
//
// # Identity
//
// Both ends present certificates issued by the configured CA, and TLS 1.3
// is the only version offered or accepted. A node's id is the one
// "cairn:node:<id>" URI subject alternative name of its certificate (see
// NodeURI; the common name is ignored). The acceptor requires a client
// certificate that chains to the CA with the client-auth usage, names a
// node in its peer list, and names the node that the dialler's hello
// claims; the dialler requires a server certificate that chains to the CA
// with the server-auth usage and names the node it meant to dial. (Host
// names play no part: the dialler checks the chain and the node id itself,
// in tls.Config.VerifyConnection, instead of Go's host-name check.) So
// Frame.From is the peer's certificate identity, never its claim.
//
// # Frames and limits
//
// Inside TLS, frames are length-prefixed (see frame.go). A frame longer than
// Config.MaxFrameSize is refused with transport.ErrFrameTooLarge: Send
// refuses it before queueing, and a receiver that reads such a length drops
// the connection without reading the body. A peer that breaks the framing
// (ErrProtocol), presents a bad identity (ErrIdentity) or fails the
// handshake (ErrHandshake) loses its connection; the node stays up and
// reports the error to Config.Errors.
//
// # Flow control and failures
//
// Each peer has a bounded send queue: Send blocks while it is full, until
// the frame is queued, ctx ends or the transport closes. A queue is served
// by one goroutine that dials on demand and redials with exponential backoff
// and jitter while frames wait; frames older than Config.FrameTTL are
// dropped rather than sent late. Received frames go to a bounded inbox;
// while it is full the connection is not read, TCP flow control stalls the
// sender, and a sender stalled longer than Config.WriteTimeout drops the
// connection and redials. Both ends send keepalives every Config.KeepAlive
// and drop a connection silent for three of them, so a half-open connection
// is noticed. Handshakes are bounded by Config.DialTimeout and concurrent
// inbound connections by Config.MaxConns.
//
// Delivery is at most once per connection; a frame being written when a
// connection fails is written again on the next one, so a receiver may see
// it twice. Wrap the transport with package e2e, which refuses duplicates,
// for protocol traffic.
package tcp

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/cairn-mpc/cairn/transport"
)

// Defaults used for zero Config fields.
const (
	DefaultMaxFrameSize = 1 << 20
	DefaultQueueSize    = 256
	DefaultInboxSize    = 1024
	DefaultDialTimeout  = 5 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultKeepAlive    = 5 * time.Second
	DefaultFrameTTL     = 30 * time.Second
	DefaultMinBackoff   = 50 * time.Millisecond
	DefaultMaxBackoff   = 5 * time.Second
	DefaultMaxConns     = 64
)

// ErrHandshake reports a TLS handshake or hello exchange that failed: no
// certificate, one the CA did not sign, an expired one, a non-TLS peer, a
// timeout.
var ErrHandshake = errors.New("tcp: handshake failed")

// ConnError is a connection-level failure, reported to Config.Errors. Peer
// is the node concerned: the one dialled, or the one an accepted connection
// proved or claimed to be (empty before its certificate was seen).
type ConnError struct {
	Peer   transport.NodeID
	Remote string // the remote address
	Err    error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("tcp: connection with %q (%s): %v", e.Peer, e.Remote, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// Config configures a node. Self, Listen, Certificate and CA are required.
type Config struct {
	// Self is this node's id; Certificate must name it.
	Self transport.NodeID
	// Listen is the TCP address to accept peers on ("127.0.0.1:7001"; port
	// 0 picks a free one, see Addr).
	Listen string
	// Peers maps every node this one talks to onto its address. Only these
	// nodes may connect, and only these can be sent to; a node listed with
	// an empty address may connect but cannot be sent to. SetPeer changes
	// it.
	Peers map[transport.NodeID]string
	// Certificate is this node's certificate chain and key, presented both
	// when accepting and when dialling.
	Certificate tls.Certificate
	// CA verifies the peers' certificates.
	CA *x509.CertPool
	// MaxFrameSize bounds a frame's payload. Zero means DefaultMaxFrameSize.
	MaxFrameSize int
	// QueueSize is how many frames wait per peer before Send blocks. Zero
	// means DefaultQueueSize.
	QueueSize int
	// InboxSize is how many received frames wait for Receive. Zero means
	// DefaultInboxSize.
	InboxSize int
	// DialTimeout bounds dialling plus the TLS and hello handshake, in
	// both directions. Zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// WriteTimeout bounds one write; a peer that reads slower loses its
	// connection. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// KeepAlive is the keepalive interval; a connection silent for three
	// intervals is dropped. Zero means DefaultKeepAlive. Give every node
	// the same value: a peer's silence is judged by this node's interval.
	KeepAlive time.Duration
	// FrameTTL is how long a queued frame may wait for a connection before
	// it is dropped. Zero means DefaultFrameTTL.
	FrameTTL time.Duration
	// MinBackoff and MaxBackoff bound the wait between failed dials, which
	// doubles from MinBackoff up to MaxBackoff, with jitter. Zero means the
	// defaults.
	MinBackoff, MaxBackoff time.Duration
	// MaxConns bounds the accepted connections, handshaking or open; more
	// are closed at once. Zero means DefaultMaxConns.
	MaxConns int
	// Errors, if set, is told of every connection-level failure. It must
	// not block for long.
	Errors func(*ConnError)
	// Logger receives connection events (peer, address, error); never
	// payloads. Nil discards.
	Logger *slog.Logger
}

// Transport is one node's TCP endpoint. It implements transport.Transport
// and is safe for concurrent use.
type Transport struct {
	cfg    Config
	log    *slog.Logger
	ln     net.Listener
	server *tls.Config
	inbox  chan transport.Frame
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	done   <-chan struct{} // ctx.Done()
	sem    chan struct{}   // accepted connections
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	peers   map[transport.NodeID]string
	links   map[transport.NodeID]*link
	inbound map[transport.NodeID]*inboundConn // the live accepted connection per peer
	conns   map[net.Conn]struct{}             // every open connection, for Close
}

var _ transport.Transport = (*Transport)(nil)

// Listen checks cfg, starts listening and returns the node's transport.
// Close it to stop every goroutine it started.
func Listen(cfg Config) (*Transport, error) {
	if cfg.Self == "" || cfg.CA == nil || len(cfg.Certificate.Certificate) == 0 {
		return nil, errors.New("tcp: config needs Self, Certificate and CA")
	}
	leaf := cfg.Certificate.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cfg.Certificate.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tcp: own certificate: %w", err)
		}
	}
	if id, err := NodeID(leaf); err != nil || id != cfg.Self {
		return nil, fmt.Errorf("tcp: own certificate names %q, not %q: %w", id, cfg.Self, errors.Join(ErrIdentity, err))
	}
	setDefault(&cfg.MaxFrameSize, DefaultMaxFrameSize)
	setDefault(&cfg.QueueSize, DefaultQueueSize)
	setDefault(&cfg.InboxSize, DefaultInboxSize)
	setDefault(&cfg.MaxConns, DefaultMaxConns)
	setDefault(&cfg.DialTimeout, DefaultDialTimeout)
	setDefault(&cfg.WriteTimeout, DefaultWriteTimeout)
	setDefault(&cfg.KeepAlive, DefaultKeepAlive)
	setDefault(&cfg.FrameTTL, DefaultFrameTTL)
	setDefault(&cfg.MinBackoff, DefaultMinBackoff)
	setDefault(&cfg.MaxBackoff, DefaultMaxBackoff)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		cfg: cfg, log: log.With("node", cfg.Self),
		inbox: make(chan transport.Frame, cfg.InboxSize), ctx: ctx, cancel: cancel, done: ctx.Done(),
		sem:   make(chan struct{}, cfg.MaxConns),
		peers: map[transport.NodeID]string{}, links: map[transport.NodeID]*link{},
		inbound: map[transport.NodeID]*inboundConn{}, conns: map[net.Conn]struct{}{},
	}
	for id, addr := range cfg.Peers {
		t.peers[id] = addr
	}
	t.server = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cfg.Certificate},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    cfg.CA,
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, err := NodeID(cs.PeerCertificates[0])
			if err != nil {
				return err
			}
			if !t.knows(id) {
				return fmt.Errorf("%w: %q is not a peer", ErrIdentity, id)
			}
			return nil
		},
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("tcp: %w", err)
	}
	t.ln = ln
	t.wg.Add(1)
	go t.accept()
	return t, nil
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Addr is the address the node listens on.
func (t *Transport) Addr() net.Addr { return t.ln.Addr() }

// Self returns the node's id.
func (t *Transport) Self() transport.NodeID { return t.cfg.Self }

// SetPeer adds node id at addr to the peer list, or changes its address
// (used from the next dial on).
func (t *Transport) SetPeer(id transport.NodeID, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.peers[id] = addr
}

func (t *Transport) knows(id transport.NodeID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.peers[id]
	return ok && id != t.cfg.Self
}

func (t *Transport) report(peer transport.NodeID, remote string, err error) {
	select {
	case <-t.done:
		return // connections failing because of Close are not news
	default:
	}
	t.log.Warn("tcp: connection failed", "peer", peer, "remote", remote, "err", err)
	if t.cfg.Errors != nil {
		t.cfg.Errors(&ConnError{Peer: peer, Remote: remote, Err: err})
	}
}

// Send copies payload and queues it for node to, blocking while to's queue
// is full. It returns an error wrapping transport.ErrClosed after Close,
// transport.ErrFrameTooLarge for a payload over Config.MaxFrameSize,
// transport.ErrUnknownNode for a node not in the peer list, or ctx's error.
// A nil error does not mean delivery. A frame to Self goes straight to the
// inbox.
func (t *Transport) Send(ctx context.Context, to transport.NodeID, payload []byte) error {
	if len(payload) > t.cfg.MaxFrameSize {
		return fmt.Errorf("tcp: %q: send %d bytes to %q (limit %d): %w", t.cfg.Self, len(payload), to, t.cfg.MaxFrameSize, transport.ErrFrameTooLarge)
	}
	data := slices.Clone(payload)
	if data == nil {
		data = []byte{}
	}
	if to == t.cfg.Self {
		return t.deliver(ctx, transport.Frame{From: to, To: to, Payload: data})
	}
	l, err := t.link(to)
	if err != nil {
		return err
	}
	select {
	case l.queue <- queued{data: data, at: time.Now()}:
		return nil
	case <-t.done:
		return fmt.Errorf("tcp: %q: send to %q: %w", t.cfg.Self, to, transport.ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("tcp: %q: send to %q: %w", t.cfg.Self, to, ctx.Err())
	}
}

// deliver puts f into the inbox, waiting for room.
func (t *Transport) deliver(ctx context.Context, f transport.Frame) error {
	select {
	case <-t.done:
		return fmt.Errorf("tcp: %q: %w", t.cfg.Self, transport.ErrClosed)
	default:
	}
	select {
	case t.inbox <- f:
		return nil
	case <-t.done:
		return fmt.Errorf("tcp: %q: %w", t.cfg.Self, transport.ErrClosed)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Receive returns the next frame; From is the sender's certificate
// identity. It returns an error wrapping transport.ErrClosed after Close, or
// ctx's error.
func (t *Transport) Receive(ctx context.Context) (transport.Frame, error) {
	select {
	case <-t.done:
		return transport.Frame{}, fmt.Errorf("tcp: %q: %w", t.cfg.Self, transport.ErrClosed)
	default:
	}
	select {
	case f := <-t.inbox:
		return f, nil
	case <-t.done:
		return transport.Frame{}, fmt.Errorf("tcp: %q: %w", t.cfg.Self, transport.ErrClosed)
	case <-ctx.Done():
		return transport.Frame{}, ctx.Err()
	}
}

// Close stops listening, closes every connection, drops queued frames and
// waits for every goroutine the transport started. Blocked Sends and
// Receives return errors wrapping transport.ErrClosed, as do later calls.
// Close is idempotent and returns the listener's close error, if any.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		t.wg.Wait()
		return nil
	}
	t.closed = true
	t.cancel()
	err := t.ln.Close()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return err
}

// track registers an open connection so Close can close it; it returns
// false (and closes c) if the transport is closed.
func (t *Transport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Transport) untrack(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, c)
	c.Close()
}

// goTracked runs fn in a goroutine Close waits for, unless the transport is
// closed.
func (t *Transport) goTracked(fn func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		fn()
	}()
	return true
}

// accept takes connections until the listener closes.
func (t *Transport) accept() {
	defer t.wg.Done()
	var delay time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			select {
			case <-t.done:
				return
			default:
			}
			// Out of descriptors or the like: back off, stay up.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.log.Warn("tcp: accept failed", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-t.done:
				return
			}
			continue
		}
		delay = 0
		select {
		case t.sem <- struct{}{}:
		default:
			t.report("", c.RemoteAddr().String(), fmt.Errorf("%w: over %d connections", ErrHandshake, t.cfg.MaxConns))
			c.Close()
			continue
		}
		if !t.track(c) {
			<-t.sem
			return
		}
		if !t.goTracked(func() {
			defer func() { <-t.sem }()
			defer t.untrack(c)
			t.serveInbound(c)
		}) {
			t.untrack(c)
			<-t.sem
			return
		}
	}
}

// inboundConn is the accepted connection a peer currently sends on.
type inboundConn struct {
	raw    net.Conn
	cancel context.CancelFunc
}

// conn is one TLS connection with its buffers. Closing goes through raw,
// which never blocks (tls.Conn.Close may wait to send a close_notify).
type conn struct {
	raw net.Conn
	tls *tls.Conn
	r   *bufio.Reader
	w   *bufio.Writer
}

func newConn(raw net.Conn, tc *tls.Conn, rbuf, wbuf int) *conn {
	return &conn{raw: raw, tls: tc, r: bufio.NewReaderSize(tc, rbuf), w: bufio.NewWriterSize(tc, wbuf)}
}

// writeFrame writes one frame within Config.WriteTimeout, flushing if asked.
func (t *Transport) writeFrame(c *conn, kind byte, data []byte, flush bool) error {
	c.raw.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	if err := writeFrame(c.w, kind, data); err != nil {
		return err
	}
	if flush {
		return c.w.Flush()
	}
	return nil
}

// serveInbound authenticates an accepted connection and reads its frames
// into the inbox until it fails.
func (t *Transport) serveInbound(raw net.Conn) {
	remote := raw.RemoteAddr().String()
	c := newConn(raw, tls.Server(raw, t.server), 64<<10, 512)
	peer, err := t.acceptHello(c)
	if err != nil {
		t.report(peer, remote, err)
		return
	}
	// The newest connection from a peer wins: an older one is the peer's
	// previous incarnation, or half open.
	// A reader blocked on a full inbox is not reading its socket: closing
	// the connection does not wake it, cancelling ctx does.
	ctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	me := &inboundConn{raw: raw, cancel: cancel}
	t.mu.Lock()
	if old, ok := t.inbound[peer]; ok {
		old.cancel()
		old.raw.Close()
	}
	t.inbound[peer] = me
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		if t.inbound[peer] == me {
			delete(t.inbound, peer)
		}
		t.mu.Unlock()
	}()
	t.log.Debug("tcp: peer connected", "peer", peer, "remote", remote)

	stop := make(chan struct{})
	defer close(stop)
	t.goTracked(func() { t.keepalive(c, stop) })
	for {
		raw.SetReadDeadline(time.Now().Add(3 * t.cfg.KeepAlive))
		kind, data, err := readFrame(c.r, t.cfg.MaxFrameSize)
		if err != nil {
			t.report(peer, remote, err)
			return
		}
		switch kind {
		case kindData:
			if err := t.deliver(ctx, transport.Frame{From: peer, To: t.cfg.Self, Payload: data}); err != nil {
				return
			}
		case kindKeepalive:
		default:
			t.report(peer, remote, fmt.Errorf("%w: frame kind %q from the dialler", ErrProtocol, kind))
			return
		}
	}
}

// acceptHello runs the acceptor's side of the handshake and returns the
// peer's certificate identity.
func (t *Transport) acceptHello(c *conn) (transport.NodeID, error) {
	c.raw.SetDeadline(time.Now().Add(t.cfg.DialTimeout))
	if err := c.tls.HandshakeContext(t.ctx); err != nil {
		return "", fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	peer, err := NodeID(c.tls.ConnectionState().PeerCertificates[0])
	if err != nil {
		return "", err
	}
	kind, data, err := readFrame(c.r, maxHello)
	if err != nil {
		return peer, fmt.Errorf("%w: reading hello: %w", ErrHandshake, err)
	}
	if kind != kindHello {
		return peer, fmt.Errorf("%w: first frame is %q, not a hello", ErrProtocol, kind)
	}
	h, err := decodeHello(data)
	if err != nil {
		return peer, err
	}
	if transport.NodeID(h.From) != peer {
		return peer, fmt.Errorf("%w: certificate names %q, hello claims %q", ErrIdentity, peer, h.From)
	}
	if transport.NodeID(h.To) != t.cfg.Self {
		return peer, fmt.Errorf("%w: hello addressed to %q", ErrIdentity, h.To)
	}
	reply, err := encodeHello(t.cfg.Self, peer)
	if err != nil {
		return peer, err
	}
	if err := t.writeFrame(c, kindHello, reply, true); err != nil {
		return peer, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	c.raw.SetDeadline(time.Time{})
	return peer, nil
}

// keepalive writes a keepalive frame on c every Config.KeepAlive until stop
// closes or a write fails (which closes c, ending its reader).
func (t *Transport) keepalive(c *conn, stop <-chan struct{}) {
	tick := time.NewTicker(t.cfg.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.done:
			return
		case <-tick.C:
			if err := t.writeFrame(c, kindKeepalive, nil, true); err != nil {
				c.raw.Close()
				return
			}
		}
	}
}

// queued is a frame waiting in a peer's queue.
type queued struct {
	data []byte
	at   time.Time
}

// link is the sending side towards one peer.
type link struct {
	peer  transport.NodeID
	queue chan queued
}

// link returns the link to peer, starting its goroutine on first use.
func (t *Transport) link(peer transport.NodeID) (*link, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("tcp: %q: send to %q: %w", t.cfg.Self, peer, transport.ErrClosed)
	}
	if addr, ok := t.peers[peer]; !ok || addr == "" {
		return nil, fmt.Errorf("tcp: %q: send to %q (no address): %w", t.cfg.Self, peer, transport.ErrUnknownNode)
	}
	if l, ok := t.links[peer]; ok {
		return l, nil
	}
	l := &link{peer: peer, queue: make(chan queued, t.cfg.QueueSize)}
	t.links[peer] = l
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.runLink(l)
	}()
	return l, nil
}

// runLink serves one peer's queue until Close: it dials when a frame waits,
// writes frames while the connection lives, and redials with backoff.
func (t *Transport) runLink(l *link) {
	var pending *queued // taken from the queue, not yet written
	backoff := t.cfg.MinBackoff
	for {
		if pending == nil {
			select {
			case q := <-l.queue:
				pending = &q
			case <-t.done:
				return
			}
		}
		if t.expired(pending) {
			pending = nil
			continue
		}
		c, err := t.dial(l.peer)
		if err != nil {
			if errors.Is(err, transport.ErrClosed) {
				return
			}
			t.report(l.peer, t.addrOf(l.peer), err)
			wait := backoff/2 + rand.N(backoff/2+1) // jitter in [backoff/2, backoff]
			backoff = min(2*backoff, t.cfg.MaxBackoff)
			select {
			case <-time.After(wait):
			case <-t.done:
				return
			}
			pending = t.dropExpired(l, pending)
			continue
		}
		backoff = t.cfg.MinBackoff
		t.log.Debug("tcp: connected", "peer", l.peer, "remote", c.raw.RemoteAddr())
		err = t.serveOutbound(l, c, &pending)
		t.untrack(c.raw)
		if err != nil {
			t.report(l.peer, c.raw.RemoteAddr().String(), err)
		}
	}
}

func (t *Transport) expired(q *queued) bool {
	return time.Since(q.at) > t.cfg.FrameTTL
}

// dropExpired discards expired frames from the head of the queue (which is
// in time order), so a peer that stays down frees its queue; it returns the
// frame to send first.
func (t *Transport) dropExpired(l *link, pending *queued) *queued {
	if pending != nil && !t.expired(pending) {
		return pending
	}
	for {
		select {
		case q := <-l.queue:
			if !t.expired(&q) {
				return &q
			}
			t.log.Debug("tcp: frame expired in queue", "peer", l.peer)
		default:
			return nil
		}
	}
}

func (t *Transport) addrOf(peer transport.NodeID) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peers[peer]
}

// dial connects to peer and runs the dialler's side of the handshake.
func (t *Transport) dial(peer transport.NodeID) (*conn, error) {
	addr := t.addrOf(peer)
	if addr == "" {
		return nil, fmt.Errorf("tcp: no address for %q: %w", peer, transport.ErrUnknownNode)
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.DialTimeout)
	defer cancel()
	d := net.Dialer{KeepAlive: -1} // keepalive frames detect dead peers
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if t.ctx.Err() != nil {
			return nil, fmt.Errorf("tcp: %w", transport.ErrClosed)
		}
		return nil, fmt.Errorf("%w: dial: %w", ErrHandshake, err)
	}
	if !t.track(raw) {
		return nil, fmt.Errorf("tcp: %w", transport.ErrClosed)
	}
	c := newConn(raw, tls.Client(raw, t.clientConfig(peer)), 512, 64<<10)
	if err := t.dialHello(ctx, c, peer); err != nil {
		t.untrack(raw)
		return nil, err
	}
	return c, nil
}

// clientConfig verifies the server by CA and node id, not host name.
func (t *Transport) clientConfig(peer transport.NodeID) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{t.cfg.Certificate},
		// Go's own verification would check a host name; the identity here
		// is the node URI, so VerifyConnection does the whole verification.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyServer(cs, t.cfg.CA, peer)
		},
	}
}

// verifyServer checks that a server's chain leads to ca with the
// server-auth usage and that its certificate names node want.
func verifyServer(cs tls.ConnectionState, ca *x509.CertPool, want transport.NodeID) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no server certificate", ErrIdentity)
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: ca, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return err
	}
	id, err := NodeID(cs.PeerCertificates[0])
	if err != nil {
		return err
	}
	if id != want {
		return fmt.Errorf("%w: dialled %q, certificate names %q", ErrIdentity, want, id)
	}
	return nil
}

func (t *Transport) dialHello(ctx context.Context, c *conn, peer transport.NodeID) error {
	c.raw.SetDeadline(time.Now().Add(t.cfg.DialTimeout))
	if err := c.tls.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	h, err := encodeHello(t.cfg.Self, peer)
	if err != nil {
		return err
	}
	if err := t.writeFrame(c, kindHello, h, true); err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	// The acceptor checks our certificate only now (TLS 1.3 finishes the
	// client's handshake first): its hello is the acceptance.
	kind, data, err := readFrame(c.r, maxHello)
	if err != nil {
		return fmt.Errorf("%w: refused by %q: %w", ErrHandshake, peer, err)
	}
	if kind != kindHello {
		return fmt.Errorf("%w: first frame is %q, not a hello", ErrProtocol, kind)
	}
	reply, err := decodeHello(data)
	if err != nil {
		return err
	}
	if transport.NodeID(reply.From) != peer || transport.NodeID(reply.To) != t.cfg.Self {
		return fmt.Errorf("%w: hello from %q to %q", ErrIdentity, reply.From, reply.To)
	}
	c.raw.SetDeadline(time.Time{})
	return nil
}

// serveOutbound writes l's frames to c until c fails or the transport
// closes. A frame whose write failed stays in *pending for the next
// connection.
func (t *Transport) serveOutbound(l *link, c *conn, pending **queued) error {
	dead := make(chan error, 1)
	// The acceptor sends only keepalives; silence means a dead peer.
	t.goTracked(func() {
		for {
			c.raw.SetReadDeadline(time.Now().Add(3 * t.cfg.KeepAlive))
			kind, _, err := readFrame(c.r, 0)
			if err == nil && kind != kindKeepalive {
				err = fmt.Errorf("%w: frame kind %q from the acceptor", ErrProtocol, kind)
			}
			if err != nil {
				dead <- err
				c.raw.Close()
				return
			}
		}
	})
	defer c.raw.Close()
	// A write fails with "use of closed connection" when the reader found
	// the peer dead first: report the reader's finding.
	failed := func(err error) error {
		select {
		case d := <-dead:
			return d
		default:
			return err
		}
	}
	tick := time.NewTicker(t.cfg.KeepAlive)
	defer tick.Stop()
	for {
		if p := *pending; p != nil {
			if t.expired(p) {
				*pending = nil
				continue
			}
			// Batch: flush only when nothing else waits.
			if err := t.writeFrame(c, kindData, p.data, len(l.queue) == 0); err != nil {
				return failed(err)
			}
			*pending = nil
		}
		select {
		case q := <-l.queue:
			*pending = &q
		case <-tick.C:
			if err := t.writeFrame(c, kindKeepalive, nil, true); err != nil {
				return failed(err)
			}
		case err := <-dead:
			return err
		case <-t.done:
			return nil
		}
	}
}
