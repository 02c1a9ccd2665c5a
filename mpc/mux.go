package mpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
)

// ErrSessionUsed is returned by Mux.Open for a session id this Mux has
// already served: session ids are single-use.
var ErrSessionUsed = errors.New("mpc: session id already used")

const (
	muxSessionQueue = 1024 // frames queued per open session
	muxEarlyTotal   = 4096 // frames held for sessions not yet opened
	muxEarlyPer     = 256  // … per session
)

// Mux routes the frames of one transport endpoint to the sessions running
// on it, by the session id in each frame. Frames for a session that is not
// open yet (a peer started first) are held, within bounds, until it opens.
type Mux struct {
	tr     transport.Transport
	logger *slog.Logger

	mu       sync.Mutex
	open     map[round.SessionID]*MuxConn
	used     map[round.SessionID]bool
	early    map[round.SessionID][]transport.Frame
	nEarly   int
	closed   bool
	closeErr error
}

// NewMux wraps tr. Call Run to start routing. logger may be nil.
func NewMux(tr transport.Transport, logger *slog.Logger) *Mux {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Mux{
		tr: tr, logger: logger,
		open: map[round.SessionID]*MuxConn{}, used: map[round.SessionID]bool{},
		early: map[round.SessionID][]transport.Frame{},
	}
}

// Run reads frames and routes them until ctx ends or the transport closes.
// It returns the reason it stopped; open sessions then see that error.
func (m *Mux) Run(ctx context.Context) error {
	for {
		f, err := m.tr.Receive(ctx)
		if err != nil {
			m.mu.Lock()
			m.closed, m.closeErr = true, err
			for _, c := range m.open {
				close(c.stop)
			}
			m.open = map[round.SessionID]*MuxConn{}
			m.mu.Unlock()
			return err
		}
		m.route(f)
	}
}

func (m *Mux) route(f transport.Frame) {
	sess, _, err := decodeFrame(f.Payload)
	if err != nil {
		m.logger.Debug("mpc: mux dropped an undecodable frame", "from", f.From, "err", err)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.open[sess]; ok {
		select {
		case c.in <- f:
		default:
			m.logger.Warn("mpc: session queue full, frame dropped", "session", sess, "from", f.From)
		}
		return
	}
	if m.used[sess] {
		return // a late frame of a finished session
	}
	if m.nEarly >= muxEarlyTotal || len(m.early[sess]) >= muxEarlyPer {
		m.logger.Warn("mpc: early-frame buffer full, frame dropped", "session", sess, "from", f.From)
		return
	}
	m.early[sess] = append(m.early[sess], f)
	m.nEarly++
}

// Open registers a session and returns its Conn. Each session id can be
// opened once per Mux.
func (m *Mux) Open(sess round.SessionID) (*MuxConn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("mpc: mux stopped: %w", m.closeErr)
	}
	if m.used[sess] {
		return nil, fmt.Errorf("%w: %v", ErrSessionUsed, sess)
	}
	m.used[sess] = true
	c := &MuxConn{mux: m, sess: sess, in: make(chan transport.Frame, muxSessionQueue), stop: make(chan struct{})}
	for _, f := range m.early[sess] {
		c.in <- f
	}
	m.nEarly -= len(m.early[sess])
	delete(m.early, sess)
	m.open[sess] = c
	return c, nil
}

// MuxConn is one session's view of a Mux; it implements Conn.
type MuxConn struct {
	mux  *Mux
	sess round.SessionID
	in   chan transport.Frame
	stop chan struct{}
	once sync.Once
}

// Send sends on the underlying transport.
func (c *MuxConn) Send(ctx context.Context, to transport.NodeID, payload []byte) error {
	return c.mux.tr.Send(ctx, to, payload)
}

// Receive returns the next frame of this session.
func (c *MuxConn) Receive(ctx context.Context) (transport.Frame, error) {
	select {
	case f := <-c.in:
		return f, nil
	case <-c.stop:
		return transport.Frame{}, transport.ErrClosed
	case <-ctx.Done():
		return transport.Frame{}, ctx.Err()
	}
}

// Close unregisters the session; later frames for it are dropped.
func (c *MuxConn) Close() {
	c.once.Do(func() {
		c.mux.mu.Lock()
		defer c.mux.mu.Unlock()
		if c.mux.open[c.sess] == c {
			delete(c.mux.open, c.sess)
			close(c.stop)
		}
	})
}
