package audit_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/custody/audit"
	"github.com/cairn-mpc/cairn/store"
)

func TestNewNeedsStore(t *testing.T) {
	t.Parallel()
	_, err := audit.New(audit.Config{})
	assert.Error(t, err)
}

func TestAppendEntriesHead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := newLog(t)

	seq, hash, err := l.Head(ctx)
	require.NoError(t, err)
	assert.Zero(t, seq)
	assert.Equal(t, make([]byte, audit.HashSize), hash)
	got, err := l.Entries(ctx, 1, 0)
	require.NoError(t, err)
	assert.Empty(t, got)

	records := []audit.Record{
		{Kind: "wallet.created", Actor: "u-1", Subject: "w-1", Details: []byte(`{"network":"Ethereum"}`)},
		{Kind: "request.received", Actor: "u-2", Subject: "r-1", Details: []byte{}},
		{Kind: "request.refused", Actor: "system", Subject: "r-1", Details: []byte(`{"reason":"no permission"}`)},
		{Kind: "réquest.ünicode ✓"},
	}
	var appended []audit.Entry
	for i, r := range records {
		e, err := l.AppendNow(ctx, r)
		require.NoError(t, err)
		assert.Equal(t, uint64(i+1), e.Seq)
		assert.Equal(t, time.UTC, e.Time.Location())
		assert.Equal(t, t0.Add(time.Duration(i+1)*(time.Millisecond+time.Nanosecond)), e.Time)
		assert.Equal(t, r.Kind, e.Kind)
		assert.Len(t, e.Hash, audit.HashSize)
		if i == 0 {
			assert.Equal(t, make([]byte, audit.HashSize), e.Prev)
		} else {
			assert.Equal(t, appended[i-1].Hash, e.Prev)
		}
		appended = append(appended, e)
	}
	assert.Nil(t, appended[1].Details, "empty details are stored as nil")

	all, err := l.Entries(ctx, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, appended, all)
	from2, err := l.Entries(ctx, 2, 2)
	require.NoError(t, err)
	assert.Equal(t, appended[1:3], from2)
	tail, err := l.Entries(ctx, 4, 10)
	require.NoError(t, err)
	assert.Equal(t, appended[3:], tail)
	none, err := l.Entries(ctx, 5, 0)
	require.NoError(t, err)
	assert.Empty(t, none)

	seq, hash, err = l.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(len(records)), seq)
	assert.Equal(t, appended[len(appended)-1].Hash, hash)

	require.NoError(t, l.Verify(ctx, nil))
	require.NoError(t, audit.VerifyEntries(ctx, all, nil))

	// The entry owns its slices: changing the caller's record afterwards
	// changes nothing stored.
	details := []byte(`{"a":1}`)
	e, err := l.AppendNow(ctx, audit.Record{Kind: "k", Details: details})
	require.NoError(t, err)
	details[0] = 'X'
	stored, err := l.Entries(ctx, e.Seq, 1)
	require.NoError(t, err)
	assert.Equal(t, []byte(`{"a":1}`), stored[0].Details)
	require.NoError(t, l.Verify(ctx, nil))
}

// TestConcurrentAppendNow: concurrent appends get Seq 1..n, each once,
// and the chain verifies.
func TestConcurrentAppendNow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := newLog(t)
	const workers, each = 8, 12
	seqs := make(chan uint64, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				e, err := l.AppendNow(ctx, audit.Record{Kind: "request.received", Actor: "worker", Subject: string(rune('a'+w)) + string(rune('0'+i))})
				if !assert.NoError(t, err) {
					return
				}
				seqs <- e.Seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	var got []uint64
	for s := range seqs {
		got = append(got, s)
	}
	slices.Sort(got)
	want := make([]uint64, workers*each)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	assert.Equal(t, want, got)

	all, err := l.Entries(ctx, 1, 0)
	require.NoError(t, err)
	require.Len(t, all, workers*each)
	for i, e := range all {
		assert.Equal(t, uint64(i+1), e.Seq)
	}
	assert.NoError(t, l.Verify(ctx, nil))
}

// TestAppendAtomicity: an entry appended in a transaction that fails is
// not there, and the next entry takes its Seq; entries appended in one
// transaction that commits are all there.
func TestAppendAtomicity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, db := newLog(t)
	first, err := l.AppendNow(ctx, audit.Record{Kind: "wallet.created"})
	require.NoError(t, err)

	boom := errors.New("state change failed")
	err = db.Update(ctx, func(tx store.Tx) error {
		require.NoError(t, tx.Put("custody.wallets", []byte("w-2"), []byte("wallet")))
		e, err := l.Append(ctx, tx, audit.Record{Kind: "wallet.created", Subject: "w-2"})
		require.NoError(t, err)
		assert.Equal(t, uint64(2), e.Seq)
		return boom
	})
	require.ErrorIs(t, err, boom)
	seq, hash, err := l.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), seq)
	assert.Equal(t, first.Hash, hash)
	all, err := l.Entries(ctx, 1, 0)
	require.NoError(t, err)
	assert.Len(t, all, 1)
	require.NoError(t, db.View(ctx, func(tx store.Tx) error {
		_, err := tx.Get("custody.wallets", []byte("w-2"))
		assert.ErrorIs(t, err, store.ErrNotFound)
		return nil
	}))

	var two []audit.Entry
	require.NoError(t, db.Update(ctx, func(tx store.Tx) error {
		for _, k := range []string{"request.received", "policy.evaluated"} {
			e, err := l.Append(ctx, tx, audit.Record{Kind: k})
			if err != nil {
				return err
			}
			two = append(two, e)
		}
		return nil
	}))
	assert.Equal(t, uint64(2), two[0].Seq)
	assert.Equal(t, uint64(3), two[1].Seq)
	assert.Equal(t, two[0].Hash, two[1].Prev)
	all, err = l.Entries(ctx, 1, 0)
	require.NoError(t, err)
	assert.Equal(t, two, all[1:])
	assert.NoError(t, l.Verify(ctx, nil))

	// A read-only transaction cannot append.
	err = db.View(ctx, func(tx store.Tx) error {
		_, err := l.Append(ctx, tx, audit.Record{Kind: "k"})
		return err
	})
	assert.ErrorIs(t, err, store.ErrReadOnly)
}

