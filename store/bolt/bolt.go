// Package bolt is the embedded default store.Store, on bbolt
// (go.etcd.io/bbolt): one file, one writer at a time, readers on consistent
// snapshots, every Update synced to disk before it returns.
//
// Layout of the file: a top-level bucket "meta" holds the schema version
// (key "schema", 4 bytes big-endian); a top-level bucket "data" holds one
// nested bucket per store bucket. Keeping caller buckets under "data" means
// no bucket name is reserved.
//
// A file the package cannot read as a bbolt database, or whose pages fail
// bbolt's checks, yields an error wrapping store.ErrCorrupt, never a panic.
// A file written by another schema version yields store.ErrSchema. A file
// held by another process yields ErrLocked after Options.LockTimeout.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/cairn-mpc/cairn/store"
)

// SchemaVersion is the version of the file layout this package reads and
// writes. It is stored when a file is created and checked on every Open.
const SchemaVersion uint32 = 1

// DefaultLockTimeout is how long Open waits for another process to release
// the file when Options.LockTimeout is zero.
const DefaultLockTimeout = 2 * time.Second

// ErrLocked is returned by Open when another process (or another Open in
// this process) holds the file and does not release it within the lock
// timeout.
var ErrLocked = errors.New("bolt: store file is locked by another process")

var (
	metaBucket = []byte("meta")
	dataBucket = []byte("data")
	schemaKey  = []byte("schema")
)

// Options configures Open. The zero value (or a nil *Options) is ready to
// use.
type Options struct {
	// Mode is the permission of a newly created file. Zero means 0600. It
	// does not change the mode of an existing file.
	Mode os.FileMode
	// LockTimeout bounds how long Open waits for the exclusive file lock.
	// Zero means DefaultLockTimeout; a negative value means do not wait.
	LockTimeout time.Duration
}

// DB is a store.Store backed by one bbolt file. It is safe for concurrent
// use.
type DB struct {
	db     *bbolt.DB
	path   string
	closed atomic.Bool
	// writer admits one Update at a time, so that a waiting Update can give
	// up when its context ends (bbolt's own writer lock cannot).
	writer    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*DB)(nil)

