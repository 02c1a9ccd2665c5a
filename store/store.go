// Package store is Cairn's persistence contract: a small transactional
// key/value store of named buckets, plus the sealing of records that hold
// secrets (see Sealer). Package store/bolt is the embedded default, on bbolt.
//
// Every component that persists (signers, coordinator, policy engine,
// authn, custody) takes a Store; each signer has its own.
package store

import (
	"context"
	"errors"
)

var (
	// ErrNotFound is returned by Tx.Get for a key (or bucket) that does not
	// exist.
	ErrNotFound = errors.New("store: not found")
	// ErrReadOnly is returned by a write inside View.
	ErrReadOnly = errors.New("store: read-only transaction")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store: closed")
	// ErrSchema is returned when opening a store written by an incompatible
	// schema version.
	ErrSchema = errors.New("store: incompatible schema version")
	// ErrCorrupt is returned for data that fails an integrity check.
	ErrCorrupt = errors.New("store: corrupt data")
)

// Store is a transactional key/value store of named buckets. It is safe for
// concurrent use. Transactions are serializable: Update transactions run one
// at a time; View transactions see a consistent snapshot.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction. Its writes commit, durably
	// (synced to stable storage before Update returns nil), only if fn
	// returns nil; otherwise none of them happen.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store; later calls return ErrClosed.
	Close() error
}

// Tx is one transaction. It must not be used after its function returns,
// nor from several goroutines.
type Tx interface {
	// Get returns a copy of the value of key in bucket, or ErrNotFound.
	Get(bucket string, key []byte) ([]byte, error)
	// Put sets key to value in bucket, creating the bucket if needed. The
	// store keeps its own copy of value.
	Put(bucket string, key, value []byte) error
	// Delete removes key from bucket; deleting a missing key is not an error.
	Delete(bucket string, key []byte) error
	// ForEach calls fn for every key in bucket that starts with prefix, in
	// ascending byte order, with copies of key and value. It stops at the
	// first error fn returns and returns it. A missing bucket has no keys.
	ForEach(bucket string, prefix []byte, fn func(key, value []byte) error) error
}
