// Package memory is an in-process transport.Transport network for tests and
// demos, with fault injection.
//
// A Network holds named endpoints. Frames travel between them as copies: the
// sender may reuse its buffer as soon as Send returns, and a receiver never
// sees the sender's later writes (nor another receiver's). The network, not
// the sender, sets Frame.From, so From is authentic.
//
// # Delivery
//
// Each endpoint has a bounded inbox. A frame that is neither delayed nor held
// for reordering goes into the inbox before Send returns; when the inbox is
// full, Send blocks until there is room, the sender's ctx ends, or either
// endpoint closes (backpressure). Delayed and reordered frames are delivered
// later by the network and never block the sender; if the inbox is full when
// their time comes they wait in the network for room, and are dropped if the
// receiver crashes or the network closes first.
//
// A frame is bound to the incarnation of the receiver it was sent to: frames
// still in flight when a node crashes are dropped, and never reach the fresh
// endpoint that Restart creates.
//
// # Faults
//
// Faults are set per directed Link, and a link may name Any as either end.
// A frame obeys the single most specific rule that matches it: an exact
// link, then {From, Any}, then {Any, To}, then {Any, Any}. The rule's faults
// apply in this order:
//
//  1. partition and crashed receiver (not part of a rule): the frame is dropped;
//  2. DropNext, then Drop: the frame is dropped;
//  3. Corrupt: one random bit of the payload copy is flipped;
//  4. Duplicate: a second, independent copy is made;
//  5. Reorder: each copy is held until the rule's window fills, then the held
//     frames are released in shuffled order;
//  6. Delay and Jitter: each copy is delivered after its own delay, counted
//     from its release if it was held.
//
// A rule with a wildcard end is one rule: the links it matches share its
// DropNext count and its reorder window.
//
// All randomness comes from one math/rand/v2 source chosen with WithRand, so
// a single-goroutine test is reproducible; with concurrent senders the order
// in which they draw from the source is the scheduler's.
package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/cairn-mpc/cairn/transport"
)

// Defaults used when an option is not given.
const (
	// DefaultMaxFrameSize is the largest payload Send accepts: 1 MiB.
	DefaultMaxFrameSize = 1 << 20
	// DefaultInboxSize is how many frames an endpoint's inbox holds.
	DefaultInboxSize = 4096
)

// Any is the wildcard end of a Link: Link{From: "a", To: Any} matches every
// frame sent by "a". It is the empty NodeID, which no endpoint may take.
const Any transport.NodeID = ""

// Link is a directed path between two nodes; either end may be Any.
type Link struct {
	From transport.NodeID
	To   transport.NodeID
}

// String formats l as "from->to", with "*" for an Any end.
func (l Link) String() string {
	from, to := l.From, l.To
	if from == Any {
		from = "*"
	}
	if to == Any {
		to = "*"
	}
	return string(from) + "->" + string(to)
}

// Option configures a Network.
type Option func(*config)

type config struct {
	maxFrame int
	inbox    int
	src      rand.Source
}

// WithMaxFrameSize sets the largest payload Send accepts; larger ones fail
// with transport.ErrFrameTooLarge. n <= 0 means DefaultMaxFrameSize.
func WithMaxFrameSize(n int) Option {
	return func(c *config) { c.maxFrame = n }
}

// WithInboxSize sets how many frames each endpoint's inbox holds before Send
// blocks. n <= 0 means DefaultInboxSize.
func WithInboxSize(n int) Option {
	return func(c *config) { c.inbox = n }
}

// WithRand sets the source of all fault randomness. The network serialises
// its use, so src need not be safe for concurrent use, but the caller must
// not use it elsewhere. Without this option the source is rand.NewPCG(0, 0),
// so runs are reproducible by default.
func WithRand(src rand.Source) Option {
	return func(c *config) { c.src = src }
}

// Network is an in-process network of endpoints. It is safe for concurrent
// use. Close it to stop every endpoint and timer it started.
type Network struct {
	maxFrame int
	inbox    int

	mu     sync.Mutex
	closed bool
	rng    *rand.Rand
	nodes  map[transport.NodeID]*Endpoint // current incarnation of each node
	rules  map[Link]*rule
	cuts   map[Link]struct{} // exact directed links cut by Partition
	stats  map[Link]*LinkStats
	timers map[*time.Timer]func() // pending timers, each with what to do if Close cancels it
	wg     sync.WaitGroup         // timer callbacks and delivery goroutines
}

