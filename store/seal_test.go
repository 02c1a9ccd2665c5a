package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func newSealer(t testing.TB) (*store.Sealer, *store.KEK) {
	t.Helper()
	kek, err := store.NewKEK(randomBytes(t, 32))
	require.NoError(t, err)
	return store.NewSealer(kek), kek
}

var shareRef = store.RecordRef{Signer: "signer-1", KeyID: "key-7", Kind: "share", Version: 1}

func TestSealRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newSealer(t)
	for _, n := range []int{0, 1, 32, 1000, 64 << 10} {
		pt := randomBytes(t, n)
		rec, err := s.Seal(t.Context(), shareRef, pt)
		require.NoError(t, err)
		if n >= 16 {
			assert.False(t, bytes.Contains(rec, pt), "plaintext visible in the sealed record")
		}
		again, err := s.Seal(t.Context(), shareRef, pt)
		require.NoError(t, err)
		assert.NotEqual(t, rec, again, "each seal uses a fresh data key and nonce")

		got, err := s.Open(t.Context(), shareRef, rec)
		require.NoError(t, err, n)
		assert.Equal(t, pt, got)
	}
}

// A record opens only under the reference it was sealed for.
func TestSealBindsRecordRef(t *testing.T) {
	t.Parallel()
	s, _ := newSealer(t)
	rec, err := s.Seal(t.Context(), shareRef, []byte("a share"))
	require.NoError(t, err)

	for name, ref := range map[string]store.RecordRef{
		"other signer":  {Signer: "signer-2", KeyID: "key-7", Kind: "share", Version: 1},
		"other key id":  {Signer: "signer-1", KeyID: "key-8", Kind: "share", Version: 1},
		"other kind":    {Signer: "signer-1", KeyID: "key-7", Kind: "presign", Version: 1},
		"other version": {Signer: "signer-1", KeyID: "key-7", Kind: "share", Version: 2},
		"zero ref":      {},
		// Field boundaries are unambiguous: moving bytes between fields
		// does not give the same binding.
		"shifted fields": {Signer: "signer-1key-7", KeyID: "", Kind: "share", Version: 1},
	} {
		_, err := s.Open(t.Context(), ref, rec)
		require.ErrorIs(t, err, store.ErrUnseal, name)
		assert.Contains(t, err.Error(), "moved, tampered or wrong KEK", name)
	}
}

func TestWrongKEK(t *testing.T) {
	t.Parallel()
	s1, kek1 := newSealer(t)
	s2, kek2 := newSealer(t)
	require.NotEqual(t, kek1.ID(), kek2.ID())
	rec, err := s1.Seal(t.Context(), shareRef, []byte("a share"))
	require.NoError(t, err)

	_, err = s2.Open(t.Context(), shareRef, rec)
	require.ErrorIs(t, err, store.ErrWrongKEK)
	assert.Contains(t, err.Error(), kek1.ID())
	assert.Contains(t, err.Error(), kek2.ID())

	// A provider that claims the right id but holds other bytes cannot be
	// told apart from tampering: ErrUnseal.
	liar := store.NewSealer(lyingProvider{id: kek1.ID(), KEK: kek2})
	_, err = liar.Open(t.Context(), shareRef, rec)
	require.ErrorIs(t, err, store.ErrUnseal)
}

type lyingProvider struct {
	id string
	*store.KEK
}

func (p lyingProvider) UnwrapKey(ctx context.Context, _ string, wrapped, aad []byte) ([]byte, error) {
	return p.KEK.UnwrapKey(ctx, p.KEK.ID(), wrapped, aad)
}

type sealedFields struct {
	Format     uint32 `cbor:"1,keyasint"`
	KEK        string `cbor:"2,keyasint"`
	WrappedDEK []byte `cbor:"3,keyasint"`
	Ciphertext []byte `cbor:"4,keyasint"`
}