// Open opens the store at path, creating the file (and recording
// SchemaVersion) if it does not exist. The directory must exist.
//
// Errors: ErrLocked if another process holds the file; an error wrapping
// store.ErrCorrupt if the file is not a readable bbolt database; an error
// wrapping store.ErrSchema if it was written by another schema version or is
// a bbolt database that is not a Cairn store.
func Open(path string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	timeout := o.LockTimeout
	switch {
	case timeout == 0:
		timeout = DefaultLockTimeout
	case timeout < 0:
		// bbolt treats 0 as "wait forever"; the shortest real wait is 1ns.
		timeout = time.Nanosecond
	}

	db, err := openBolt(path, o.Mode, timeout)
	if err != nil {
		return nil, err
	}
	s := &DB{db: db, path: path, writer: make(chan struct{}, 1)}
	if err := s.checkSchema(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// openBolt opens the bbolt file, turning bbolt's errors, panics and memory
// faults on damaged files into errors wrapping store.ErrCorrupt.
func openBolt(path string, mode os.FileMode, timeout time.Duration) (db *bbolt.DB, err error) {
	var file *os.File
	defer func() {
		if r := recover(); r != nil {
			// bbolt gives up mid-Open on some damaged files (a freelist page
			// past the end of a truncated file). Release the file, and with it
			// the lock, so the caller can repair or remove it.
			if file != nil {
				_ = file.Close()
			}
			db, err = nil, fmt.Errorf("bolt: open %s: %w: %v", path, store.ErrCorrupt, r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, err = bbolt.Open(path, mode, &bbolt.Options{
		Timeout: timeout,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	})
	if err != nil {
		return nil, openError(path, err)
	}
	return db, nil
}

func openError(path string, err error) error {
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, bberrors.ErrTimeout):
		return fmt.Errorf("%w: %s", ErrLocked, path)
	case errors.As(err, &pathErr), errors.Is(err, syscall.ENOMEM):
		// Cannot open, lock, stat or map the file: not the file's fault.
		return fmt.Errorf("bolt: open %s: %w", path, err)
	default:
		// Everything else bbolt reports while opening is about the file's
		// contents: bad meta pages (ErrInvalid, ErrChecksum,
		// ErrVersionMismatch) or a file shorter than its meta page says.
		return fmt.Errorf("bolt: open %s: %w: %w", path, store.ErrCorrupt, err)
	}
}

// checkSchema records SchemaVersion in a new file and checks it in an old
// one.
func (s *DB) checkSchema() error {
	return s.run(context.Background(), true, func(btx *bbolt.Tx, _ *bool) error {
		meta := btx.Bucket(metaBucket)
		if meta == nil {
			empty := true
			if err := btx.ForEach(func([]byte, *bbolt.Bucket) error {
				empty = false
				return errStop
			}); err != nil && !errors.Is(err, errStop) {
				return err
			}
			if !empty {
				return fmt.Errorf("bolt: %s: %w: no schema version (a bbolt file that is not a Cairn store)", s.path, store.ErrSchema)
			}
			meta, err := btx.CreateBucket(metaBucket)
			if err != nil {
				return err
			}
			if _, err := btx.CreateBucket(dataBucket); err != nil {
				return err
			}
			return meta.Put(schemaKey, binary.BigEndian.AppendUint32(nil, SchemaVersion))
		}
		v := meta.Get(schemaKey)
		if len(v) != 4 {
			return fmt.Errorf("bolt: %s: %w: schema version record is %d bytes, want 4", s.path, store.ErrCorrupt, len(v))
		}
		if got := binary.BigEndian.Uint32(v); got != SchemaVersion {
			return fmt.Errorf("bolt: %s: %w: file has version %d, this build reads version %d", s.path, store.ErrSchema, got, SchemaVersion)
		}
		if btx.Bucket(dataBucket) == nil {
			return fmt.Errorf("bolt: %s: %w: no data bucket", s.path, store.ErrCorrupt)
		}
		return nil
	})
}

var errStop = errors.New("stop")

// Path returns the file the store was opened on.
func (s *DB) Path() string { return s.path }

// View runs fn in a read-only transaction on a consistent snapshot. Writes
// inside fn return store.ErrReadOnly. It returns ctx.Err() without running
// fn if ctx is already done.
func (s *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.runUser(ctx, false, fn)
}

// Update runs fn in a read-write transaction and commits it, synced to
// disk, if fn returns nil. Updates run one at a time; an Update waiting for
// its turn gives up with ctx.Err() when ctx ends, and one whose ctx ends
// while fn runs is rolled back.
func (s *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.runUser(ctx, true, fn)
}

// Close closes the file, waiting for running transactions. It is
// idempotent; after it, View and Update return store.ErrClosed.
func (s *DB) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

func (s *DB) runUser(ctx context.Context, writable bool, fn func(store.Tx) error) error {
	return s.run(ctx, writable, func(btx *bbolt.Tx, inUser *bool) error {
		data := btx.Bucket(dataBucket)
		if data == nil {
			return fmt.Errorf("bolt: %w: no data bucket", store.ErrCorrupt)
		}
		t := &tx{data: data, writable: writable}
		defer func() { t.data = nil }()
		*inUser = true
		err := fn(t)
		*inUser = false
		if t.err != nil {
			// A damaged page was met; never commit past it, even if fn
			// ignored the error.
			return t.err
		}
		if err != nil {
			return err
		}
		if writable {
			// Do not commit work whose caller has gone away.
			return ctx.Err()
		}
		return nil
	})
}

// run runs fn in a bbolt transaction. Panics raised by bbolt itself (and
// memory faults on a damaged file) become errors wrapping store.ErrCorrupt;
// a panic raised while fn has set *inUser (the caller's own code) is
// re-raised unchanged.
func (s *DB) run(ctx context.Context, writable bool, fn func(btx *bbolt.Tx, inUser *bool) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	if writable {
		select {
		case s.writer <- struct{}{}:
			defer func() { <-s.writer }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	inUser := false
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if inUser {
			panic(r)
		}
		err = fmt.Errorf("bolt: %w: %v", store.ErrCorrupt, r)
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))

	body := func(btx *bbolt.Tx) error { return fn(btx, &inUser) }
	if writable {
		err = s.db.Update(body)
	} else {
		err = s.db.View(body)
	}
	if errors.Is(err, bberrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

// tx is a store.Tx over the "data" bucket of one bbolt transaction.
type tx struct {
	data     *bbolt.Bucket
	writable bool
	writes   uint64 // bumped by Put and Delete, so ForEach can tell its cursor is stale
	err      error  // first damage met; fails the transaction
}

var errTxDone = errors.New("bolt: transaction used after its function returned")

// guard runs f, turning a bbolt panic or memory fault into an error that
// also fails the whole transaction.
func (t *tx) guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bolt: %w: %v", store.ErrCorrupt, r)
			if t.err == nil {
				t.err = err
			}
		}
	}()
	return f()
}

func checkName(bucket string, key []byte) error {
	if bucket == "" {
		return fmt.Errorf("bolt: %w: empty bucket name", store.ErrInvalid)
	}
	if len(bucket) > bbolt.MaxKeySize {
		return fmt.Errorf("bolt: %w: bucket name of %d bytes", store.ErrInvalid, len(bucket))
	}
	if len(key) == 0 {
		return fmt.Errorf("bolt: %w: empty key", store.ErrInvalid)
	}
	if len(key) > bbolt.MaxKeySize {
		return fmt.Errorf("bolt: %w: key of %d bytes, over the %d limit", store.ErrInvalid, len(key), bbolt.MaxKeySize)
	}
	return nil
}

func (t *tx) Get(bucket string, key []byte) (out []byte, err error) {
	if t.data == nil {
		return nil, errTxDone
	}
	if bucket == "" || len(key) == 0 {
		return nil, store.ErrNotFound
	}
	err = t.guard(func() error {
		b := t.data.Bucket([]byte(bucket))
		if b == nil {
			return store.ErrNotFound
		}
		v := b.Get(key)
		if v == nil {
			return store.ErrNotFound
		}
		out = bytes.Clone(v)
		if out == nil {
			out = []byte{}
		}
		return nil
	})
	return out, err
}

func (t *tx) Put(bucket string, key, value []byte) error {
	if t.data == nil {
		return errTxDone
	}
	if !t.writable {
		return store.ErrReadOnly
	}
	if err := checkName(bucket, key); err != nil {
		return err
	}
	if int64(len(value)) > bbolt.MaxValueSize {
		return fmt.Errorf("bolt: %w: value of %d bytes, over the %d limit", store.ErrInvalid, len(value), bbolt.MaxValueSize)
	}
	return t.guard(func() error {
		b, err := t.data.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return fmt.Errorf("bolt: bucket %q: %w", bucket, err)
		}
		// bbolt keeps a reference to key and value until commit; give it its
		// own copies. A non-nil value marks the key as present even when
		// empty.
		t.writes++
		v := make([]byte, len(value))
		copy(v, value)
		if err := b.Put(bytes.Clone(key), v); err != nil {
			return fmt.Errorf("bolt: put in %q: %w", bucket, err)
		}
		return nil
	})
}

func (t *tx) Delete(bucket string, key []byte) error {
	if t.data == nil {
		return errTxDone
	}
	if !t.writable {
		return store.ErrReadOnly
	}
	if bucket == "" || len(key) == 0 {
		return nil
	}
	return t.guard(func() error {
		b := t.data.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		t.writes++
		if err := b.Delete(key); err != nil {
			return fmt.Errorf("bolt: delete in %q: %w", bucket, err)
		}
		return nil
	})
}

func (t *tx) ForEach(bucket string, prefix []byte, fn func(key, value []byte) error) error {
	if t.data == nil {
		return errTxDone
	}
	if bucket == "" {
		return nil
	}
	var c *bbolt.Cursor
	var k, v []byte
	if err := t.guard(func() error {
		b := t.data.Bucket([]byte(bucket))
		if b != nil {
			c = b.Cursor()
			k, v = c.Seek(prefix)
		}
		return nil
	}); err != nil || c == nil {
		return err
	}
	for k != nil && bytes.HasPrefix(k, prefix) {
		if v != nil { // nil marks a nested bucket, which this layout never makes
			key := bytes.Clone(k)
			vc := make([]byte, len(v))
			copy(vc, v)
			before := t.writes
			if err := fn(key, vc); err != nil {
				return err
			}
			if t.writes != before {
				// fn wrote: bbolt cursors do not survive writes to their
				// bucket, so find our place again from the last key seen.
				if err := t.guard(func() error {
					b := t.data.Bucket([]byte(bucket))
					if b == nil {
						c, k = nil, nil
						return nil
					}
					c = b.Cursor()
					k, v = c.Seek(key)
					if bytes.Equal(k, key) {
						k, v = c.Next()
					}
					return nil
				}); err != nil {
					return err
				}
				continue
			}
		}
		if err := t.guard(func() error {
			k, v = c.Next()
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
