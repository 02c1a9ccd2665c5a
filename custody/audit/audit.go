package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/store"
)

// Bucket names. The log lives in these two buckets only.
const (
	bucketEntries = "audit.entries" // Seq (8 bytes big-endian) → stored entry
	bucketMeta    = "audit.meta"    // "head" → head record
)

var keyHead = []byte("head")

// Limits on a Record; Append refuses anything larger with ErrInvalid. Their
// sum keeps an entry within the wire codec's 1 MiB limit.
const (
	MaxKindSize     = 128      // bytes of Kind
	MaxActorSize    = 256      // bytes of Actor
	MaxSubjectSize  = 256      // bytes of Subject
	MaxDetailsSize  = 64 << 10 // bytes of Details
	MaxEvidence     = 16       // pieces of evidence in one record
	MaxEvidenceSize = 48 << 10 // bytes of one piece of evidence
)

// HashSize is the size of Entry.Hash and Entry.Prev.
const HashSize = 32

var (
	// ErrInvalid reports a Record that Append refuses: empty Kind, a field
	// over its limit or not valid UTF-8, evidence that does not decode or
	// does not verify under its own key. Nothing is written.
	ErrInvalid = errors.New("audit: invalid record")
	// ErrTampered reports stored or exported entries that are not a valid
	// chain: an entry that does not decode, a hash that does not recompute,
	// a gap, a Prev that is not the previous Hash, evidence that does not
	// verify. Verification errors are *VerifyError values wrapping it.
	ErrTampered = errors.New("audit: log does not verify")
)

// Record is what custody appends for each step of the request path.
type Record struct {
	// Kind says what happened ("wallet.created", "request.received",
	// "request.refused", "policy.evaluated", "approval.decided",
	// "request.signed", "request.broadcast", "request.confirmed", …).
	// Required.
	Kind string
	// Actor is the identity id of who acted, or "system".
	Actor string
	// Subject is what the entry is about: a request, wallet or policy id.
	Subject string
	// Details is canonical JSON chosen by the caller, or nil. The log
	// treats it as opaque bytes; an empty slice is stored as nil.
	Details []byte
	// Evidence holds zero or more signed user actions, each the
	// authn.Evidence.MarshalBinary encoding.
	Evidence [][]byte
}

// Entry is a Record as the log holds it.
type Entry struct {
	// Seq is the entry's position: 1, 2, 3, … without gaps.
	Seq uint64
	// Time is when the entry was appended, from Config.Clock, in UTC.
	Time time.Time
	Record
	// Prev is the Hash of entry Seq-1 (HashSize zero bytes for Seq 1).
	Prev []byte
	// Hash is the SHA-256 of the entry (see the package documentation).
	Hash []byte
}

// Config configures a Log.
type Config struct {
	// Store holds the log, in its own buckets. Required.
	Store store.Store
	// Clock returns the time stamped on each entry; default time.Now.
	// Entry times are not required to increase (clocks step back).
	Clock func() time.Time
}

// Log is the audit log over a store. It is safe for concurrent use; all
// state lives in the store.
type Log struct {
	store store.Store
	clock func() time.Time
}

