package custody

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
)

// TestGateRecordsOnceAndPrunes: a user action is let through for one set
// of digests only, again for the same set, and its record is dropped once
// expired (the first insertion an hour or more after the last prune).
func TestGateRecordsOnceAndPrunes(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "gate.db"), nil)
	require.NoError(t, err)
	defer db.Close()
	now := time.Unix(1_700_000_000, 0)
	g := &EvidenceGate{cfg: GateConfig{Store: db, Clock: func() time.Time { return now }}}
	ctx := context.Background()
	one := []chains.Digest{{Scheme: chains.ECDSA, Bytes: make([]byte, 32)}}
	two := []chains.Digest{{Scheme: chains.ECDSA, Bytes: append(make([]byte, 31), 1)}}

	require.NoError(t, g.once(ctx, "a", one, now.Add(time.Hour)))
	require.NoError(t, g.once(ctx, "a", one, now.Add(time.Hour)), "the same digests again")
	require.Error(t, g.once(ctx, "a", two, now.Add(time.Hour)), "other digests under a used action")
	require.NoError(t, g.once(ctx, "c", two, now.Add(10*time.Hour)))

	has := func(id string) bool {
		err := db.View(ctx, func(tx store.Tx) error { _, err := tx.Get(bucketGate, []byte(id)); return err })
		return err == nil
	}
	now = now.Add(2 * time.Hour) // "a" expired; the last prune was at the first insertion
	require.NoError(t, g.once(ctx, "c", two, now.Add(10*time.Hour)), "a repeat inserts nothing, so prunes nothing")
	require.NoError(t, g.once(ctx, "b", one, now.Add(time.Hour)))
	assert.False(t, has("a"), "expired record pruned")
	assert.True(t, has("b"))
	assert.True(t, has("c"), "a record still in force stays")
}
