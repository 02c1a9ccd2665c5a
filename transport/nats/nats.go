// Package nats carries Cairn frames over a NATS server, one subject per
// node: node id's frames are published to Prefix + ".node." + id, and each
// node subscribes to its own subject only.
//
// # Only end to end protected
//
// NATS authenticates clients to the server, not senders to receivers: any
// client allowed to publish on a subject can claim to be anyone, and any
// client allowed to subscribe reads everything. So this package never
// returns a bare carrier: Dial returns the carrier wrapped by package e2e,
// which seals every frame to its recipient, signs it, refuses replays, and
// takes the sender (Frame.From) from the signed frame, checked against the
// configured directory. The carrier itself leaves From empty.
//
// Restrict the subjects in the server's authorization as well (each node
// subscribes to its own subject and publishes to its peers'): that keeps
// other clients from flooding a node, which sealing cannot prevent.
//
// # Failures
//
// nats.go reconnects by itself, forever, with Config.ReconnectWait between
// attempts (plus jitter). While it is disconnected, published frames are
// buffered up to Config.ReconnectBufSize bytes and sent on reconnection;
// when the buffer is full, Send waits and retries until ctx ends
// (backpressure, bounded memory). Frames published while a subscriber is
// disconnected are lost, as NATS core does not store them; the mpc runner
// retransmits. A subscriber that falls behind by more than Config.InboxSize
// frames or Config.InboxBytes bytes loses frames (the server or client
// drops them as a slow consumer), reported to Config.Errors.
package nats

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
)

// Defaults used for zero Config fields.
const (
	DefaultPrefix           = "cairn"
	DefaultInboxSize        = 4096
	DefaultInboxBytes       = 64 << 20
	DefaultReconnectBufSize = 8 << 20
	DefaultReconnectWait    = 250 * time.Millisecond
	DefaultConnectTimeout   = 5 * time.Second
)

// ErrBadNodeID reports a node id that cannot be a NATS subject token.
var ErrBadNodeID = errors.New("nats: node id is not a valid subject token")

// Config configures a node's NATS transport. URL, Self and E2E are
// required.
type Config struct {
	// URL is the NATS server, or a comma-separated list of them
	// ("nats://127.0.0.1:4222", "tls://…").
	URL string
	// Self is this node's id: its subject is Prefix.node.Self. It must be
	// a valid subject token: no '.', '*', '>' or white space.
	Self transport.NodeID
	// Prefix starts every subject. Zero means DefaultPrefix ("cairn"); set
	// it to separate clusters sharing a server ("cairn.prod").
	Prefix string
	// TLS, if set, secures the connection to the server: RootCAs verifies
	// the server, and Certificates gives a client certificate for servers
	// that require one (mutual TLS).
	TLS *tls.Config
	// E2E is the end-to-end protection: this node's identity and its
	// peers' public keys. Wrap is applied with it.
	E2E e2e.Config
	// MaxFrameSize bounds a sealed frame. Zero means the server's maximum
	// payload; a larger value is lowered to it.
	MaxFrameSize int
	// InboxSize and InboxBytes bound the frames received and not yet
	// taken by Receive. Zero means DefaultInboxSize and DefaultInboxBytes.
	InboxSize, InboxBytes int
	// ReconnectBufSize bounds the bytes buffered while reconnecting. Zero
	// means DefaultReconnectBufSize.
	ReconnectBufSize int
	// ReconnectWait is the pause between reconnection attempts. Zero means
	// DefaultReconnectWait.
	ReconnectWait time.Duration
	// Options are extra nats.go options (credentials, nkeys, …), applied
	// after this package's own.
	Options []natsgo.Option
	// Errors, if set, is told of asynchronous errors: slow consumer,
	// disconnections. It must not block for long.
	Errors func(error)
	// Logger receives connection events; never payloads. Nil discards.
	Logger *slog.Logger
}