// NewNetwork returns an empty network.
func NewNetwork(opts ...Option) *Network {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	if c.maxFrame <= 0 {
		c.maxFrame = DefaultMaxFrameSize
	}
	if c.inbox <= 0 {
		c.inbox = DefaultInboxSize
	}
	if c.src == nil {
		c.src = rand.NewPCG(0, 0)
	}
	return &Network{
		maxFrame: c.maxFrame,
		inbox:    c.inbox,
		rng:      rand.New(c.src),
		nodes:    map[transport.NodeID]*Endpoint{},
		rules:    map[Link]*rule{},
		cuts:     map[Link]struct{}{},
		stats:    map[Link]*LinkStats{},
		timers:   map[*time.Timer]func(){},
	}
}

// Endpoint returns the current endpoint of node id, creating the node on the
// first call. Later calls with the same id return the same endpoint, even
// after it has been closed or crashed: only Restart replaces it. After the
// network is closed, a new id gets an endpoint that is already closed.
//
// id must not be Any (the empty id); Endpoint panics if it is.
func (n *Network) Endpoint(id transport.NodeID) *Endpoint {
	if id == Any {
		panic("memory: empty node id is reserved for the Any wildcard")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if ep, ok := n.nodes[id]; ok {
		return ep
	}
	ep := n.newEndpointLocked(id)
	if n.closed {
		ep.closeLocked()
	}
	return ep
}

func (n *Network) newEndpointLocked(id transport.NodeID) *Endpoint {
	ep := &Endpoint{net: n, id: id, inbox: make(chan transport.Frame, n.inbox), done: make(chan struct{})}
	n.nodes[id] = ep
	return ep
}

// Nodes returns the ids of every node created so far, crashed or not, sorted.
func (n *Network) Nodes() []transport.NodeID {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids := make([]transport.NodeID, 0, len(n.nodes))
	for id := range n.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Crash closes node id's endpoint as if its process died: its Receive and
// Send return transport.ErrClosed, frames queued for it are lost, and frames
// sent to it until Restart are dropped (Send still returns nil, as a real
// network would not tell). Crashing a crashed node does nothing. It returns
// an error wrapping transport.ErrUnknownNode if id was never created.
func (n *Network) Crash(id transport.NodeID) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ep, ok := n.nodes[id]
	if !ok {
		return fmt.Errorf("memory: crash %q: %w", id, transport.ErrUnknownNode)
	}
	ep.closeLocked()
	return nil
}

// Restart brings node id back with a fresh, empty endpoint and returns it;
// Endpoint(id) returns it from then on. If the node is still up it is
// crashed first. Frames in flight to the old endpoint are not delivered to
// the new one. It returns an error wrapping transport.ErrUnknownNode if id
// was never created, or transport.ErrClosed if the network is closed.
func (n *Network) Restart(id transport.NodeID) (*Endpoint, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("memory: restart %q: %w", id, transport.ErrClosed)
	}
	old, ok := n.nodes[id]
	if !ok {
		return nil, fmt.Errorf("memory: restart %q: %w", id, transport.ErrUnknownNode)
	}
	old.closeLocked()
	return n.newEndpointLocked(id), nil
}

// Partition cuts every link between a node in a and a node in b, in both
// directions; frames sent across the cut are dropped. Nodes need not exist
// yet. Partitions accumulate until Heal. A frame is judged when it is sent:
// frames already delayed or held are not affected.
func (n *Network) Partition(a, b []transport.NodeID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			n.cuts[Link{x, y}] = struct{}{}
			n.cuts[Link{y, x}] = struct{}{}
		}
	}
}

// Heal removes every partition.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cuts)
}

// Close closes every endpoint, cancels pending delayed frames and reorder
// timers, drops every frame still in the network, and waits for the
// network's own goroutines to finish. Sends and Receives blocked on its
// endpoints return errors wrapping transport.ErrClosed, as do later calls.
// Close is idempotent and always returns nil.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		n.wg.Wait()
		return nil
	}
	n.closed = true
	for t, cancelled := range n.timers {
		// A callback that already started will call wg.Done itself.
		if t.Stop() {
			n.wg.Done()
			if cancelled != nil {
				cancelled()
			}
		}
	}
	clear(n.timers)
	for _, ep := range n.nodes {
		ep.closeLocked()
	}
	for _, r := range n.rules {
		for _, h := range r.held {
			n.statsLocked(h.link).Dropped++
		}
		r.held = nil
	}
	n.mu.Unlock()
	n.wg.Wait()
	return nil
}

