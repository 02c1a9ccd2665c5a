package policy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cairn-mpc/cairn/store"
)

// memStore is a minimal in-memory store.Store for tests that need no disk
// (the fuzz target, above all): one writer at a time under a lock, an undo
// log for rollback, sorted keys per bucket for prefix scans.
type memStore struct {
	mu      sync.RWMutex
	buckets map[string]*memBucket
	closed  bool
}

type memBucket struct {
	keys []string // sorted
	vals map[string][]byte
}

func newMemStore() *memStore { return &memStore{buckets: make(map[string]*memBucket)} }

func (s *memStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return fn(&memTx{s: s, readOnly: true})
}

func (s *memStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	tx := &memTx{s: s}
	if err := fn(tx); err != nil {
		tx.rollback()
		return err
	}
	return nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// keyCount returns the number of keys in bucket.
func (s *memStore) keyCount(bucket string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if b := s.buckets[bucket]; b != nil {
		return len(b.keys)
	}
	return 0
}

type undo struct {
	bucket, key string
	prev        []byte
	existed     bool
}

type memTx struct {
	s        *memStore
	readOnly bool
	log      []undo
}

func (t *memTx) Get(bucket string, key []byte) ([]byte, error) {
	b := t.s.buckets[bucket]
	if b == nil {
		return nil, store.ErrNotFound
	}
	v, ok := b.vals[string(key)]
	if !ok {
		return nil, store.ErrNotFound
	}
	return slices.Clone(v), nil
}

func (t *memTx) Put(bucket string, key, value []byte) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	if bucket == "" || len(key) == 0 {
		return errors.New("memstore: empty bucket or key")
	}
	b := t.s.buckets[bucket]
	if b == nil {
		b = &memBucket{vals: make(map[string][]byte)}
		t.s.buckets[bucket] = b
	}
	k := string(key)
	prev, existed := b.vals[k]
	t.log = append(t.log, undo{bucket, k, prev, existed})
	if !existed {
		i, _ := slices.BinarySearch(b.keys, k)
		b.keys = slices.Insert(b.keys, i, k)
	}
	b.vals[k] = append([]byte{}, value...)
	return nil
}

func (t *memTx) Delete(bucket string, key []byte) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	b := t.s.buckets[bucket]
	if b == nil {
		return nil
	}
	k := string(key)
	prev, existed := b.vals[k]
	if !existed {
		return nil
	}
	t.log = append(t.log, undo{bucket, k, prev, true})
	delete(b.vals, k)
	i, _ := slices.BinarySearch(b.keys, k)
	b.keys = slices.Delete(b.keys, i, i+1)
	return nil
}

func (t *memTx) ForEach(bucket string, prefix []byte, fn func(key, value []byte) error) error {
	b := t.s.buckets[bucket]
	if b == nil {
		return nil
	}
	p := string(prefix)
	i, _ := slices.BinarySearch(b.keys, p)
	keys := b.keys[i:]
	for j := 0; j < len(keys) && strings.HasPrefix(keys[j], p); j++ {
		k := keys[j]
		if err := fn([]byte(k), slices.Clone(b.vals[k])); err != nil {
			return err
		}
	}
	return nil
}

func (t *memTx) rollback() {
	for i := len(t.log) - 1; i >= 0; i-- {
		u := t.log[i]
		b := t.s.buckets[u.bucket]
		_, now := b.vals[u.key]
		switch {
		case u.existed:
			if !now {
				j, _ := slices.BinarySearch(b.keys, u.key)
				b.keys = slices.Insert(b.keys, j, u.key)
			}
			b.vals[u.key] = u.prev
		case now:
			delete(b.vals, u.key)
			j, _ := slices.BinarySearch(b.keys, u.key)
			b.keys = slices.Delete(b.keys, j, j+1)
		}
	}
}

// failingStore wraps a store and makes the Nth Put of every Update (from
// the first armed one on) fail, to show that a failed write leaves nothing
// behind.
type failingStore struct {
	store.Store
	failAt atomic.Int64 // 0: never
}

var errInjected = errors.New("injected write failure")

func (s *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	n := s.failAt.Load()
	return s.Store.Update(ctx, func(tx store.Tx) error {
		return fn(&failingTx{Tx: tx, failAt: n})
	})
}

type failingTx struct {
	store.Tx
	failAt int64
	puts   int64
}

func (t *failingTx) Put(bucket string, key, value []byte) error {
	t.puts++
	if t.failAt > 0 && t.puts >= t.failAt {
		return errInjected
	}
	return t.Tx.Put(bucket, key, value)
}