// Subject returns the subject node id receives on under prefix (empty
// means DefaultPrefix).
func Subject(prefix string, id transport.NodeID) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return prefix + ".node." + string(id)
}

func validToken(id transport.NodeID) error {
	if id == "" || strings.ContainsAny(string(id), ".*> \t\r\n") {
		return fmt.Errorf("%w: %q", ErrBadNodeID, id)
	}
	return nil
}

// Dial connects to the server, subscribes to this node's subject and
// returns the node's transport, end-to-end protected. ctx bounds the first
// connection only (DefaultConnectTimeout if it has no deadline); later
// reconnections run until Close. Closing the
// returned transport closes the connection.
func Dial(ctx context.Context, cfg Config) (*e2e.Transport, error) {
	c, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t, err := e2e.Wrap(c, cfg.E2E)
	if err != nil {
		c.Close()
		return nil, err
	}
	return t, nil
}

// carrier is the bare NATS transport. It is unexported on purpose: its
// frames are neither confidential nor attributable until e2e wraps them.
type carrier struct {
	cfg    Config
	log    *slog.Logger
	nc     *natsgo.Conn
	sub    *natsgo.Subscription
	max    int
	done   chan struct{}
	closed sync.Once
}

func dial(ctx context.Context, cfg Config) (*carrier, error) {
	if cfg.URL == "" {
		return nil, errors.New("nats: config needs a server URL")
	}
	if err := validToken(cfg.Self); err != nil {
		return nil, err
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = DefaultInboxSize
	}
	if cfg.InboxBytes <= 0 {
		cfg.InboxBytes = DefaultInboxBytes
	}
	if cfg.ReconnectBufSize <= 0 {
		cfg.ReconnectBufSize = DefaultReconnectBufSize
	}
	if cfg.ReconnectWait <= 0 {
		cfg.ReconnectWait = DefaultReconnectWait
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("node", cfg.Self)
	c := &carrier{cfg: cfg, log: log, done: make(chan struct{})}
	timeout := DefaultConnectTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	} else {
		// nats.go's FlushWithContext wants a deadline.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nats: connecting: %w", err)
	}
	opts := []natsgo.Option{
		natsgo.Name("cairn/" + string(cfg.Self)),
		natsgo.Timeout(timeout),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(cfg.ReconnectWait),
		natsgo.ReconnectJitter(cfg.ReconnectWait/2, cfg.ReconnectWait),
		natsgo.ReconnectBufSize(cfg.ReconnectBufSize),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			if err != nil {
				c.report(fmt.Errorf("nats: disconnected: %w", err))
			}
		}),
		natsgo.ReconnectHandler(func(nc *natsgo.Conn) {
			log.Info("nats: reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
			c.report(fmt.Errorf("nats: %w", err))
		}),
	}
	if cfg.TLS != nil {
		tc := cfg.TLS.Clone()
		if tc.MinVersion < tls.VersionTLS12 {
			tc.MinVersion = tls.VersionTLS12
		}
		opts = append(opts, natsgo.Secure(tc))
	}
	opts = append(opts, cfg.Options...)
	nc, err := natsgo.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connecting to %s: %w", cfg.URL, err)
	}
	c.nc = nc
	sub, err := nc.SubscribeSync(Subject(cfg.Prefix, cfg.Self))
	if err == nil {
		err = sub.SetPendingLimits(cfg.InboxSize, cfg.InboxBytes)
	}
	if err == nil {
		// The subscription is known to the server before Dial returns, so
		// frames sent after it are not lost.
		err = nc.FlushWithContext(ctx)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: subscribing: %w", err)
	}
	c.sub = sub
	c.max = int(nc.MaxPayload())
	if cfg.MaxFrameSize > 0 && cfg.MaxFrameSize < c.max {
		c.max = cfg.MaxFrameSize
	}
	return c, nil
}

