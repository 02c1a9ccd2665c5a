package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/store"
)

// KeyResolver returns the trusted public key of a credential, for
// instance from authn.Service.Credential. It should return the key of a
// revoked credential too: evidence signed before a revocation stays valid.
//
// A nil KeyResolver means: trust the key embedded in each evidence. That
// checks self-consistency only (anyone can make a key and sign with it),
// not who signed.
type KeyResolver func(ctx context.Context, credentialID []byte) (authn.PublicKey, error)

// VerifyError is the first failure verification met.
type VerifyError struct {
	// Seq is the entry at fault: the one that does not recompute, does not
	// decode, is out of place, or whose evidence does not verify; for a
	// missing entry, the Seq that is missing.
	Seq uint64
	// Reason says what is wrong, for people.
	Reason string
	// Err wraps ErrTampered for a log that does not verify (with the authn
	// error too, for evidence that does not verify), or the KeyResolver's
	// or store's error when verification could not be completed.
	Err error
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("audit: entry %d: %s: %v", e.Seq, e.Reason, e.Err)
}

func (e *VerifyError) Unwrap() error { return e.Err }

// VerifyEntries checks entries offline: each entry's hash recomputes, Seq
// runs 1, 2, 3, … without gaps, each Prev equals the previous Hash, and
// every evidence decodes and verifies (authn.Evidence.Verify) under the key
// keys gives for its credential (nil keys: the key the evidence carries;
// see KeyResolver). The first failure is returned as a *VerifyError.
//
// An empty slice verifies. To check that entries are the whole log,
// compare the last entry with a Head anchored elsewhere.
func VerifyEntries(ctx context.Context, entries []Entry, keys KeyResolver) error {
	v := verifier{keys: keys}
	for i := range entries {
		if err := v.next(ctx, &entries[i]); err != nil {
			return err
		}
	}
	return nil
}

// verifier checks a log one entry at a time, in order.
type verifier struct {
	keys KeyResolver
	seq  uint64 // of the last entry checked
	hash []byte // of the last entry checked
}

func (v *verifier) next(ctx context.Context, e *Entry) error {
	want := v.seq + 1
	if err := ctx.Err(); err != nil {
		return &VerifyError{Seq: want, Reason: "verification interrupted", Err: err}
	}
	fail := func(reason string, args ...any) error {
		return &VerifyError{Seq: want, Reason: fmt.Sprintf(reason, args...), Err: ErrTampered}
	}
	if e.Seq != want {
		if e.Seq > want {
			return fail("entry missing: found entry %d in its place", e.Seq)
		}
		return fail("found entry %d in its place", e.Seq)
	}
	prev := v.hash
	if want == 1 {
		prev = make([]byte, HashSize)
	}
	if len(e.Hash) != HashSize {
		return fail("hash of %d bytes", len(e.Hash))
	}
	h, err := entryHash(e)
	if err != nil {
		return &VerifyError{Seq: want, Reason: "entry does not encode", Err: err}
	}
	if !bytes.Equal(h, e.Hash) {
		return fail("hash does not recompute from the entry")
	}
	if !bytes.Equal(e.Prev, prev) {
		return fail("Prev is not the hash of entry %d", want-1)
	}
	if _, err := checkRecord(e.Record, false); err != nil {
		return &VerifyError{Seq: want, Reason: "record out of bounds", Err: fmt.Errorf("%w: %w", ErrTampered, err)}
	}
	for i, b := range e.Evidence {
		var ev authn.Evidence
		if err := ev.UnmarshalBinary(b); err != nil {
			return &VerifyError{Seq: want, Reason: fmt.Sprintf("evidence %d does not decode", i), Err: fmt.Errorf("%w: %w", ErrTampered, err)}
		}
		pub := ev.PublicKey
		if v.keys != nil {
			pub, err = v.keys(ctx, ev.CredentialID)
			if err != nil {
				return &VerifyError{Seq: want, Reason: fmt.Sprintf("evidence %d: no trusted key for credential %s", i, ev.CredentialID), Err: err}
			}
		}
		if err := ev.Verify(pub); err != nil {
			return &VerifyError{Seq: want, Reason: fmt.Sprintf("evidence %d (%s, credential %s) does not verify", i, ev.Principal, ev.CredentialID), Err: fmt.Errorf("%w: %w", ErrTampered, err)}
		}
	}
	v.seq, v.hash = e.Seq, e.Hash
	return nil
}

// verifyBatch is how many entries Verify reads per store transaction.
// Evidence is verified between transactions, so that a KeyResolver may
// read the same store without nesting a transaction inside the log's.
const verifyBatch = 256

// Verify walks the whole stored log and checks it as VerifyEntries does;
// it also checks that no entry lies beyond the head record and that the
// last entry's hash is the head's. Entries appended while it runs may or
// may not be checked.
func (l *Log) Verify(ctx context.Context, keys KeyResolver) error {
	var head uint64
	var headHash []byte
	// stray is the first key that is not an entry within the head. It is
	// reported after the chain, so that the error names the lowest entry
	// at fault.
	var stray error
	err := l.store.View(ctx, func(tx store.Tx) error {
		var err error
		head, headHash, err = readHead(tx)
		if err != nil {
			return err
		}
		return tx.ForEach(bucketEntries, nil, func(k, _ []byte) error {
			switch {
			case len(k) != 8:
				stray = &VerifyError{Seq: head + 1, Reason: fmt.Sprintf("stray key %x in the log", k), Err: ErrTampered}
			case binary.BigEndian.Uint64(k) == 0 || binary.BigEndian.Uint64(k) > head:
				stray = &VerifyError{Seq: binary.BigEndian.Uint64(k), Reason: fmt.Sprintf("entry beyond the head (%d)", head), Err: ErrTampered}
			default:
				return nil
			}
			return errStop
		})
	})
	if err != nil && !errors.Is(err, errStop) {
		return verifyErr(head+1, err)
	}
	v := verifier{keys: keys}
	for first := uint64(1); first <= head; first += verifyBatch {
		last := min(head, first+verifyBatch-1)
		var batch []Entry
		err := l.store.View(ctx, func(tx store.Tx) error {
			var err error
			batch, err = readRange(ctx, tx, first, last)
			return err
		})
		if err != nil {
			return verifyErr(first, err)
		}
		for i := range batch {
			if err := v.next(ctx, &batch[i]); err != nil {
				return err
			}
		}
	}
	if head > 0 && !bytes.Equal(v.hash, headHash) {
		return &VerifyError{Seq: head, Reason: "the head record names another hash", Err: ErrTampered}
	}
	return stray
}

var errStop = errors.New("stop")

// verifyErr returns err as a *VerifyError, at seq if it is not one yet.
func verifyErr(seq uint64, err error) error {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return err
	}
	return &VerifyError{Seq: seq, Reason: "reading the log", Err: err}
}
