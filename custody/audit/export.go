package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// ExportVersion is the value of "v" in every exported line.
const ExportVersion = 1

// MaxLineSize is the longest line Read accepts, newline excluded: the
// largest entry Append can write, base64-encoded, with room to spare.
const MaxLineSize = 2 << 20

// ErrMalformed reports an export that Read does not accept.
var ErrMalformed = errors.New("audit: malformed export")

// line is one exported entry. Field order is the encoding's; see Export.
type line struct {
	V        int      `json:"v"`
	Seq      uint64   `json:"seq"`
	Time     string   `json:"time"`
	Kind     string   `json:"kind"`
	Actor    string   `json:"actor,omitempty"`
	Subject  string   `json:"subject,omitempty"`
	Details  []byte   `json:"details,omitempty"`
	Evidence [][]byte `json:"evidence,omitempty"`
	Prev     string   `json:"prev"`
	Hash     string   `json:"hash"`
}

const timeLayout = time.RFC3339Nano

func marshalLine(e *Entry) ([]byte, error) {
	if !representable(e.Time) {
		return nil, fmt.Errorf("audit: entry %d: time %v is outside the years 1678–2262", e.Seq, e.Time)
	}
	l := line{
		V: ExportVersion, Seq: e.Seq, Time: e.Time.UTC().Format(timeLayout),
		Kind: e.Kind, Actor: e.Actor, Subject: e.Subject,
		Details: e.Details, Evidence: e.Evidence,
		Prev: hex.EncodeToString(e.Prev), Hash: hex.EncodeToString(e.Hash),
	}
	if len(l.Details) == 0 {
		l.Details = nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("audit: exporting entry %d: %w", e.Seq, err)
	}
	return b, nil
}

// Export writes the whole log to w as JSON Lines: one entry per line, each
// line a JSON object ending in "\n", written by encoding/json with the
// members in this order:
//
//	v         ExportVersion (1)
//	seq       Seq
//	time      Time, UTC, RFC 3339 with nanoseconds, trailing zeros dropped
//	kind      Kind
//	actor     Actor, omitted if empty
//	subject   Subject, omitted if empty
//	details   Details, standard base64 with padding, omitted if empty
//	evidence  array of the evidence encodings, each standard base64, omitted if none
//	prev      Prev, lowercase hex
//	hash      Hash, lowercase hex
//
// Nothing else: no whitespace, and json's HTML escaping of <, > and &.
// Read accepts exactly this form, so every entry has one encoding. Export
// reads the log in batches; it does not verify it (VerifyEntries does,
// on what Read returns).
func (l *Log) Export(ctx context.Context, w io.Writer) error {
	var head uint64
	err := l.store.View(ctx, func(tx store.Tx) error {
		var err error
		head, _, err = readHead(tx)
		return err
	})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for first := uint64(1); first <= head; first += verifyBatch {
		last := min(head, first+verifyBatch-1)
		var batch []Entry
		if err := l.store.View(ctx, func(tx store.Tx) error {
			var err error
			batch, err = readRange(ctx, tx, first, last)
			return err
		}); err != nil {
			return err
		}
		for i := range batch {
			b, err := marshalLine(&batch[i])
			if err != nil {
				return err
			}
			b = append(b, '\n')
			if _, err := bw.Write(b); err != nil {
				return fmt.Errorf("audit: exporting: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit: exporting: %w", err)
	}
	return nil
}

// Read decodes an export written by Export. It is strict: each line must
// be exactly what Export writes for the entry it decodes to (no unknown or
// duplicate members, no whitespace, canonical base64, hex and time), at
// most MaxLineSize bytes, and end in "\n" (the last one may omit it). It
// checks the format only; pass the result to VerifyEntries. Errors wrap
// ErrMalformed, or the reader's error.
func Read(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineSize+1)
	sc.Split(splitLines)
	var out []Entry
	for n := 1; sc.Scan(); n++ {
		e, err := unmarshalLine(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrMalformed, n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: line %d is over %d bytes", ErrMalformed, len(out)+1, MaxLineSize)
		}
		return nil, fmt.Errorf("audit: reading export: %w", err)
	}
	return out, nil
}

// splitLines splits at "\n" only, keeping any "\r" (which Read then
// refuses).
func splitLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func unmarshalLine(b []byte) (Entry, error) {
	if len(b) > MaxLineSize {
		return Entry{}, fmt.Errorf("over %d bytes", MaxLineSize)
	}
	var l line
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Entry{}, err
	}
	if l.V != ExportVersion {
		return Entry{}, fmt.Errorf("version %d, this build reads %d", l.V, ExportVersion)
	}
	t, err := time.Parse(timeLayout, l.Time)
	if err != nil {
		return Entry{}, fmt.Errorf("time: %w", err)
	}
	prev, err := hex.DecodeString(l.Prev)
	if err != nil || len(prev) != HashSize {
		return Entry{}, errors.New("prev is not a hex SHA-256")
	}
	hash, err := hex.DecodeString(l.Hash)
	if err != nil || len(hash) != HashSize {
		return Entry{}, errors.New("hash is not a hex SHA-256")
	}
	e := Entry{
		Seq: l.Seq, Time: t.UTC(),
		Record: Record{Kind: l.Kind, Actor: l.Actor, Subject: l.Subject, Details: l.Details, Evidence: l.Evidence},
		Prev:   prev, Hash: hash,
	}
	again, err := marshalLine(&e)
	if err != nil {
		return Entry{}, err
	}
	if !bytes.Equal(again, b) {
		return Entry{}, errors.New("not in the canonical form Export writes")
	}
	return e, nil
}
