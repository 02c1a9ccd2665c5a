package mpc

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSessionIDsAreSingleUse: a signer refuses a session id it has served,
// across a restart, until the ceremony's deadline is long past (when the
// request itself would be refused for it) and the id is pruned.
func TestSessionIDsAreSingleUse(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := bolt.Open(path, nil)
	require.NoError(t, err)
	now := time.Unix(1_800_000_000, 0)
	s := &Signer{cfg: SignerConfig{Store: st, Now: func() time.Time { return now }}}
	ctx := context.Background()
	sid := round.NewSessionID("frost", []byte("k"), []round.PartyID{1, 2}, []byte("req"))
	deadline := now.Add(time.Minute).UnixMilli()
	require.NoError(t, s.claimSession(ctx, sid, deadline))
	assert.ErrorIs(t, s.claimSession(ctx, sid, deadline), ErrSessionUsed)

	require.NoError(t, st.Close())
	st, err = bolt.Open(path, nil)
	require.NoError(t, err)
	defer st.Close()
	s.cfg.Store = st
	assert.ErrorIs(t, s.claimSession(ctx, sid, deadline), ErrSessionUsed, "remembered across a restart")

	// Pruning keeps live ids and forgets expired ones.
	other := round.NewSessionID("frost", []byte("k"), []round.PartyID{1, 2}, []byte("old"))
	require.NoError(t, s.claimSession(ctx, other, now.Add(-time.Hour).UnixMilli()))
	require.NoError(t, s.pruneOnce(ctx))
	count := 0
	require.NoError(t, st.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(bucketSessions, nil, func(k, v []byte) error {
			count++
			assert.Equal(t, sid[:], k)
			assert.Equal(t, uint64(deadline), binary.BigEndian.Uint64(v))
			return nil
		})
	}))
	assert.Equal(t, 1, count)
}
