package policy

import (
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/cairn-mpc/cairn/store"
)

// The history records use a compact hand-written encoding rather than CBOR:
// the velocity rules decode dozens of them per evaluation.
//
//	entry:     uvarint len(asset) asset  0x00 (amount unknown) | 0x01 uvarint len(mag) mag
//	aggregate: uvarint count  uvarint unknown  uvarint n  n × (uvarint len(asset) asset uvarint len(mag) mag)
//
// mag is a big-endian unsigned magnitude. Amounts are never negative.

// maxRecordField bounds any length field, so a corrupt record cannot make
// the decoder allocate without bound.
const maxRecordField = 1 << 16

func encodeEntry(asset string, amount *big.Int) []byte {
	b := appendString(nil, asset)
	if amount == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	return appendBytes(b, amount.Bytes())
}

// decodeEntry adds an entry to into.
func decodeEntry(b []byte, into *windowResult) error {
	asset, mag, known, err := parseEntry(b)
	if err != nil {
		return err
	}
	into.count++
	if known {
		into.addMag(asset, mag)
	} else {
		into.unknown++
	}
	return nil
}

// parseEntry splits an entry; mag is meaningful only if known.
func parseEntry(b []byte) (asset, mag []byte, known bool, err error) {
	r := reader{b: b}
	asset = r.bytes()
	switch r.byte() {
	case 0:
	case 1:
		mag, known = r.bytes(), true
	default:
		r.fail()
	}
	return asset, mag, known, r.done()
}

func encodeAggregate(w *windowResult) []byte {
	b := binary.AppendUvarint(nil, w.count)
	b = binary.AppendUvarint(b, w.unknown)
	b = binary.AppendUvarint(b, uint64(len(w.sums)))
	for _, s := range w.sums {
		b = appendString(b, s.asset)
		b = appendBytes(b, s.sum.Bytes())
	}
	return b
}

// decodeAggregate adds an aggregate to into.
func decodeAggregate(b []byte, into *windowResult) error {
	r := reader{b: b}
	into.count += r.uvarint()
	into.unknown += r.uvarint()
	n := r.uvarint()
	if n > maxRecordField {
		r.fail()
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		asset, mag := r.bytes(), r.bytes()
		if r.err == nil {
			into.addMag(asset, mag)
		}
	}
	return r.done()
}

// appendString appends s with a uvarint length prefix, so that in a key
// no string's encoding is a prefix of another's.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// reader decodes the encodings above; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("policy: history record: %w", store.ErrCorrupt)
	}
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > maxRecordField || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	v := r.b[:n:n] // callers copy (string(), SetBytes)
	r.b = r.b[n:]
	return v
}

func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return r.err
}