// Stats returns the counters of link. An end given as Any sums over every
// node at that end, so Stats(Link{}) covers the whole network.
func (n *Network) Stats(link Link) LinkStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	var sum LinkStats
	for l, s := range n.stats {
		if (link.From == Any || link.From == l.From) && (link.To == Any || link.To == l.To) {
			sum.add(s)
		}
	}
	return sum
}

// LinkStats counts what happened to frames on a link.
type LinkStats struct {
	// Sent counts Send calls that passed validation.
	Sent uint64
	// Delivered counts frames put into the receiver's inbox; a duplicated
	// frame counts twice. A delivered frame may still be lost if the
	// receiver crashes before reading it.
	Delivered uint64
	// Dropped counts frames discarded by a fault, a partition, a crashed
	// receiver, a Send whose ctx ended while it waited for room, or Close.
	Dropped uint64
	// Duplicated counts extra copies made by the Duplicate fault.
	Duplicated uint64
	// Corrupted counts frames with a flipped bit.
	Corrupted uint64
}

func (s *LinkStats) add(o *LinkStats) {
	s.Sent += o.Sent
	s.Delivered += o.Delivered
	s.Dropped += o.Dropped
	s.Duplicated += o.Duplicated
	s.Corrupted += o.Corrupted
}

func (n *Network) statsLocked(l Link) *LinkStats {
	s, ok := n.stats[l]
	if !ok {
		s = &LinkStats{}
		n.stats[l] = s
	}
	return s
}

func (n *Network) count(l Link, f func(*LinkStats)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f(n.statsLocked(l))
}

// afterLocked runs fn in its own goroutine after d, unless the network is
// closed first, in which case Close calls cancelled (if not nil) with n.mu
// held. The caller holds n.mu and has checked n.closed.
func (n *Network) afterLocked(d time.Duration, fn func(), cancelled func()) {
	n.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer n.wg.Done()
		n.mu.Lock()
		delete(n.timers, t) // t was assigned under n.mu before this could run
		if n.closed {
			// Close ran between the timer firing and this lock.
			if cancelled != nil {
				cancelled()
			}
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
		fn()
	})
	n.timers[t] = cancelled
}

// goLocked runs fn in a goroutine that Close waits for. The caller holds
// n.mu and has checked n.closed.
func (n *Network) goLocked(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}

// pending is a frame on its way to dst.
type pending struct {
	link  Link
	dst   *Endpoint
	frame transport.Frame
	delay time.Duration
}

// deliver puts p into its receiver's inbox, waiting for room. A nil ctx and
// nil from mean the network itself is delivering: only the receiver closing
// stops the wait. It returns ctx's error if ctx ended, or ErrClosed (wrapped)
// if from closed; a receiver that closed is a silent drop.
func (n *Network) deliver(ctx context.Context, from *Endpoint, p pending) error {
	var ctxDone, fromDone <-chan struct{}
	if ctx != nil {
		ctxDone = ctx.Done()
	}
	if from != nil {
		fromDone = from.done
	}
	select {
	case <-p.dst.done:
		return n.dropped(from, p)
	default:
	}
	select {
	case p.dst.inbox <- p.frame:
		n.count(p.link, func(s *LinkStats) { s.Delivered++ })
		return nil
	case <-p.dst.done:
		return n.dropped(from, p)
	case <-fromDone:
		return n.dropped(from, p)
	case <-ctxDone:
		n.count(p.link, func(s *LinkStats) { s.Dropped++ })
		return fmt.Errorf("memory: %q: send to %q: %w", from.id, p.dst.id, ctx.Err())
	}
}

// dropped counts p as dropped because an endpoint closed, and tells the
// sender (if any) whether that was itself. Counting takes n.mu, which
// Network.Close holds while it closes every endpoint, so a sender woken by
// its receiver's closing during Close still learns that it is closed too.
func (n *Network) dropped(from *Endpoint, p pending) error {
	n.count(p.link, func(s *LinkStats) { s.Dropped++ })
	if from != nil && from.isClosed() {
		return fmt.Errorf("memory: %q: send to %q: %w", from.id, p.dst.id, transport.ErrClosed)
	}
	return nil
}

