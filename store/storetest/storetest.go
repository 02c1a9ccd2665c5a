// Package storetest is the conformance suite for store.Store
// implementations: every implementation runs Run in its tests, so callers
// can rely on the contract in package store rather than on one backend.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/store"
)

// Run checks the store.Store contract. open must return a new, empty store
// each time it is called; Run closes every store it opens (Close must
// therefore be idempotent, as the contract requires).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		require.NotNil(t, s)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	for _, c := range []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"EmptyValue", testEmptyValue},
		{"LargeValue", testLargeValue},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"BucketsAreSeparate", testBucketsSeparate},
		{"InvalidNames", testInvalidNames},
		{"ForEachOrderAndPrefix", testForEach},
		{"ForEachStopsOnError", testForEachStop},
		{"ForEachWithWrites", testForEachWithWrites},
		{"ReadYourWrites", testReadYourWrites},
		{"Atomicity", testAtomicity},
		{"ViewIsReadOnly", testViewReadOnly},
		{"CopiesAreIndependent", testCopies},
		{"ContextDone", testContextDone},
		{"Close", testClose},
		{"CloseWhileBusy", testCloseWhileBusy},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentViewsSeeConsistentSnapshots", testConsistentSnapshots},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, fresh(t))
		})
	}
}

func put(t *testing.T, s store.Store, bucket, key, value string) {
	t.Helper()
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error {
		return tx.Put(bucket, []byte(key), []byte(value))
	}))
}

func get(t *testing.T, s store.Store, bucket, key string) ([]byte, error) {
	t.Helper()
	var v []byte
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get(bucket, []byte(key))
		return err
	})
	return v, err
}

type pair struct{ K, V string }

func list(t *testing.T, s store.Store, bucket, prefix string) []pair {
	t.Helper()
	var out []pair
	require.NoError(t, s.View(t.Context(), func(tx store.Tx) error {
		return tx.ForEach(bucket, []byte(prefix), func(k, v []byte) error {
			out = append(out, pair{string(k), string(v)})
			return nil
		})
	}))
	return out
}

func testGetMissing(t *testing.T, s store.Store) {
	_, err := get(t, s, "nobucket", "k")
	assert.ErrorIs(t, err, store.ErrNotFound, "missing bucket")
	put(t, s, "b", "k", "v")
	_, err = get(t, s, "b", "other")
	assert.ErrorIs(t, err, store.ErrNotFound, "missing key")
	_, err = get(t, s, "b", "")
	assert.ErrorIs(t, err, store.ErrNotFound, "empty key")
}

func testPutGet(t *testing.T, s store.Store) {
	put(t, s, "b", "k", "v")
	v, err := get(t, s, "b", "k")
	require.NoError(t, err)
	assert.Equal(t, []byte("v"), v)

	// Binary keys and values, including zero bytes and 0xff.
	key := []byte{0, 1, 0xff, 0}
	val := []byte{0xff, 0, 0, 7}
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("bin", key, val) }))
	require.NoError(t, s.View(t.Context(), func(tx store.Tx) error {
		got, err := tx.Get("bin", key)
		require.NoError(t, err)
		assert.Equal(t, val, got)
		return nil
	}))
}

func testEmptyValue(t *testing.T, s store.Store) {
	for _, v := range [][]byte{nil, {}} {
		require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("b", []byte("k"), v) }))
		got, err := get(t, s, "b", "k")
		require.NoError(t, err, "an empty value is present, not missing")
		assert.Empty(t, got)
		assert.Equal(t, []pair{{"k", ""}}, list(t, s, "b", ""))
	}
}

func testLargeValue(t *testing.T, s store.Store) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("b", []byte("big"), big) }))
	got, err := get(t, s, "b", "big")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(big, got))
}

func testOverwrite(t *testing.T, s store.Store) {
	put(t, s, "b", "k", "one")
	put(t, s, "b", "k", "two")
	v, err := get(t, s, "b", "k")
	require.NoError(t, err)
	assert.Equal(t, "two", string(v))
	assert.Len(t, list(t, s, "b", ""), 1)
}

func testDelete(t *testing.T, s store.Store) {
	put(t, s, "b", "k", "v")
	put(t, s, "b", "k2", "v2")
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error {
		require.NoError(t, tx.Delete("b", []byte("k")))
		require.NoError(t, tx.Delete("b", []byte("k")), "deleting a missing key")
		require.NoError(t, tx.Delete("b", []byte("never")), "deleting a never-written key")
		require.NoError(t, tx.Delete("nobucket", []byte("k")), "deleting in a missing bucket")
		return nil
	}))
	_, err := get(t, s, "b", "k")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, []pair{{"k2", "v2"}}, list(t, s, "b", ""))
}

