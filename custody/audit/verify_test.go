package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/custody/audit"
	"github.com/cairn-mpc/cairn/store"
)

const bucketEntries = "audit.entries"

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// requireFailsAt asserts that err is a *VerifyError at seq.
func requireFailsAt(t *testing.T, err error, seq uint64) *audit.VerifyError {
	t.Helper()
	var ve *audit.VerifyError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, seq, ve.Seq, "failure reported at the wrong entry: %v", err)
	return ve
}

// raw returns the stored value of entry seq.
func raw(t *testing.T, db store.Store, seq uint64) []byte {
	t.Helper()
	var v []byte
	require.NoError(t, db.View(context.Background(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get(bucketEntries, seqKey(seq))
		return err
	}))
	return v
}

func put(t *testing.T, db store.Store, seq uint64, v []byte) {
	t.Helper()
	require.NoError(t, db.Update(context.Background(), func(tx store.Tx) error {
		return tx.Put(bucketEntries, seqKey(seq), v)
	}))
}

// TestVerifyRealEvidence: a log whose entries carry evidence signed by a
// virtual passkey and by Ed25519 and P-256 key credentials, through a real
// authn.Service, verifies against the service's credentials, stored and
// offline.
func TestVerifyRealEvidence(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	appended := w.fill(t)

	require.NoError(t, w.log.Verify(w.ctx, w.keys))
	require.NoError(t, w.log.Verify(w.ctx, nil))
	all, err := w.log.Entries(w.ctx, 1, 0)
	require.NoError(t, err)
	require.Equal(t, appended, all)
	require.NoError(t, audit.VerifyEntries(w.ctx, all, w.keys))

	// Every evidence is there and says who signed.
	var principals []string
	for _, e := range all {
		for _, b := range e.Evidence {
			var ev authn.Evidence
			require.NoError(t, ev.UnmarshalBinary(b))
			principals = append(principals, ev.Principal)
		}
	}
	assert.Equal(t, []string{w.alice.id, w.bob.id, w.carol.id, w.bob.id, w.alice.id}, principals)

	// Evidence made before a revocation still verifies after it.
	require.NoError(t, w.authn.RevokeCredential(w.ctx, w.bob.cred.ID))
	assert.NoError(t, w.log.Verify(w.ctx, w.keys))
}

// TestFlipAnyByte: flipping one byte of any stored entry, at any of a
// spread of positions, makes Verify fail at that entry; restored, the log
// verifies again.
func TestFlipAnyByte(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	entries := w.fill(t)
	flips := 0
	for _, e := range entries {
		orig := raw(t, w.db, e.Seq)
		for _, pos := range positions(len(orig)) {
			v := slices.Clone(orig)
			v[pos] ^= 1 << (pos % 8)
			put(t, w.db, e.Seq, v)
			err := w.log.Verify(w.ctx, w.keys)
			ve := requireFailsAt(t, err, e.Seq)
			require.ErrorIs(t, ve, audit.ErrTampered, "entry %d byte %d", e.Seq, pos)
			// Read back, the entry either does not decode or does not
			// verify offline, at that entry.
			all, err := w.log.Entries(w.ctx, 1, 0)
			if err == nil {
				err = audit.VerifyEntries(w.ctx, all, w.keys)
			}
			requireFailsAt(t, err, e.Seq)
			flips++
		}
		put(t, w.db, e.Seq, orig)
	}
	t.Logf("%d single-byte flips over %d entries", flips, len(entries))
	require.NoError(t, w.log.Verify(w.ctx, w.keys))
}

// positions is every byte of a value up to 4 KiB (every entry fill
// makes); of a larger one, the first and last 1 KiB (framing, Seq, time,
// strings, Prev, hash) and every 7th byte between. Under -race or -short,
// the first and last 96 bytes and every 5th byte between.
func positions(n int) []int {
	edge, step := 1024, 7
	if n <= 4096 {
		step = 1
	}
	if raceEnabled || testing.Short() {
		edge, step = 96, 5
	}
	var out []int
	for i := 0; i < n; i++ {
		if i < edge || i >= n-edge || i%step == 0 {
			out = append(out, i)
		}
	}
	return out
}

