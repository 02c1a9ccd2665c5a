package audit

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/cairn-mpc/cairn/internal/wire"
)

// Format is the version of the entry body encoding, hashed with every
// entry.
const Format uint32 = 1

// hashDomain separates entry hashes from every other SHA-256 in Cairn.
const hashDomain = "cairn/custody/audit/entry\x00"

// body is what an entry's hash covers, in wire's deterministic CBOR.
type body struct {
	Format   uint32   `cbor:"1,keyasint"`
	Seq      uint64   `cbor:"2,keyasint"`
	Time     int64    `cbor:"3,keyasint"` // Unix nanoseconds
	Kind     string   `cbor:"4,keyasint"`
	Actor    string   `cbor:"5,keyasint,omitempty"`
	Subject  string   `cbor:"6,keyasint,omitempty"`
	Details  []byte   `cbor:"7,keyasint,omitempty"`
	Evidence [][]byte `cbor:"8,keyasint,omitempty"`
	Prev     []byte   `cbor:"9,keyasint"`
}

// stored is an entry as the store holds it: the exact body bytes that were
// hashed, and the hash.
type stored struct {
	Body []byte `cbor:"1,keyasint"`
	Hash []byte `cbor:"2,keyasint"`
}

// headRecord is the log's head as the store holds it.
type headRecord struct {
	Seq  uint64 `cbor:"1,keyasint"`
	Hash []byte `cbor:"2,keyasint"`
}

// encodeBody returns the deterministic encoding e's hash covers.
func encodeBody(e *Entry) ([]byte, error) {
	if !representable(e.Time) {
		return nil, fmt.Errorf("%w: time %v is outside the years 1678–2262", ErrTampered, e.Time)
	}
	b := body{
		Format: Format, Seq: e.Seq, Time: e.Time.UnixNano(),
		Kind: e.Kind, Actor: e.Actor, Subject: e.Subject,
		Details: e.Details, Evidence: e.Evidence, Prev: e.Prev,
	}
	if len(b.Details) == 0 {
		b.Details = nil
	}
	if len(b.Evidence) == 0 {
		b.Evidence = nil
	}
	out, err := wire.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("audit: encoding entry %d: %w", e.Seq, err)
	}
	return out, nil
}

func hashBody(b []byte) []byte {
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write(b)
	return h.Sum(nil)
}

// entryHash recomputes e's hash from its fields.
func entryHash(e *Entry) ([]byte, error) {
	b, err := encodeBody(e)
	if err != nil {
		return nil, err
	}
	return hashBody(b), nil
}

func encodeStored(body, hash []byte) ([]byte, error) {
	out, err := wire.Marshal(stored{Body: body, Hash: hash})
	if err != nil {
		return nil, fmt.Errorf("audit: encoding entry: %w", err)
	}
	return out, nil
}

// decodeStored decodes a stored entry strictly: both layers must be the
// canonical encoding of what they decode to, so that the entry's fields
// re-encode to exactly the stored body. It does not check the hash.
func decodeStored(v []byte) (Entry, error) {
	var s stored
	if err := wire.Unmarshal(v, &s); err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrTampered, err)
	}
	if again, err := wire.Marshal(s); err != nil || !bytes.Equal(again, v) {
		return Entry{}, fmt.Errorf("%w: stored entry is not in canonical form", ErrTampered)
	}
	var b body
	if err := wire.Unmarshal(s.Body, &b); err != nil {
		return Entry{}, fmt.Errorf("%w: body: %w", ErrTampered, err)
	}
	if b.Format != Format {
		return Entry{}, fmt.Errorf("%w: body format %d, this build reads %d", ErrTampered, b.Format, Format)
	}
	if again, err := wire.Marshal(b); err != nil || !bytes.Equal(again, s.Body) {
		return Entry{}, fmt.Errorf("%w: entry body is not in canonical form", ErrTampered)
	}
	return Entry{
		Seq:  b.Seq,
		Time: time.Unix(0, b.Time).UTC(),
		Record: Record{
			Kind: b.Kind, Actor: b.Actor, Subject: b.Subject,
			Details: b.Details, Evidence: b.Evidence,
		},
		Prev: b.Prev,
		Hash: s.Hash,
	}, nil
}

func encodeHead(seq uint64, hash []byte) ([]byte, error) {
	out, err := wire.Marshal(headRecord{Seq: seq, Hash: hash})
	if err != nil {
		return nil, fmt.Errorf("audit: encoding the head: %w", err)
	}
	return out, nil
}

func decodeHead(v []byte) (uint64, []byte, error) {
	var h headRecord
	if err := wire.Unmarshal(v, &h); err != nil {
		return 0, nil, fmt.Errorf("%w: head record: %w", ErrTampered, err)
	}
	if len(h.Hash) != HashSize {
		return 0, nil, fmt.Errorf("%w: head record hash of %d bytes", ErrTampered, len(h.Hash))
	}
	return h.Seq, h.Hash, nil
}
