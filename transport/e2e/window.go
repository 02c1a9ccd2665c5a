package e2e

// windowSize is how far behind the highest counter seen a frame may arrive
// and still be accepted once: concurrent senders and reordering carriers
// deliver slightly out of order.
const windowSize = 256

// window is a sliding replay window over counters (RFC 4303 §3.4.3 style).
// The zero value has seen nothing.
type window struct {
	max  uint64
	bits [windowSize / 64]uint64 // bit i: counter max-i was seen
}

// fresh reports whether counter c may be accepted: never seen, and not too
// far behind the highest seen.
func (w *window) fresh(c uint64) bool {
	switch {
	case c == 0:
		return false
	case c > w.max:
		return true
	case w.max-c >= windowSize:
		return false
	}
	i := w.max - c
	return w.bits[i/64]&(1<<(i%64)) == 0
}

// record marks c as seen; the caller has checked fresh(c).
func (w *window) record(c uint64) {
	if c > w.max {
		w.shift(c - w.max)
		w.max = c
	}
	i := w.max - c
	w.bits[i/64] |= 1 << (i % 64)
}

// shift moves the window forward by d counters.
func (w *window) shift(d uint64) {
	if d >= windowSize {
		w.bits = [windowSize / 64]uint64{}
		return
	}
	words, b := int(d/64), d%64
	n := len(w.bits)
	for i := n - 1; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = w.bits[j] << b
			if b > 0 && j-1 >= 0 {
				v |= w.bits[j-1] >> (64 - b)
			}
		}
		w.bits[i] = v
	}
}