// TestStoredTampering: entries removed, swapped, added or truncated in
// the store itself.
func TestStoredTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper func(t *testing.T, db store.Store)
		seq    uint64
	}{
		{"middle entry deleted", func(t *testing.T, db store.Store) {
			require.NoError(t, db.Update(context.Background(), func(tx store.Tx) error { return tx.Delete(bucketEntries, seqKey(3)) }))
		}, 3},
		{"first entry deleted", func(t *testing.T, db store.Store) {
			require.NoError(t, db.Update(context.Background(), func(tx store.Tx) error { return tx.Delete(bucketEntries, seqKey(1)) }))
		}, 1},
		{"last entry deleted", func(t *testing.T, db store.Store) {
			require.NoError(t, db.Update(context.Background(), func(tx store.Tx) error { return tx.Delete(bucketEntries, seqKey(6)) }))
		}, 6},
		{"two entries swapped", func(t *testing.T, db store.Store) {
			a, b := raw(t, db, 2), raw(t, db, 4)
			put(t, db, 2, b)
			put(t, db, 4, a)
		}, 2},
		{"entry copied over the next", func(t *testing.T, db store.Store) {
			put(t, db, 5, raw(t, db, 4))
		}, 5},
		{"entry beyond the head", func(t *testing.T, db store.Store) {
			put(t, db, 7, raw(t, db, 6))
		}, 7},
		{"stray key", func(t *testing.T, db store.Store) {
			require.NoError(t, db.Update(context.Background(), func(tx store.Tx) error { return tx.Put(bucketEntries, []byte("x"), []byte("y")) }))
		}, 7},
		{"head record says less", func(t *testing.T, db store.Store) {
			// The head of a shorter log: entry 6 is then beyond it.
			l2, db2 := newLog(t)
			for range 5 {
				_, err := l2.AppendNow(context.Background(), audit.Record{Kind: "k"})
				require.NoError(t, err)
			}
			var head []byte
			require.NoError(t, db2.View(context.Background(), func(tx store.Tx) error {
				var err error
				head, err = tx.Get("audit.meta", []byte("head"))
				return err
			}))
			require.NoError(t, db.Update(context.Background(), func(tx store.Tx) error { return tx.Put("audit.meta", []byte("head"), head) }))
		}, 5},
		{"head record undecodable", func(t *testing.T, db store.Store) {
			require.NoError(t, db.Update(context.Background(), func(tx store.Tx) error { return tx.Put("audit.meta", []byte("head"), []byte{1, 2}) }))
		}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.fill(t)
			require.NoError(t, w.log.Verify(w.ctx, w.keys))
			c.tamper(t, w.db)
			ve := requireFailsAt(t, w.log.Verify(w.ctx, w.keys), c.seq)
			assert.ErrorIs(t, ve, audit.ErrTampered)
		})
	}
}

// TestVerifyEntriesTampering: offline verification of entry slices that
// were cut, reordered or edited.
func TestVerifyEntriesTampering(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	entries := w.fill(t)
	other := w.evidence(t, w.carol, "Wallets:Transfer", "wallets/w-1", []byte(`{}`))

	cases := []struct {
		name   string
		tamper func([]audit.Entry) []audit.Entry
		seq    uint64
	}{
		{"entry deleted", func(es []audit.Entry) []audit.Entry { return slices.Delete(es, 2, 3) }, 3},
		{"first entry deleted", func(es []audit.Entry) []audit.Entry { return es[1:] }, 1},
		{"two entries swapped", func(es []audit.Entry) []audit.Entry { es[1], es[3] = es[3], es[1]; return es }, 2},
		{"entry repeated", func(es []audit.Entry) []audit.Entry { return slices.Insert(es, 3, es[2]) }, 4},
		{"kind changed", func(es []audit.Entry) []audit.Entry { es[3].Kind = "approval.denied"; return es }, 4},
		{"actor changed", func(es []audit.Entry) []audit.Entry { es[1].Actor = w.carol.id; return es }, 2},
		{"time changed", func(es []audit.Entry) []audit.Entry { es[4].Time = es[4].Time.Add(1); return es }, 5},
		{"details changed", func(es []audit.Entry) []audit.Entry { es[1].Details = []byte(`{"amount":"150"}`); return es }, 2},
		{"evidence removed", func(es []audit.Entry) []audit.Entry { es[4].Evidence = es[4].Evidence[:1]; return es }, 5},
		{"evidence swapped for another user's", func(es []audit.Entry) []audit.Entry { es[1].Evidence = [][]byte{other}; return es }, 2},
		{"prev changed", func(es []audit.Entry) []audit.Entry { es[2].Prev = es[0].Hash; return es }, 3},
		{"hash replaced by the previous one", func(es []audit.Entry) []audit.Entry { es[5].Hash = es[4].Hash; return es }, 6},
		{"hash truncated", func(es []audit.Entry) []audit.Entry { es[0].Hash = es[0].Hash[:31]; return es }, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es := c.tamper(cloneEntries(entries))
			ve := requireFailsAt(t, audit.VerifyEntries(w.ctx, es, w.keys), c.seq)
			assert.ErrorIs(t, ve, audit.ErrTampered)
			requireFailsAt(t, audit.VerifyEntries(w.ctx, es, nil), c.seq)
		})
	}
	require.NoError(t, audit.VerifyEntries(w.ctx, entries, w.keys), "the cases worked on copies")
}