func testBucketsSeparate(t *testing.T, s store.Store) {
	put(t, s, "a", "k", "in a")
	put(t, s, "b", "k", "in b")
	// Bucket names that look like prefixes of one another stay separate.
	put(t, s, "ab", "k", "in ab")
	put(t, s, "meta", "k", "a caller's bucket may be called meta")
	put(t, s, "data", "k", "or data")
	for b, want := range map[string]string{"a": "in a", "b": "in b", "ab": "in ab", "meta": "a caller's bucket may be called meta", "data": "or data"} {
		v, err := get(t, s, b, "k")
		require.NoError(t, err, b)
		assert.Equal(t, want, string(v), b)
		assert.Len(t, list(t, s, b, ""), 1, b)
	}
}

func testInvalidNames(t *testing.T, s store.Store) {
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("", []byte("k"), []byte("v")) })
	assert.ErrorIs(t, err, store.ErrInvalid, "empty bucket name")
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.Put("b", nil, []byte("v")) })
	assert.ErrorIs(t, err, store.ErrInvalid, "empty key")
	assert.Empty(t, list(t, s, "b", ""))
}

func testForEach(t *testing.T, s store.Store) {
	// Written out of order; read back in byte order.
	keys := []string{"user/2", "user/10", "key/b", "user/1", "key/a", "user", "users/1", "\xff", "\x00"}
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.Put("b", []byte(k), []byte("v"+k)); err != nil {
				return err
			}
		}
		return nil
	}))
	keysOf := func(ps []pair) []string {
		var out []string
		for _, p := range ps {
			assert.Equal(t, "v"+p.K, p.V, "value matches key")
			out = append(out, p.K)
		}
		return out
	}
	assert.Equal(t, []string{"\x00", "key/a", "key/b", "user", "user/1", "user/10", "user/2", "users/1", "\xff"}, keysOf(list(t, s, "b", "")))
	assert.Equal(t, []string{"user/1", "user/10", "user/2"}, keysOf(list(t, s, "b", "user/")))
	assert.Equal(t, []string{"user", "user/1", "user/10", "user/2", "users/1"}, keysOf(list(t, s, "b", "user")))
	assert.Equal(t, []string{"user/1", "user/10"}, keysOf(list(t, s, "b", "user/1")))
	assert.Equal(t, []string{"\xff"}, keysOf(list(t, s, "b", "\xff")))
	assert.Empty(t, list(t, s, "b", "zzz"))
	assert.Empty(t, list(t, s, "b", "user/3"))
	assert.Empty(t, list(t, s, "nobucket", ""))
}

func testForEachStop(t *testing.T, s store.Store) {
	for i := range 5 {
		put(t, s, "b", fmt.Sprintf("k%d", i), "v")
	}
	stop := errors.New("stop")
	var seen []string
	err := s.View(t.Context(), func(tx store.Tx) error {
		return tx.ForEach("b", nil, func(k, _ []byte) error {
			seen = append(seen, string(k))
			if len(seen) == 2 {
				return stop
			}
			return nil
		})
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, []string{"k0", "k1"}, seen)
}

// Writing to the bucket being iterated, inside ForEach's callback, neither
// skips nor repeats keys that existed when the iteration began.
func testForEachWithWrites(t *testing.T, s store.Store) {
	for i := range 50 {
		put(t, s, "b", fmt.Sprintf("k%02d", i), "v")
	}
	var seen []string
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error {
		return tx.ForEach("b", []byte("k"), func(k, _ []byte) error {
			seen = append(seen, string(k))
			if err := tx.Delete("b", k); err != nil {
				return err
			}
			return tx.Put("b", append([]byte("moved/"), k...), []byte("v"))
		})
	}))
	require.Len(t, seen, 50)
	for i, k := range seen {
		assert.Equal(t, fmt.Sprintf("k%02d", i), k)
	}
	assert.Empty(t, list(t, s, "b", "k"))
	assert.Len(t, list(t, s, "b", "moved/"), 50)
}

func testReadYourWrites(t *testing.T, s store.Store) {
	put(t, s, "b", "old", "x")
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error {
		require.NoError(t, tx.Put("b", []byte("k"), []byte("v")))
		v, err := tx.Get("b", []byte("k"))
		require.NoError(t, err)
		assert.Equal(t, "v", string(v))
		require.NoError(t, tx.Delete("b", []byte("old")))
		_, err = tx.Get("b", []byte("old"))
		assert.ErrorIs(t, err, store.ErrNotFound)
		var keys []string
		require.NoError(t, tx.ForEach("b", nil, func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		}))
		assert.Equal(t, []string{"k"}, keys)
		return nil
	}))
}

func testAtomicity(t *testing.T, s store.Store) {
	put(t, s, "b", "keep", "original")
	boom := errors.New("boom")
	err := s.Update(t.Context(), func(tx store.Tx) error {
		require.NoError(t, tx.Put("b", []byte("new"), []byte("v")))
		require.NoError(t, tx.Put("b", []byte("keep"), []byte("changed")))
		require.NoError(t, tx.Put("newbucket", []byte("k"), []byte("v")))
		return boom
	})
	require.ErrorIs(t, err, boom, "Update returns fn's error")
	assert.Equal(t, []pair{{"keep", "original"}}, list(t, s, "b", ""))
	assert.Empty(t, list(t, s, "newbucket", ""))
	_, err = get(t, s, "newbucket", "k")
	assert.ErrorIs(t, err, store.ErrNotFound)

	// A failed delete is rolled back too.
	err = s.Update(t.Context(), func(tx store.Tx) error {
		require.NoError(t, tx.Delete("b", []byte("keep")))
		return boom
	})
	require.ErrorIs(t, err, boom)
	v, err := get(t, s, "b", "keep")
	require.NoError(t, err)
	assert.Equal(t, "original", string(v))
}

func testViewReadOnly(t *testing.T, s store.Store) {
	put(t, s, "b", "k", "v")
	require.NoError(t, s.View(t.Context(), func(tx store.Tx) error {
		assert.ErrorIs(t, tx.Put("b", []byte("k"), []byte("changed")), store.ErrReadOnly)
		assert.ErrorIs(t, tx.Put("b", []byte("new"), []byte("v")), store.ErrReadOnly)
		assert.ErrorIs(t, tx.Put("newbucket", []byte("k"), []byte("v")), store.ErrReadOnly)
		assert.ErrorIs(t, tx.Delete("b", []byte("k")), store.ErrReadOnly)
		return nil
	}))
	assert.Equal(t, []pair{{"k", "v"}}, list(t, s, "b", ""))
	assert.Empty(t, list(t, s, "newbucket", ""))
}

func testCopies(t *testing.T, s store.Store) {
	key := []byte("key")
	val := []byte("value")
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error {
		require.NoError(t, tx.Put("b", key, val))
		// Mutating the caller's slices after Put, inside the transaction...
		key[0], val[0] = 'X', 'X'
		got, err := tx.Get("b", []byte("key"))
		require.NoError(t, err)
		assert.Equal(t, "value", string(got))
		got[0] = 'Y' // ...or the returned copy changes nothing stored.
		return nil
	}))
	val[1] = 'X' // Nor after commit.

	var fromGet, fromK, fromV []byte
	require.NoError(t, s.View(t.Context(), func(tx store.Tx) error {
		var err error
		fromGet, err = tx.Get("b", []byte("key"))
		if err != nil {
			return err
		}
		return tx.ForEach("b", nil, func(k, v []byte) error {
			fromK, fromV = k, v
			return nil
		})
	}))
	// Slices handed out stay valid after the transaction, and are the
	// caller's to change.
	assert.Equal(t, "value", string(fromGet))
	assert.Equal(t, "key", string(fromK))
	assert.Equal(t, "value", string(fromV))
	fromGet[0], fromK[0], fromV[0] = 'Z', 'Z', 'Z'
	// A later write does not reach slices already handed out.
	put(t, s, "b", "key", "other")
	assert.Equal(t, "Zalue", string(fromGet))
	assert.Equal(t, "Zalue", string(fromV))

	v, err := get(t, s, "b", "key")
	require.NoError(t, err)
	assert.Equal(t, "other", string(v))
	assert.Equal(t, []pair{{"key", "other"}}, list(t, s, "b", ""))
}

func testContextDone(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx store.Tx) error {
		ran = true
		return tx.Put("b", []byte("k"), []byte("v"))
	})
	assert.ErrorIs(t, err, context.Canceled)
	err = s.View(ctx, func(store.Tx) error { ran = true; return nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, ran, "fn must not run under a done context")
	assert.Empty(t, list(t, s, "b", ""))

	// A context that ends while fn runs rolls the Update back.
	ctx, cancel = context.WithCancel(t.Context())
	err = s.Update(ctx, func(tx store.Tx) error {
		require.NoError(t, tx.Put("b", []byte("k"), []byte("v")))
		cancel()
		return nil
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, list(t, s, "b", ""))
}

func testClose(t *testing.T, s store.Store) {
	put(t, s, "b", "k", "v")
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	ran := false
	err := s.View(t.Context(), func(store.Tx) error { ran = true; return nil })
	assert.ErrorIs(t, err, store.ErrClosed)
	err = s.Update(t.Context(), func(store.Tx) error { ran = true; return nil })
	assert.ErrorIs(t, err, store.ErrClosed)
	assert.False(t, ran)
}

// Close while transactions run: each one either completes or returns
// ErrClosed; none fails otherwise, and none hangs.
func testCloseWhileBusy(t *testing.T, s store.Store) {
	put(t, s, "b", "k", "v")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	started := make(chan struct{}, 8)
	for w := range 8 {
		wg.Go(func() {
			started <- struct{}{}
			for i := 0; ; i++ {
				var err error
				if w%2 == 0 {
					err = s.Update(t.Context(), func(tx store.Tx) error {
						return tx.Put("b", fmt.Appendf(nil, "w%d/%d", w, i), []byte("v"))
					})
				} else {
					err = s.View(t.Context(), func(tx store.Tx) error {
						_, err := tx.Get("b", []byte("k"))
						return err
					})
				}
				if err != nil {
					if !errors.Is(err, store.ErrClosed) {
						errs <- err
					}
					return
				}
			}
		})
	}
	for range 8 {
		<-started
	}
	require.NoError(t, s.Close())
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

// Read-modify-write Updates from many goroutines lose no increment:
// Updates are serializable.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	const workers, rounds = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				errs <- s.Update(t.Context(), func(tx store.Tx) error {
					n := 0
					if v, err := tx.Get("counter", []byte("n")); err == nil {
						n = int(v[0]) | int(v[1])<<8
					} else if !errors.Is(err, store.ErrNotFound) {
						return err
					}
					n++
					if err := tx.Put("counter", []byte("n"), []byte{byte(n), byte(n >> 8)}); err != nil {
						return err
					}
					return tx.Put("log", fmt.Appendf(nil, "w%02d/r%02d", w, r), nil)
				})
				errs <- s.View(t.Context(), func(tx store.Tx) error {
					_, err := tx.Get("counter", []byte("n"))
					return err
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	v, err := get(t, s, "counter", "n")
	require.NoError(t, err)
	assert.Equal(t, workers*rounds, int(v[0])|int(v[1])<<8)
	assert.Len(t, list(t, s, "log", ""), workers*rounds)
}

// Each Update moves one unit between two keys; every View, running
// concurrently, sees the sum unchanged.
func testConsistentSnapshots(t *testing.T, s store.Store) {
	enc := func(n int) []byte { return []byte{byte(n), byte(n >> 8)} }
	dec := func(b []byte) int { return int(b[0]) | int(b[1])<<8 }
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.Put("acct", []byte("a"), enc(1000)); err != nil {
			return err
		}
		return tx.Put("acct", []byte("b"), enc(0))
	}))
	const writers, moves, readers = 4, 50, 4
	ctx, cancel := context.WithCancel(t.Context())
	var wg, readersWG sync.WaitGroup
	errs := make(chan error, writers*moves+readers)
	for range writers {
		wg.Go(func() {
			for range moves {
				errs <- s.Update(t.Context(), func(tx store.Tx) error {
					a, err := tx.Get("acct", []byte("a"))
					if err != nil {
						return err
					}
					b, err := tx.Get("acct", []byte("b"))
					if err != nil {
						return err
					}
					if err := tx.Put("acct", []byte("a"), enc(dec(a)-1)); err != nil {
						return err
					}
					return tx.Put("acct", []byte("b"), enc(dec(b)+1))
				})
			}
		})
	}
	for range readers {
		readersWG.Go(func() {
			for ctx.Err() == nil {
				err := s.View(t.Context(), func(tx store.Tx) error {
					sum := 0
					err := tx.ForEach("acct", nil, func(_, v []byte) error {
						sum += dec(v)
						return nil
					})
					if err == nil && sum != 1000 {
						err = fmt.Errorf("snapshot sums to %d, want 1000", sum)
					}
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	cancel()
	readersWG.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, []pair{{"a", string(enc(1000 - writers*moves))}, {"b", string(enc(writers * moves))}}, list(t, s, "acct", ""))
}