func TestAppendInvalid(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	good := w.evidence(t, w.bob, "Wallets:Transfer", "wallets/w-1", []byte("{}"))
	var ev authn.Evidence
	require.NoError(t, ev.UnmarshalBinary(good))
	ev.Signature = slices.Clone(ev.Signature)
	ev.Signature[0] ^= 1
	badSig, err := ev.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, ev.UnmarshalBinary(good))
	ev.Binding.Operation = "Wallets:Drain"
	rebound, err := ev.MarshalBinary()
	require.NoError(t, err)

	cases := []struct {
		name string
		r    audit.Record
	}{
		{"empty kind", audit.Record{Actor: "u-1"}},
		{"kind too long", audit.Record{Kind: strings.Repeat("k", audit.MaxKindSize+1)}},
		{"actor too long", audit.Record{Kind: "k", Actor: strings.Repeat("a", audit.MaxActorSize+1)}},
		{"subject too long", audit.Record{Kind: "k", Subject: strings.Repeat("s", audit.MaxSubjectSize+1)}},
		{"kind not UTF-8", audit.Record{Kind: "k\xff"}},
		{"actor not UTF-8", audit.Record{Kind: "k", Actor: "\xc3"}},
		{"subject not UTF-8", audit.Record{Kind: "k", Subject: "\xed\xa0\x80"}},
		{"details too large", audit.Record{Kind: "k", Details: bytes.Repeat([]byte("x"), audit.MaxDetailsSize+1)}},
		{"too much evidence", audit.Record{Kind: "k", Evidence: slices.Repeat([][]byte{good}, audit.MaxEvidence+1)}},
		{"evidence too large", audit.Record{Kind: "k", Evidence: [][]byte{append(slices.Clone(good), make([]byte, audit.MaxEvidenceSize)...)}}},
		{"evidence undecodable", audit.Record{Kind: "k", Evidence: [][]byte{[]byte("not evidence")}}},
		{"evidence empty", audit.Record{Kind: "k", Evidence: [][]byte{good, {}}}},
		{"evidence truncated", audit.Record{Kind: "k", Evidence: [][]byte{good[:len(good)-1]}}},
		{"evidence with a bad signature", audit.Record{Kind: "k", Evidence: [][]byte{badSig}}},
		{"evidence bound to another operation", audit.Record{Kind: "k", Evidence: [][]byte{rebound}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.log.AppendNow(w.ctx, c.r)
			require.ErrorIs(t, err, audit.ErrInvalid)
			seq, _, err := w.log.Head(w.ctx)
			require.NoError(t, err)
			assert.Zero(t, seq, "nothing written")
			require.NoError(t, w.db.View(w.ctx, func(tx store.Tx) error {
				return tx.ForEach("audit.entries", nil, func(k, _ []byte) error {
					t.Errorf("entry %x written", k)
					return nil
				})
			}))
		})
	}

	// The limits themselves are accepted.
	e, err := w.log.AppendNow(w.ctx, audit.Record{
		Kind:     strings.Repeat("k", audit.MaxKindSize),
		Actor:    strings.Repeat("a", audit.MaxActorSize),
		Subject:  strings.Repeat("s", audit.MaxSubjectSize),
		Details:  bytes.Repeat([]byte("x"), audit.MaxDetailsSize),
		Evidence: slices.Repeat([][]byte{good}, audit.MaxEvidence),
	})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), e.Seq)
	assert.NoError(t, w.log.Verify(w.ctx, w.keys))
}

// TestAppendRefusesToOverwrite: with the head record rolled back behind
// the log's back, Append refuses to write over the entry that exists.
func TestAppendRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, db := newLog(t)
	_, err := l.AppendNow(ctx, audit.Record{Kind: "a"})
	require.NoError(t, err)
	require.NoError(t, db.Update(ctx, func(tx store.Tx) error { return tx.Delete("audit.meta", []byte("head")) }))
	_, err = l.AppendNow(ctx, audit.Record{Kind: "b"})
	require.ErrorIs(t, err, audit.ErrTampered)
	all, err := l.Entries(ctx, 1, 0)
	require.NoError(t, err)
	assert.Empty(t, all, "the head says the log is empty")
	var ve *audit.VerifyError
	require.ErrorAs(t, l.Verify(ctx, nil), &ve)
	assert.Equal(t, uint64(1), ve.Seq)
}