func TestSealedRecordFormat(t *testing.T) {
	t.Parallel()
	s, kek := newSealer(t)
	rec, err := s.Seal(t.Context(), shareRef, []byte("a share"))
	require.NoError(t, err)
	var f sealedFields
	require.NoError(t, wire.Unmarshal(rec, &f))
	assert.Equal(t, store.SealFormat, f.Format)
	assert.Equal(t, kek.ID(), f.KEK)
	assert.Len(t, f.WrappedDEK, 12+32+16)
	assert.Len(t, f.Ciphertext, 12+len("a share")+16)

	reencode := func(f sealedFields) []byte {
		b, err := wire.Marshal(f)
		require.NoError(t, err)
		return b
	}
	g := f
	g.Format = store.SealFormat + 1
	_, err = s.Open(t.Context(), shareRef, reencode(g))
	require.ErrorIs(t, err, store.ErrSchema)
	assert.Contains(t, err.Error(), "format 2")

	for name, c := range map[string]struct {
		mutate func(*sealedFields)
		want   error
	}{
		"no KEK":            {func(f *sealedFields) { f.KEK = "" }, store.ErrCorrupt},
		"no wrapped key":    {func(f *sealedFields) { f.WrappedDEK = nil }, store.ErrCorrupt},
		"short ciphertext":  {func(f *sealedFields) { f.Ciphertext = f.Ciphertext[:27] }, store.ErrCorrupt},
		"long KEK id":       {func(f *sealedFields) { f.KEK = string(make([]byte, 300)) }, store.ErrCorrupt},
		"other KEK id":      {func(f *sealedFields) { f.KEK = "kek:0000000000000000" }, store.ErrWrongKEK},
		"cut wrapped key":   {func(f *sealedFields) { f.WrappedDEK = f.WrappedDEK[:40] }, store.ErrUnseal},
		"flip wrapped key":  {func(f *sealedFields) { f.WrappedDEK[20] ^= 1 }, store.ErrUnseal},
		"flip ciphertext":   {func(f *sealedFields) { f.Ciphertext[14] ^= 1 }, store.ErrUnseal},
		"flip nonce":        {func(f *sealedFields) { f.Ciphertext[0] ^= 1 }, store.ErrUnseal},
		"drop ciphertext":   {func(f *sealedFields) { f.Ciphertext = f.Ciphertext[:28] }, store.ErrUnseal},
		"swap wrapped keys": {func(f *sealedFields) { f.WrappedDEK = otherWrapped(t, s) }, store.ErrUnseal},
	} {
		g := f
		g.WrappedDEK = bytes.Clone(f.WrappedDEK)
		g.Ciphertext = bytes.Clone(f.Ciphertext)
		c.mutate(&g)
		_, err := s.Open(t.Context(), shareRef, reencode(g))
		assert.ErrorIs(t, err, c.want, name)
	}
}

// otherWrapped returns the wrapped data key of another record for the same
// ref, under the same KEK.
func otherWrapped(t *testing.T, s *store.Sealer) []byte {
	rec, err := s.Seal(t.Context(), shareRef, []byte("another"))
	require.NoError(t, err)
	var f sealedFields
	require.NoError(t, wire.Unmarshal(rec, &f))
	return f.WrappedDEK
}

// Every truncation and every single-bit flip of a sealed record fails with
// a typed error; none opens and none panics.
func TestDamagedSealedRecords(t *testing.T) {
	t.Parallel()
	s, _ := newSealer(t)
	rec, err := s.Seal(t.Context(), shareRef, randomBytes(t, 64))
	require.NoError(t, err)
	check := func(what string, b []byte) {
		_, err := s.Open(t.Context(), shareRef, b)
		require.Error(t, err, what)
		assert.True(t, typedOpenError(err), "%s: untyped error %v", what, err)
	}
	for n := range len(rec) {
		check("truncated", rec[:n])
	}
	for i := range len(rec) * 8 {
		b := bytes.Clone(rec)
		b[i/8] ^= 1 << (i % 8)
		check("bit flip", b)
	}
	check("appended", append(bytes.Clone(rec), 0))
	check("nil", nil)
}

func typedOpenError(err error) bool {
	for _, e := range []error{store.ErrCorrupt, store.ErrSchema, store.ErrWrongKEK, store.ErrUnseal} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func TestNewKEK(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		_, err := store.NewKEK(make([]byte, n))
		assert.ErrorIs(t, err, store.ErrKEK, n)
	}
	key := randomBytes(t, 32)
	a, err := store.NewKEK(key)
	require.NoError(t, err)
	b, err := store.NewKEK(bytes.Clone(key))
	require.NoError(t, err)
	assert.Equal(t, a.ID(), b.ID(), "the id is a function of the key")
	assert.NotContains(t, a.ID(), hex.EncodeToString(key)[:8])

	// NewKEK keeps no reference to the caller's key.
	rec, err := store.NewSealer(a).Seal(t.Context(), shareRef, []byte("x"))
	require.NoError(t, err)
	clear(key)
	_, err = store.NewSealer(a).Open(t.Context(), shareRef, rec)
	require.NoError(t, err)
}

func TestReadKEKFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := randomBytes(t, 32)
	want, err := store.NewKEK(key)
	require.NoError(t, err)
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, mode))
		require.NoError(t, os.Chmod(p, mode)) // past the umask
		return p
	}

	for name, b := range map[string][]byte{
		"raw":           key,
		"hex":           []byte(hex.EncodeToString(key)),
		"hex newline":   []byte(hex.EncodeToString(key) + "\n"),
		"hex crlf":      []byte(hex.EncodeToString(key) + "\r\n"),
		"hex uppercase": bytes.ToUpper([]byte(hex.EncodeToString(key))),
	} {
		for _, mode := range []os.FileMode{0o600, 0o400} {
			k, err := store.ReadKEKFile(write(name, b, mode))
			require.NoError(t, err, name)
			assert.Equal(t, want.ID(), k.ID(), name)
			require.NoError(t, os.Remove(filepath.Join(dir, name)))
		}
	}

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o610} {
		p := write("open", key, mode)
		_, err := store.ReadKEKFile(p)
		require.ErrorIs(t, err, store.ErrKEK, "mode %04o", mode)
		assert.Contains(t, err.Error(), "group or others")
		assert.Contains(t, err.Error(), "chmod 600")
		require.NoError(t, os.Remove(p))
	}

	for name, b := range map[string][]byte{
		"empty":     nil,
		"short raw": key[:31],
		"long raw":  append(bytes.Clone(key), 0),
		"bad hex":   []byte(hex.EncodeToString(key)[:62] + "zz"),
		"short hex": []byte(hex.EncodeToString(key)[:62]),
		"long":      make([]byte, 4096),
	} {
		_, err := store.ReadKEKFile(write(name, b, 0o600))
		require.ErrorIs(t, err, store.ErrKEK, name)
		assert.NotContains(t, err.Error(), hex.EncodeToString(key)[:16], "no key material in errors")
	}

	_, err = store.ReadKEKFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = store.ReadKEKFile(dir)
	assert.ErrorIs(t, err, store.ErrKEK, "a directory")
}

func openBolt(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// A share sealed into a bolt file does not appear in the file's bytes; the
// same bytes stored unsealed do (the control), and the sealed share
// survives a restart.
func TestSealedShareNotInFile(t *testing.T) {
	t.Parallel()
	s, _ := newSealer(t)
	dir := t.TempDir()
	secret := randomBytes(t, 32)
	key := []byte("signer-1/key-7")

	sealedPath := filepath.Join(dir, "sealed.db")
	db := openBolt(t, sealedPath)
	require.NoError(t, db.Update(t.Context(), func(tx store.Tx) error {
		return store.PutSealed(t.Context(), tx, s, "shares", key, shareRef, secret)
	}))
	require.NoError(t, db.Close())

	plainPath := filepath.Join(dir, "plain.db")
	db = openBolt(t, plainPath)
	require.NoError(t, db.Update(t.Context(), func(tx store.Tx) error {
		return tx.Put("shares", key, secret)
	}))
	require.NoError(t, db.Close())

	raw, err := os.ReadFile(sealedPath)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, secret), "sealed share readable in the raw file")
	assert.False(t, bytes.Contains(raw, secret[:16]), "half the sealed share readable in the raw file")
	raw, err = os.ReadFile(plainPath)
	require.NoError(t, err)
	assert.True(t, bytes.Contains(raw, secret), "control: an unsealed share is in the raw file")

	db = openBolt(t, sealedPath)
	require.NoError(t, db.View(t.Context(), func(tx store.Tx) error {
		got, err := store.GetSealed(t.Context(), tx, s, "shares", key, shareRef)
		require.NoError(t, err)
		assert.Equal(t, secret, got)
		return nil
	}))
}