// scheduleLocked sends p on its way without blocking the caller: after its
// delay, or now in a network goroutine.
func (n *Network) scheduleLocked(p pending) {
	if p.delay > 0 {
		n.afterLocked(p.delay, func() { _ = n.deliver(nil, nil, p) },
			func() { n.statsLocked(p.link).Dropped++ })
		return
	}
	n.goLocked(func() { _ = n.deliver(nil, nil, p) })
}

// Endpoint is one node's attachment to a Network. It implements
// transport.Transport and is safe for concurrent use.
type Endpoint struct {
	net    *Network
	id     transport.NodeID
	inbox  chan transport.Frame
	done   chan struct{}
	closed bool // guarded by net.mu
}

var _ transport.Transport = (*Endpoint)(nil)

// Self returns the endpoint's node id.
func (e *Endpoint) Self() transport.NodeID { return e.id }

// Send copies payload and queues it for node to. It returns an error
// wrapping transport.ErrClosed if this endpoint is closed,
// transport.ErrFrameTooLarge if payload is over the network's limit,
// transport.ErrUnknownNode if to was never created, or ctx's error if ctx
// ends first. A nil error does not mean delivery: faults, partitions and a
// crashed receiver drop frames silently. Send blocks while the receiver's
// inbox is full, unless the frame is delayed or held for reordering.
func (e *Endpoint) Send(ctx context.Context, to transport.NodeID, payload []byte) error {
	if e.isClosed() {
		return fmt.Errorf("memory: %q: send to %q: %w", e.id, to, transport.ErrClosed)
	}
	if len(payload) > e.net.maxFrame {
		return fmt.Errorf("memory: %q: send %d bytes to %q (limit %d): %w",
			e.id, len(payload), to, e.net.maxFrame, transport.ErrFrameTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %q: send to %q: %w", e.id, to, err)
	}
	data := slices.Clone(payload)
	if data == nil {
		data = []byte{}
	}

	n := e.net
	n.mu.Lock()
	if e.closed {
		n.mu.Unlock()
		return fmt.Errorf("memory: %q: send to %q: %w", e.id, to, transport.ErrClosed)
	}
	dst, ok := n.nodes[to]
	if !ok {
		n.mu.Unlock()
		return fmt.Errorf("memory: %q: send to %q: %w", e.id, to, transport.ErrUnknownNode)
	}
	link := Link{e.id, to}
	st := n.statsLocked(link)
	st.Sent++
	if _, cut := n.cuts[link]; cut || dst.closed {
		st.Dropped++
		n.mu.Unlock()
		return nil
	}
	now := n.routeLocked(link, dst, data)
	n.mu.Unlock()

	for _, p := range now {
		if err := n.deliver(ctx, e, p); err != nil {
			return err
		}
	}
	return nil
}

// Receive returns the next frame in the inbox, blocking until one arrives,
// ctx ends (ctx's error, wrapped), or the endpoint closes (an error wrapping
// transport.ErrClosed). Once the endpoint is closed, Receive returns
// ErrClosed even if frames were left in the inbox.
func (e *Endpoint) Receive(ctx context.Context) (transport.Frame, error) {
	select {
	case <-e.done:
		return transport.Frame{}, fmt.Errorf("memory: %q: receive: %w", e.id, transport.ErrClosed)
	default:
	}
	if err := ctx.Err(); err != nil {
		return transport.Frame{}, fmt.Errorf("memory: %q: receive: %w", e.id, err)
	}
	select {
	case f := <-e.inbox:
		return f, nil
	case <-e.done:
		return transport.Frame{}, fmt.Errorf("memory: %q: receive: %w", e.id, transport.ErrClosed)
	case <-ctx.Done():
		return transport.Frame{}, fmt.Errorf("memory: %q: receive: %w", e.id, ctx.Err())
	}
}

// Close closes the endpoint, exactly as Network.Crash does for its node;
// Network.Restart brings the node back. Close is idempotent and returns nil.
func (e *Endpoint) Close() error {
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	e.closeLocked()
	return nil
}

func (e *Endpoint) closeLocked() {
	if !e.closed {
		e.closed = true
		close(e.done)
	}
}

func (e *Endpoint) isClosed() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}