func cloneEntries(es []audit.Entry) []audit.Entry {
	out := make([]audit.Entry, len(es))
	for i, e := range es {
		e.Details = slices.Clone(e.Details)
		e.Evidence = slices.Clone(e.Evidence)
		e.Prev = slices.Clone(e.Prev)
		e.Hash = slices.Clone(e.Hash)
		out[i] = e
	}
	return out
}

// rebuild is what an attacker who can rewrite the whole store does: a new,
// self-consistent chain of the records, edited by edit.
func rebuild(t *testing.T, entries []audit.Entry, edit func(i int, r *audit.Record)) *audit.Log {
	t.Helper()
	l, _ := newLog(t)
	for i, e := range entries {
		r := e.Record
		r.Evidence = slices.Clone(r.Evidence)
		edit(i, &r)
		_, err := l.AppendNow(context.Background(), r)
		require.NoError(t, err)
	}
	return l
}

// TestRebuiltChain: a chain rebuilt around forged evidence verifies as a
// chain, so the evidence check is what catches it, with a resolver that
// knows the real credentials (and not without one); and a chain rebuilt
// around genuine evidence is caught only by an anchored head.
func TestRebuiltChain(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	entries := w.fill(t)

	// Bob's evidence passed off as signed with carol's credential.
	var ev authn.Evidence
	require.NoError(t, ev.UnmarshalBinary(entries[1].Evidence[0]))
	ev.CredentialID = w.carol.cred.ID
	relabelled, err := ev.MarshalBinary()
	require.NoError(t, err)
	forged := rebuild(t, entries, func(i int, r *audit.Record) {
		if i == 1 {
			r.Evidence[0] = relabelled
		}
	})
	require.NoError(t, forged.Verify(w.ctx, nil), "self-consistent: the forgery carries bob's key")
	ve := requireFailsAt(t, forged.Verify(w.ctx, w.keys), 2)
	assert.ErrorIs(t, ve, audit.ErrTampered)
	assert.ErrorIs(t, ve, authn.ErrBadSignature)

	// Carol's genuine evidence in place of bob's, in a rebuilt chain: every
	// check passes; only the head anchored before tells.
	anchorSeq, anchorHash, err := w.log.Head(w.ctx)
	require.NoError(t, err)
	other := w.evidence(t, w.carol, "Wallets:Transfer", "wallets/w-1", entries[1].Details)
	swapped := rebuild(t, entries, func(i int, r *audit.Record) {
		if i == 1 {
			r.Evidence[0] = other
		}
	})
	require.NoError(t, swapped.Verify(w.ctx, w.keys))
	seq, hash, err := swapped.Head(w.ctx)
	require.NoError(t, err)
	assert.Equal(t, anchorSeq, seq)
	assert.NotEqual(t, anchorHash, hash, "the anchored head exposes the rewrite")
}

// TestResolver: a resolver with the wrong key, or that fails, stops
// verification at the first entry with evidence.
func TestResolver(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.fill(t)

	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	wrongForBob := func(ctx context.Context, id []byte) (authn.PublicKey, error) {
		if slices.Equal(id, w.bob.cred.ID) {
			return authn.PublicKey{Algorithm: authn.Ed25519, Key: authn.Base64URL(pub)}, nil
		}
		return w.keys(ctx, id)
	}
	ve := requireFailsAt(t, w.log.Verify(w.ctx, wrongForBob), 2)
	assert.ErrorIs(t, ve, audit.ErrTampered)
	assert.ErrorIs(t, ve, authn.ErrBadSignature)

	// Carol's key for everyone: alice's passkey evidence fails first.
	carols := func(context.Context, []byte) (authn.PublicKey, error) { return w.carol.cred.PublicKey, nil }
	ve = requireFailsAt(t, w.log.Verify(w.ctx, carols), 1)
	assert.ErrorIs(t, ve, audit.ErrTampered)

	unavailable := errors.New("credential store unavailable")
	failing := func(context.Context, []byte) (authn.PublicKey, error) { return authn.PublicKey{}, unavailable }
	ve = requireFailsAt(t, w.log.Verify(w.ctx, failing), 1)
	assert.ErrorIs(t, ve, unavailable)
	assert.NotErrorIs(t, ve, audit.ErrTampered, "a resolver failure is not tampering")

	// Another deployment's authn does not know these credentials.
	w2 := newWorld(t)
	ve = requireFailsAt(t, w.log.Verify(w.ctx, w2.keys), 1)
	assert.ErrorIs(t, ve, authn.ErrUnknownCredential)

	ctx, cancel := context.WithCancel(w.ctx)
	cancel()
	assert.ErrorIs(t, w.log.Verify(ctx, w.keys), context.Canceled)
}
