package bolt_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bbolt "go.etcd.io/bbolt"

	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
	"github.com/cairn-mpc/cairn/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), nil)
		require.NoError(t, err)
		return s
	})
}

func openT(t *testing.T, path string, opts *bolt.Options) *bolt.DB {
	t.Helper()
	s, err := bolt.Open(path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	s := openT(t, path, nil)
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error {
		return tx.Put("b", []byte("k"), []byte("v"))
	}))
	require.NoError(t, s.Close())

	s = openT(t, path, nil)
	require.NoError(t, s.View(t.Context(), func(tx store.Tx) error {
		v, err := tx.Get("b", []byte("k"))
		require.NoError(t, err)
		assert.Equal(t, "v", string(v))
		return nil
	}))
}

func TestFileMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		opts *bolt.Options
		want os.FileMode
	}{
		{nil, 0o600},
		{&bolt.Options{Mode: 0o640}, 0o640},
	} {
		path := filepath.Join(dir, fmt.Sprintf("%o.db", c.want))
		s := openT(t, path, c.opts)
		assert.Equal(t, path, s.Path())
		fi, err := os.Stat(path)
		require.NoError(t, err)
		// The umask may only remove bits.
		assert.Zero(t, fi.Mode().Perm()&^c.want, "mode %v, asked for %v", fi.Mode().Perm(), c.want)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm()&0o600)
	}
}

func TestLockedByAnotherOpen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	openT(t, path, nil)

	start := time.Now()
	_, err := bolt.Open(path, &bolt.Options{LockTimeout: 100 * time.Millisecond})
	require.ErrorIs(t, err, bolt.ErrLocked)
	assert.Contains(t, err.Error(), path)
	assert.Less(t, time.Since(start), 5*time.Second)

	_, err = bolt.Open(path, &bolt.Options{LockTimeout: -1})
	require.ErrorIs(t, err, bolt.ErrLocked)
}

func TestCloseReleasesLock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := bolt.Open(path, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	openT(t, path, &bolt.Options{LockTimeout: -1})
}

func setSchema(t *testing.T, path string, v uint32) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, v))
	}))
}

func TestSchemaMismatch(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := bolt.Open(path, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	setSchema(t, path, bolt.SchemaVersion+1)
	_, err = bolt.Open(path, nil)
	require.ErrorIs(t, err, store.ErrSchema)
	assert.Contains(t, err.Error(), fmt.Sprintf("version %d", bolt.SchemaVersion+1))
	assert.Contains(t, err.Error(), fmt.Sprintf("version %d", bolt.SchemaVersion))

	// The failed Open released the file.
	setSchema(t, path, bolt.SchemaVersion)
	openT(t, path, nil)
}

func TestForeignBoltFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bbolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("theirs"))
		return err
	}))
	require.NoError(t, db.Close())

	_, err = bolt.Open(path, nil)
	require.ErrorIs(t, err, store.ErrSchema)
	assert.Contains(t, err.Error(), "not a Cairn store")
}

