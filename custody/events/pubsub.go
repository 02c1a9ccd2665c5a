package events

import "sync"

type subscriber struct {
	ch   chan Event
	once sync.Once
}

// Subscribe returns a channel that receives the events passed to Publish
// from now on, and a function that unsubscribes and closes the channel
// (calling it again does nothing). buffer is the channel's capacity (at
// least 1): Publish never waits for a subscriber, so one that falls more
// than buffer events behind misses events, and Dropped counts them.
// Subscribers are in-process and best effort; what must not be missed is
// read from webhooks or from the state the events report.
func (b *Bus) Subscribe(buffer int) (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, max(buffer, 1))}
	b.subMu.Lock()
	b.subs[s] = struct{}{}
	b.subMu.Unlock()
	return s.ch, func() {
		s.once.Do(func() {
			b.subMu.Lock()
			delete(b.subs, s)
			b.subMu.Unlock()
			close(s.ch)
		})
	}
}

// Publish hands e to every subscriber without waiting (a subscriber whose
// buffer is full misses it) and wakes the delivery worker. Call it after
// the transaction that enqueued e has committed; for an event that was not
// enqueued it only reaches subscribers.
func (b *Bus) Publish(e Event) {
	b.subMu.RLock()
	for s := range b.subs {
		select {
		case s.ch <- e:
		default:
			b.dropped.Add(1)
		}
	}
	b.subMu.RUnlock()
	b.signal()
}

// Dropped returns the number of events subscribers have missed because
// their buffers were full, since New.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }
