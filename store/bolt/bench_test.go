package bolt_test

import (
	"crypto/rand"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
)

// shareSize is about a DKLs23/FROST key share with its public data (secret
// scalar, group key, the parties' verification shares for 3-of-5, chain
// code and metadata).
const shareSize = 512

func benchStore(b *testing.B) (*bolt.DB, *store.Sealer, []byte) {
	b.Helper()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
	require.NoError(b, err)
	b.Cleanup(func() { _ = db.Close() })
	kekBytes := make([]byte, 32)
	_, _ = rand.Read(kekBytes)
	kek, err := store.NewKEK(kekBytes)
	require.NoError(b, err)
	share := make([]byte, shareSize)
	_, _ = rand.Read(share)
	return db, store.NewSealer(kek), share
}

func benchKey(i int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(i)) }

// BenchmarkSealedShareWrite is one durable Update storing one sealed share:
// fresh data key, AES-GCM twice, CBOR, bbolt commit with fsync.
func BenchmarkSealedShareWrite(b *testing.B) {
	db, sealer, share := benchStore(b)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		err := db.Update(ctx, func(tx store.Tx) error {
			return store.PutSealed(ctx, tx, sealer, "shares", benchKey(i), shareRef(i), share)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawWrite is the same Update without sealing: the cost of the
// durable commit alone.
func BenchmarkRawWrite(b *testing.B) {
	db, _, share := benchStore(b)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		if err := db.Update(ctx, func(tx store.Tx) error {
			return tx.Put("shares", benchKey(i), share)
		}); err != nil {
			b.Fatal(err)
		}
	}
}

const benchRecords = 1000

// BenchmarkSealedShareRead is one View opening one sealed share out of
// benchRecords.
func BenchmarkSealedShareRead(b *testing.B) {
	db, sealer, share := benchStore(b)
	ctx := b.Context()
	putSealedShares(b, db, sealer, share)
	i := 0
	for b.Loop() {
		i = (i + 1) % benchRecords
		if err := db.View(ctx, func(tx store.Tx) error {
			got, err := store.GetSealed(ctx, tx, sealer, "shares", benchKey(i), shareRef(i))
			clear(got)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealedShareReadParallel is BenchmarkSealedShareRead from
// GOMAXPROCS goroutines: readers do not block one another.
func BenchmarkSealedShareReadParallel(b *testing.B) {
	db, sealer, share := benchStore(b)
	ctx := b.Context()
	putSealedShares(b, db, sealer, share)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i = (i + 1) % benchRecords
			if err := db.View(ctx, func(tx store.Tx) error {
				_, err := store.GetSealed(ctx, tx, sealer, "shares", benchKey(i), shareRef(i))
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRawRead is one View reading one unsealed share.
func BenchmarkRawRead(b *testing.B) {
	db, _, share := benchStore(b)
	ctx := b.Context()
	require.NoError(b, db.Update(ctx, func(tx store.Tx) error {
		for i := range benchRecords {
			if err := tx.Put("shares", benchKey(i), share); err != nil {
				return err
			}
		}
		return nil
	}))
	i := 0
	for b.Loop() {
		i = (i + 1) % benchRecords
		if err := db.View(ctx, func(tx store.Tx) error {
			_, err := tx.Get("shares", benchKey(i))
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// putSealedShares stores benchRecords sealed copies of share.
func putSealedShares(b *testing.B, db store.Store, sealer *store.Sealer, share []byte) {
	b.Helper()
	ctx := b.Context()
	require.NoError(b, db.Update(ctx, func(tx store.Tx) error {
		for i := range benchRecords {
			if err := store.PutSealed(ctx, tx, sealer, "shares", benchKey(i), shareRef(i), share); err != nil {
				return err
			}
		}
		return nil
	}))
}

func shareRef(i int) store.RecordRef {
	return store.RecordRef{Signer: "signer-1", KeyID: string(benchKey(i)), Kind: "share", Version: 1}
}
