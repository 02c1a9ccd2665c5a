package authn_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/cairn-mpc/cairn/store"
)

// memStore is a minimal store.Store for tests: a map per bucket, Update
// serialized by a mutex and applied on success only.
type memStore struct {
	mu      sync.RWMutex
	buckets map[string]map[string][]byte
	closed  bool
}

func newMemStore() *memStore { return &memStore{buckets: map[string]map[string][]byte{}} }

func (m *memStore) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return store.ErrClosed
	}
	return fn(&memTx{base: m.buckets, readOnly: true})
}

func (m *memStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return store.ErrClosed
	}
	tx := &memTx{base: m.buckets, writes: map[string]map[string][]byte{}}
	if err := fn(tx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil { // ended while fn ran: roll back
		return err
	}
	for b, kv := range tx.writes {
		if m.buckets[b] == nil {
			m.buckets[b] = map[string][]byte{}
		}
		for k, v := range kv {
			if v == nil {
				delete(m.buckets[b], k)
			} else {
				m.buckets[b][k] = v
			}
		}
	}
	return nil
}

func (m *memStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// count returns the number of keys in bucket, for "nothing stored" checks.
func (m *memStore) count(bucket string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.buckets[bucket])
}

// snapshot copies everything, for "nothing changed" checks.
func (m *memStore) snapshot() map[string]map[string][]byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[string]map[string][]byte{}
	for b, kv := range m.buckets {
		out[b] = maps.Clone(kv)
	}
	return out
}

// memTx overlays writes (nil value = deleted) on the committed buckets.
type memTx struct {
	base     map[string]map[string][]byte
	writes   map[string]map[string][]byte
	readOnly bool
}

func (t *memTx) lookup(bucket, key string) ([]byte, bool) {
	if w, ok := t.writes[bucket][key]; ok {
		return w, w != nil
	}
	v, ok := t.base[bucket][key]
	return v, ok
}

func (t *memTx) Get(bucket string, key []byte) ([]byte, error) {
	v, ok := t.lookup(bucket, string(key))
	if !ok {
		return nil, store.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (t *memTx) Put(bucket string, key, value []byte) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	if bucket == "" || len(key) == 0 {
		return store.ErrInvalid
	}
	if t.writes[bucket] == nil {
		t.writes[bucket] = map[string][]byte{}
	}
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	t.writes[bucket][string(key)] = v
	return nil
}

func (t *memTx) Delete(bucket string, key []byte) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	if t.writes[bucket] == nil {
		t.writes[bucket] = map[string][]byte{}
	}
	t.writes[bucket][string(key)] = nil
	return nil
}

func (t *memTx) ForEach(bucket string, prefix []byte, fn func(key, value []byte) error) error {
	keys := map[string]bool{}
	for k := range t.base[bucket] {
		keys[k] = true
	}
	for k := range t.writes[bucket] {
		keys[k] = true
	}
	sorted := slices.Sorted(maps.Keys(keys))
	for _, k := range sorted {
		if !strings.HasPrefix(k, string(prefix)) {
			continue
		}
		v, ok := t.lookup(bucket, k)
		if !ok {
			continue
		}
		if err := fn([]byte(k), bytes.Clone(v)); err != nil {
			return err
		}
	}
	return nil
}