// populated returns the bytes of a closed store file with some data in it.
func populated(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "src.db")
	s, err := bolt.Open(path, nil)
	require.NoError(t, err)
	for i := range 200 {
		require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error {
			v := make([]byte, 100+i*7)
			_, _ = rand.Read(v)
			return tx.Put(fmt.Sprintf("b%d", i%5), fmt.Appendf(nil, "key-%04d", i), v)
		}))
	}
	require.NoError(t, s.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// readAll opens path and reads every record, returning the first error.
func readAll(path string) (err error) {
	s, err := bolt.Open(path, &bolt.Options{LockTimeout: -1})
	if err != nil {
		return err
	}
	defer s.Close()
	err = s.View(context.Background(), func(tx store.Tx) error {
		for i := range 5 {
			if err := tx.ForEach(fmt.Sprintf("b%d", i), nil, func(k, v []byte) error { return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.Update(context.Background(), func(tx store.Tx) error {
		return tx.Put("b0", []byte("after"), make([]byte, 5000))
	})
}

func TestDamagedFiles(t *testing.T) {
	t.Parallel()
	good := populated(t)
	require.Greater(t, len(good), 16384)
	dir := t.TempDir()

	garbage := make([]byte, 64<<10)
	_, _ = rand.Read(garbage)

	cases := map[string][]byte{
		"garbage":     garbage,
		"short":       []byte("not a database"),
		"one byte":    {0},
		"zeros":       make([]byte, 32<<10),
		"first page":  good[:4096],
		"meta pages":  good[:8192],
		"half":        good[:len(good)/2],
		"minus 1":     good[:len(good)-1],
		"minus page":  good[:len(good)-4096],
		"metas wiped": append(make([]byte, 8192), good[8192:]...),
	}
	// Clobber every page after the metas in turn, one copy per page.
	for off := 8192; off < len(good); off += 4096 {
		b := append([]byte(nil), good...)
		_, _ = rand.Read(b[off : off+4096])
		cases[fmt.Sprintf("page at %d", off)] = b
	}
	for name, b := range cases {
		path := filepath.Join(dir, name+".db")
		require.NoError(t, os.WriteFile(path, b, 0o600))
		err := readAll(path)
		// Damage in a page no read touches may go unnoticed; damage that is
		// noticed must be reported as corruption, never as a crash.
		if err != nil {
			assert.ErrorIs(t, err, store.ErrCorrupt, "%s: %v", name, err)
		}
		if name == "garbage" || name == "short" || name == "zeros" || name == "metas wiped" || name == "first page" {
			assert.Error(t, err, name)
		}
	}
}

// A panic in the caller's function is the caller's: it propagates
// unchanged, the transaction is rolled back, and the store stays usable.
func TestCallerPanicPropagates(t *testing.T) {
	t.Parallel()
	s := openT(t, filepath.Join(t.TempDir(), "store.db"), nil)
	for _, update := range []bool{true, false} {
		run := s.View
		if update {
			run = s.Update
		}
		assert.PanicsWithValue(t, "caller's bug", func() {
			_ = run(t.Context(), func(tx store.Tx) error {
				if update {
					require.NoError(t, tx.Put("b", []byte("k"), []byte("v")))
				}
				panic("caller's bug")
			})
		})
	}
	require.NoError(t, s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.Get("b", []byte("k"))
		assert.ErrorIs(t, err, store.ErrNotFound, "the panicking Update was rolled back")
		return nil
	}))
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error {
		return tx.Put("b", []byte("k"), []byte("v"))
	}))
}

// An Update waiting for the writer gives up when its context ends.
func TestUpdateWaitHonoursContext(t *testing.T) {
	t.Parallel()
	s := openT(t, filepath.Join(t.TempDir(), "store.db"), nil)
	holding := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.Update(context.Background(), func(store.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	ran := false
	err := s.Update(ctx, func(store.Tx) error { ran = true; return nil })
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, ran)
	// Readers are not blocked by the writer.
	require.NoError(t, s.View(t.Context(), func(store.Tx) error { return nil }))
	close(release)
	require.NoError(t, <-done)
}

// A Tx kept past its function refuses to work rather than touch freed
// memory.
func TestTxAfterFunctionReturns(t *testing.T) {
	t.Parallel()
	s := openT(t, filepath.Join(t.TempDir(), "store.db"), nil)
	var kept store.Tx
	require.NoError(t, s.Update(t.Context(), func(tx store.Tx) error { kept = tx; return nil }))
	_, err := kept.Get("b", []byte("k"))
	assert.Error(t, err)
	assert.Error(t, kept.Put("b", []byte("k"), nil))
	assert.Error(t, kept.Delete("b", []byte("k")))
	assert.Error(t, kept.ForEach("b", nil, func(_, _ []byte) error { return nil }))
}