func (c *carrier) report(err error) {
	select {
	case <-c.done:
		return
	default:
	}
	c.log.Warn("nats: connection event", "err", err)
	if c.cfg.Errors != nil {
		c.cfg.Errors(err)
	}
}

func (c *carrier) Self() transport.NodeID { return c.cfg.Self }

// transient reports a publish error from a connection that nats.go is about
// to replace: a write to a socket the server just closed fails before the
// client notices the disconnect. The next attempt lands in the reconnect
// buffer; a duplicate that reached the server is refused end to end as a
// replay.
func (c *carrier) transient(err error) bool {
	if c.nc.IsClosed() {
		return false
	}
	var op *net.OpError
	return c.nc.IsReconnecting() || errors.As(err, &op) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF)
}

// Send publishes payload on to's subject. While disconnected with a full
// reconnect buffer, or after a transient error, it retries until ctx ends.
func (c *carrier) Send(ctx context.Context, to transport.NodeID, payload []byte) error {
	if err := validToken(to); err != nil {
		return fmt.Errorf("nats: %q: send: %w: %w", c.cfg.Self, transport.ErrUnknownNode, err)
	}
	if len(payload) > c.max {
		return fmt.Errorf("nats: %q: send %d bytes to %q (limit %d): %w", c.cfg.Self, len(payload), to, c.max, transport.ErrFrameTooLarge)
	}
	subj := Subject(c.cfg.Prefix, to)
	wait := time.Millisecond
	for {
		err := c.nc.Publish(subj, payload)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, natsgo.ErrConnectionClosed):
			return fmt.Errorf("nats: %q: send to %q: %w", c.cfg.Self, to, transport.ErrClosed)
		case errors.Is(err, natsgo.ErrMaxPayload):
			return fmt.Errorf("nats: %q: send to %q: %w: %w", c.cfg.Self, to, transport.ErrFrameTooLarge, err)
		case !errors.Is(err, natsgo.ErrReconnectBufExceeded) && !c.transient(err):
			return fmt.Errorf("nats: %q: send to %q: %w", c.cfg.Self, to, err)
		}
		select {
		case <-time.After(wait):
			wait = min(2*wait, 100*time.Millisecond)
		case <-c.done:
			return fmt.Errorf("nats: %q: send to %q: %w", c.cfg.Self, to, transport.ErrClosed)
		case <-ctx.Done():
			return fmt.Errorf("nats: %q: send to %q: %w", c.cfg.Self, to, ctx.Err())
		}
	}
}

// Receive returns the next frame on this node's subject, with From empty:
// NATS does not say who published it.
func (c *carrier) Receive(ctx context.Context) (transport.Frame, error) {
	select {
	case <-c.done:
		return transport.Frame{}, fmt.Errorf("nats: %q: %w", c.cfg.Self, transport.ErrClosed)
	default:
	}
	m, err := c.sub.NextMsgWithContext(ctx)
	for errors.Is(err, natsgo.ErrSlowConsumer) {
		// Frames were dropped (and reported through the error handler);
		// the subscription goes on.
		m, err = c.sub.NextMsgWithContext(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return transport.Frame{}, ctx.Err()
		}
		select {
		case <-c.done:
			return transport.Frame{}, fmt.Errorf("nats: %q: %w", c.cfg.Self, transport.ErrClosed)
		default:
		}
		if errors.Is(err, natsgo.ErrConnectionClosed) || errors.Is(err, natsgo.ErrBadSubscription) {
			return transport.Frame{}, fmt.Errorf("nats: %q: %w: %w", c.cfg.Self, transport.ErrClosed, err)
		}
		return transport.Frame{}, fmt.Errorf("nats: %q: receive: %w", c.cfg.Self, err)
	}
	return transport.Frame{To: c.cfg.Self, Payload: m.Data}, nil
}

// Close closes the connection; blocked Receives return ErrClosed.
func (c *carrier) Close() error {
	c.closed.Do(func() {
		close(c.done)
		c.nc.Close()
	})
	return nil
}