// A sealed record copied to another place in the store, or to another
// signer's store, does not open there.
func TestMovedRecordFailsToOpen(t *testing.T) {
	t.Parallel()
	s, _ := newSealer(t)
	dir := t.TempDir()
	db := openBolt(t, filepath.Join(dir, "signer-1.db"))
	other := openBolt(t, filepath.Join(dir, "signer-2.db"))
	require.NoError(t, db.Update(t.Context(), func(tx store.Tx) error {
		return store.PutSealed(t.Context(), tx, s, "shares", []byte("key-7"), shareRef, []byte("share of key 7"))
	}))
	var rec []byte
	require.NoError(t, db.Update(t.Context(), func(tx store.Tx) error {
		var err error
		if rec, err = tx.Get("shares", []byte("key-7")); err != nil {
			return err
		}
		return tx.Put("shares", []byte("key-8"), rec)
	}))
	require.NoError(t, other.Update(t.Context(), func(tx store.Tx) error {
		return tx.Put("shares", []byte("key-7"), rec)
	}))

	err := db.View(t.Context(), func(tx store.Tx) error {
		_, err := store.GetSealed(t.Context(), tx, s, "shares", []byte("key-8"),
			store.RecordRef{Signer: "signer-1", KeyID: "key-8", Kind: "share", Version: 1})
		return err
	})
	require.ErrorIs(t, err, store.ErrUnseal, "moved to another key id")
	err = other.View(t.Context(), func(tx store.Tx) error {
		_, err := store.GetSealed(t.Context(), tx, s, "shares", []byte("key-7"),
			store.RecordRef{Signer: "signer-2", KeyID: "key-7", Kind: "share", Version: 1})
		return err
	})
	require.ErrorIs(t, err, store.ErrUnseal, "moved to another signer")
	err = db.View(t.Context(), func(tx store.Tx) error {
		_, err := store.GetSealed(t.Context(), tx, s, "shares", []byte("key-9"), shareRef)
		return err
	})
	require.ErrorIs(t, err, store.ErrNotFound)
}

func FuzzOpenSealed(f *testing.F) {
	kek, err := store.NewKEK(bytes.Repeat([]byte{7}, 32))
	require.NoError(f, err)
	s := store.NewSealer(kek)
	for _, pt := range [][]byte{nil, []byte("share"), bytes.Repeat([]byte{0xa5}, 200)} {
		rec, err := s.Seal(context.Background(), shareRef, pt)
		require.NoError(f, err)
		f.Add(rec)
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0xa0})
	f.Fuzz(func(t *testing.T, rec []byte) {
		pt, err := s.Open(context.Background(), shareRef, rec)
		if err != nil {
			if !typedOpenError(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		// Only a genuine record opens; re-sealing it must round-trip.
		again, err := s.Seal(context.Background(), shareRef, pt)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Open(context.Background(), shareRef, again); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("re-sealed record does not round-trip: %v", err)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	s, _ := newSealer(b)
	share := randomBytes(b, 512)
	for b.Loop() {
		if _, err := s.Seal(b.Context(), shareRef, share); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s, _ := newSealer(b)
	rec, err := s.Seal(b.Context(), shareRef, randomBytes(b, 512))
	require.NoError(b, err)
	for b.Loop() {
		if _, err := s.Open(b.Context(), shareRef, rec); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSealerConcurrentUse(t *testing.T) {
	t.Parallel()
	s, _ := newSealer(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			ref := shareRef
			ref.KeyID = fmt.Sprint("key-", w)
			for i := range 100 {
				pt := []byte(fmt.Sprint(w, "/", i))
				rec, err := s.Seal(context.Background(), ref, pt)
				if err == nil {
					var got []byte
					if got, err = s.Open(context.Background(), ref, rec); err == nil && !bytes.Equal(got, pt) {
						err = errors.New("round trip changed the plaintext")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