// New returns the Log over cfg.Store.
func New(cfg Config) (*Log, error) {
	if cfg.Store == nil {
		return nil, errors.New("audit: Config.Store is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Log{store: cfg.Store, clock: cfg.Clock}, nil
}

// seqKey is the store key of entry seq.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// Append adds r to the log inside tx, the caller's write transaction on
// Config.Store (a transaction of another store would split the log), so
// that a state change and its audit entry commit together, or neither
// does. It checks r first (see ErrInvalid) and writes nothing if r is
// refused. The returned Entry is valid only if tx commits.
//
// Evidence is checked for self-consistency (it verifies under the public
// key it carries) so that the log never holds evidence that could not
// verify; who owns that key is for Verify's KeyResolver to say.
func (l *Log) Append(ctx context.Context, tx store.Tx, r Record) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	r, err := checkRecord(r, true)
	if err != nil {
		return Entry{}, err
	}
	seq, prev, err := readHead(tx)
	if err != nil {
		return Entry{}, err
	}
	if seq == ^uint64(0) {
		return Entry{}, fmt.Errorf("audit: the log is full")
	}
	seq++
	// The head says seq is free; refuse to overwrite if it is not (a head
	// record rolled back or removed behind the log's back).
	if _, err := tx.Get(bucketEntries, seqKey(seq)); err == nil {
		return Entry{}, fmt.Errorf("%w: entry %d exists beyond the head; run Verify", ErrTampered, seq)
	} else if !errors.Is(err, store.ErrNotFound) {
		return Entry{}, fmt.Errorf("audit: reading entry %d: %w", seq, err)
	}
	now := l.clock()
	if !representable(now) {
		return Entry{}, fmt.Errorf("audit: clock time %v is outside the years 1678–2262", now)
	}
	e := Entry{Seq: seq, Time: time.Unix(0, now.UnixNano()).UTC(), Record: r, Prev: prev}
	body, err := encodeBody(&e)
	if err != nil {
		return Entry{}, err
	}
	e.Hash = hashBody(body)
	stored, err := encodeStored(body, e.Hash)
	if err != nil {
		return Entry{}, err
	}
	if err := tx.Put(bucketEntries, seqKey(seq), stored); err != nil {
		return Entry{}, fmt.Errorf("audit: writing entry %d: %w", seq, err)
	}
	h, err := encodeHead(seq, e.Hash)
	if err != nil {
		return Entry{}, err
	}
	if err := tx.Put(bucketMeta, keyHead, h); err != nil {
		return Entry{}, fmt.Errorf("audit: writing the head: %w", err)
	}
	return e, nil
}

// AppendNow is Append in a transaction of its own.
func (l *Log) AppendNow(ctx context.Context, r Record) (Entry, error) {
	var e Entry
	err := l.store.Update(ctx, func(tx store.Tx) error {
		var err error
		e, err = l.Append(ctx, tx, r)
		return err
	})
	if err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Head returns the Seq and Hash of the last entry: (0, HashSize zero bytes)
// for an empty log. Anchor it outside the store to detect a rewritten log.
func (l *Log) Head(ctx context.Context) (seq uint64, hash []byte, err error) {
	err = l.store.View(ctx, func(tx store.Tx) error {
		seq, hash, err = readHead(tx)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return seq, hash, nil
}

// Entries returns the entries from Seq from (0 is taken as 1) on, at most
// limit of them (limit ≤ 0: all up to the head). It decodes but does not
// verify the chain; an entry that is missing or does not decode yields a
// *VerifyError wrapping ErrTampered.
func (l *Log) Entries(ctx context.Context, from uint64, limit int) ([]Entry, error) {
	from = max(from, 1)
	var out []Entry
	err := l.store.View(ctx, func(tx store.Tx) error {
		head, _, err := readHead(tx)
		if err != nil {
			return err
		}
		if from > head {
			return nil
		}
		last := head
		if limit > 0 && uint64(limit) <= head-from {
			last = from + uint64(limit) - 1
		}
		out, err = readRange(ctx, tx, from, last)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readRange reads and decodes entries first..last.
func readRange(ctx context.Context, tx store.Tx, first, last uint64) ([]Entry, error) {
	out := make([]Entry, 0, min(last-first+1, 1024))
	for seq := first; seq <= last; seq++ {
		if seq&0xff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		v, err := tx.Get(bucketEntries, seqKey(seq))
		if errors.Is(err, store.ErrNotFound) {
			return nil, &VerifyError{Seq: seq, Reason: "entry missing", Err: ErrTampered}
		}
		if err != nil {
			return nil, fmt.Errorf("audit: reading entry %d: %w", seq, err)
		}
		e, err := decodeStored(v)
		if err != nil {
			return nil, &VerifyError{Seq: seq, Reason: "entry does not decode", Err: err}
		}
		if e.Seq != seq {
			return nil, &VerifyError{Seq: seq, Reason: fmt.Sprintf("stored at %d, entry says %d", seq, e.Seq), Err: ErrTampered}
		}
		out = append(out, e)
	}
	return out, nil
}

// readHead returns the head record, or (0, zeros) if there is none.
func readHead(tx store.Tx) (uint64, []byte, error) {
	v, err := tx.Get(bucketMeta, keyHead)
	if errors.Is(err, store.ErrNotFound) {
		return 0, make([]byte, HashSize), nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("audit: reading the head: %w", err)
	}
	seq, hash, err := decodeHead(v)
	if err != nil {
		return 0, nil, err
	}
	return seq, hash, nil
}

// checkRecord checks r against the limits and returns it normalised (empty
// slices as nil, its slices copied). With selfVerify, every evidence must
// also verify under the key it carries.
func checkRecord(r Record, selfVerify bool) (Record, error) {
	if r.Kind == "" {
		return Record{}, fmt.Errorf("%w: empty Kind", ErrInvalid)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"Kind", r.Kind, MaxKindSize}, {"Actor", r.Actor, MaxActorSize}, {"Subject", r.Subject, MaxSubjectSize}} {
		if len(f.v) > f.max {
			return Record{}, fmt.Errorf("%w: %s of %d bytes, over the %d limit", ErrInvalid, f.name, len(f.v), f.max)
		}
		if !utf8.ValidString(f.v) {
			return Record{}, fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, f.name)
		}
	}
	if len(r.Details) > MaxDetailsSize {
		return Record{}, fmt.Errorf("%w: Details of %d bytes, over the %d limit", ErrInvalid, len(r.Details), MaxDetailsSize)
	}
	if len(r.Evidence) > MaxEvidence {
		return Record{}, fmt.Errorf("%w: %d pieces of evidence, over the %d limit", ErrInvalid, len(r.Evidence), MaxEvidence)
	}
	out := Record{Kind: r.Kind, Actor: r.Actor, Subject: r.Subject}
	if len(r.Details) > 0 {
		out.Details = bytes.Clone(r.Details)
	}
	for i, b := range r.Evidence {
		if len(b) > MaxEvidenceSize {
			return Record{}, fmt.Errorf("%w: evidence %d of %d bytes, over the %d limit", ErrInvalid, i, len(b), MaxEvidenceSize)
		}
		var ev authn.Evidence
		if err := ev.UnmarshalBinary(b); err != nil {
			return Record{}, fmt.Errorf("%w: evidence %d: %w", ErrInvalid, i, err)
		}
		if selfVerify {
			if err := ev.Verify(ev.PublicKey); err != nil {
				return Record{}, fmt.Errorf("%w: evidence %d does not verify under its own key: %w", ErrInvalid, i, err)
			}
		}
		out.Evidence = append(out.Evidence, bytes.Clone(b))
	}
	return out, nil
}

// representable reports whether t survives the trip through Unix
// nanoseconds.
func representable(t time.Time) bool {
	return time.Unix(0, t.UnixNano()).Equal(t)
}
