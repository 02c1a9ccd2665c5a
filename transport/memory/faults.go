package memory

import (
	"fmt"
	"slices"
	"time"

	"github.com/cairn-mpc/cairn/transport"
)

// Faults describes what a link does to the frames it carries. The zero value
// is a perfect link; setting it on a link with SetFaults overrides any less
// specific rule (see the package doc for precedence and the order in which
// faults apply).
type Faults struct {
	// Drop is the probability, in [0, 1], that a frame is dropped; 1 drops
	// every frame.
	Drop float64
	// DropNext drops the next DropNext frames that the rule matches,
	// whatever Drop says; then Drop applies.
	DropNext int
	// Corrupt is the probability, in [0, 1], that one random bit of a
	// non-empty payload is flipped.
	Corrupt float64
	// Duplicate is the probability, in [0, 1], that a frame is delivered
	// twice, as two independent copies.
	Duplicate float64
	// Reorder, when 2 or more, holds frames until Reorder of them have
	// gathered on the rule, then releases them together in shuffled order.
	// Held frames are also released when ReorderTimeout passes, and when the
	// rule is replaced or removed; Close drops them.
	Reorder int
	// ReorderTimeout bounds how long the first held frame of a batch waits
	// for the window to fill. Zero means no bound.
	ReorderTimeout time.Duration
	// Delay is added to every frame's delivery time. A delayed frame is
	// delivered by a timer and never blocks its sender.
	Delay time.Duration
	// Jitter adds a uniformly random extra delay in [0, Jitter] to each
	// frame, so Jitter alone gives a random delay up to a maximum.
	Jitter time.Duration
}

func (f Faults) validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"Drop", f.Drop}, {"Corrupt", f.Corrupt}, {"Duplicate", f.Duplicate}} {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("%s probability %v is not in [0, 1]", p.name, p.v)
		}
	}
	switch {
	case f.DropNext < 0:
		return fmt.Errorf("DropNext %d is negative", f.DropNext)
	case f.Reorder < 0:
		return fmt.Errorf("Reorder %d is negative", f.Reorder)
	case f.ReorderTimeout < 0:
		return fmt.Errorf("ReorderTimeout %v is negative", f.ReorderTimeout)
	case f.Delay < 0:
		return fmt.Errorf("Delay %v is negative", f.Delay)
	case f.Jitter < 0:
		return fmt.Errorf("Jitter %v is negative", f.Jitter)
	}
	return nil
}

// rule is the live state of the Faults set on one Link.
type rule struct {
	faults   Faults
	dropNext int
	held     []pending
	gen      uint64 // incremented at every release, so a stale reorder timer does nothing
}

// SetFaults makes f the rule for link, replacing any rule set on exactly that
// link (whose held frames are released) and resetting its DropNext count.
// Either end of link may be Any. It returns an error if f is invalid: a
// probability outside [0, 1] or a negative count or duration.
func (n *Network) SetFaults(link Link, f Faults) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("memory: faults for %s: %w", link, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if old, ok := n.rules[link]; ok {
		n.releaseLocked(old)
	}
	n.rules[link] = &rule{faults: f, dropNext: f.DropNext}
	return nil
}

// RemoveFaults removes the rule set on exactly link, releasing its held
// frames; frames on link then obey the next most specific rule, if any.
func (n *Network) RemoveFaults(link Link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if old, ok := n.rules[link]; ok {
		n.releaseLocked(old)
		delete(n.rules, link)
	}
}

// ClearFaults removes every rule, releasing held frames. Frames already
// delayed are still delivered late. Partitions and crashes are separate:
// see Heal and Restart.
func (n *Network) ClearFaults() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.rules {
		n.releaseLocked(r)
	}
	clear(n.rules)
}

// ruleLocked returns the most specific rule matching the exact link l, or nil.
func (n *Network) ruleLocked(l Link) *rule {
	for _, k := range [...]Link{l, {l.From, Any}, {Any, l.To}, {Any, Any}} {
		if r, ok := n.rules[k]; ok {
			return r
		}
	}
	return nil
}

// routeLocked applies the faults of link to a frame carrying data (already
// the network's own copy) and returns the copies that the sender must
// deliver now; the others are dropped, held or scheduled.
func (n *Network) routeLocked(link Link, dst *Endpoint, data []byte) []pending {
	p := pending{link: link, dst: dst, frame: transport.Frame{From: link.From, To: link.To, Payload: data}}
	r := n.ruleLocked(link)
	if r == nil {
		return []pending{p}
	}
	f := r.faults
	st := n.statsLocked(link)
	if r.dropNext > 0 {
		r.dropNext--
		st.Dropped++
		return nil
	}
	if f.Drop > 0 && n.rng.Float64() < f.Drop {
		st.Dropped++
		return nil
	}
	if f.Corrupt > 0 && len(data) > 0 && n.rng.Float64() < f.Corrupt {
		bit := n.rng.IntN(len(data) * 8)
		data[bit/8] ^= 1 << (bit % 8)
		st.Corrupted++
	}
	copies := []pending{p}
	if f.Duplicate > 0 && n.rng.Float64() < f.Duplicate {
		q := p
		q.frame.Payload = slices.Clone(data)
		copies = append(copies, q)
		st.Duplicated++
	}
	var now []pending
	for _, c := range copies {
		c.delay = f.Delay
		if f.Jitter > 0 {
			c.delay += time.Duration(n.rng.Int64N(int64(f.Jitter) + 1))
		}
		switch {
		case f.Reorder >= 2:
			n.holdLocked(r, c)
		case c.delay > 0:
			n.scheduleLocked(c)
		default:
			now = append(now, c)
		}
	}
	return now
}

// holdLocked adds p to r's reorder batch, releasing the batch when it is
// full and arming the timeout when it starts.
func (n *Network) holdLocked(r *rule, p pending) {
	r.held = append(r.held, p)
	if len(r.held) >= r.faults.Reorder {
		n.releaseLocked(r)
		return
	}
	if len(r.held) == 1 && r.faults.ReorderTimeout > 0 {
		gen := r.gen
		n.afterLocked(r.faults.ReorderTimeout, func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			if r.gen == gen && !n.closed {
				n.releaseLocked(r)
			}
		}, nil)
	}
}

// releaseLocked shuffles r's held frames and sends them on their way: frames
// without delay in shuffled order from one goroutine, delayed ones by timer.
func (n *Network) releaseLocked(r *rule) {
	r.gen++
	batch := r.held
	r.held = nil
	if len(batch) == 0 {
		return
	}
	if n.closed {
		for _, p := range batch {
			n.statsLocked(p.link).Dropped++
		}
		return
	}
	n.rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	var now []pending
	for _, p := range batch {
		if p.delay > 0 {
			n.scheduleLocked(p)
		} else {
			now = append(now, p)
		}
	}
	if len(now) > 0 {
		n.goLocked(func() {
			for _, p := range now {
				_ = n.deliver(nil, nil, p)
			}
		})
	}
}
