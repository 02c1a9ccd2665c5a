package policy_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store/bolt"
)

// TestVelocityAcrossRestart: the velocity history, the policies and a
// pending approval live in the bbolt file; a new engine on the reopened
// store sees them all.
func TestVelocityAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "policy.db")
	clock := newClock()

	st, err := bolt.Open(path, nil)
	require.NoError(t, err)
	e := newEnvOn(t, st, clock)
	count := e.create(t, blockPolicy("burst", policy.TransactionCountVelocity{Limit: 2, Timeframe: time.Hour}))
	e.create(t, blockPolicy("daily value", policy.TransactionAmountVelocity{Limit: "250", Currency: "USD", Timeframe: 24 * time.Hour}))
	e.create(t, approvalPolicy("big", policy.TransactionAmountLimit{Limit: "100", Currency: "USD"}, group("ops", 1, "bob")))

	d, err := e.Submit(ctx, transfer(3)) // 150 USD: needs approval, not in the history yet
	require.NoError(t, err)
	require.Equal(t, policy.OutcomeRequireApproval, d.Outcome)
	pendingID := d.Approval.ID
	for range 2 {
		clock.Advance(10 * time.Minute)
		d, err := e.Submit(ctx, transfer(1))
		require.NoError(t, err)
		require.Equal(t, policy.OutcomeAllow, d.Outcome)
	}
	clock.Advance(10 * time.Minute)
	d, err = e.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	require.Equal(t, policy.OutcomeBlock, d.Outcome)
	require.NoError(t, st.Close())

	// Restart: a new store handle and a new engine with nothing cached.
	st, err = bolt.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	e = newEnvOn(t, st, clock)

	d, err = e.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome)
	for _, ev := range d.Evaluations {
		if ev.PolicyID == count.ID {
			assert.Equal(t, "Number of transactions (3) in the last 1 hour is above limit (2)", ev.Reason)
		}
	}

	// The approval survived too; approving it puts 150 USD into the
	// history, which the daily value rule then sees.
	a, err := e.decide(pendingID, "bob", policy.VoteApproved)
	require.NoError(t, err)
	require.Equal(t, policy.ApprovalApproved, a.Status)

	// An hour later the burst window is clear, but the day's value is
	// 50 + 50 + 150 + 50 = 300 USD > 250 USD.
	clock.Advance(time.Hour)
	d, err = e.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome)
	var reasons []string
	for _, ev := range d.Blocking() {
		reasons = append(reasons, ev.Reason)
	}
	assert.Equal(t, []string{"Value sent in the last 1 day (300.00 USD) is above limit (250.00 USD)"}, reasons)

	// A day later everything has left the windows.
	clock.Advance(24 * time.Hour)
	d, err = e.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeAllow, d.Outcome)
}
