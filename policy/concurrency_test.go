package policy_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

// TestConcurrentSubmitsRespectVelocity: submissions racing on one wallet
// cannot overrun a count limit together, because each evaluates and records
// in one store transaction.
func TestConcurrentSubmitsRespectVelocity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	e.create(t, blockPolicy("burst", policy.TransactionCountVelocity{Limit: 5, Timeframe: time.Hour}))

	const n = 20
	outcomes := make([]policy.Outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d, err := e.Submit(ctx, transfer(1))
			assert.NoError(t, err)
			outcomes[i] = d.Outcome
		})
	}
	wg.Wait()
	counts := map[policy.Outcome]int{}
	for _, o := range outcomes {
		counts[o]++
	}
	assert.Equal(t, map[policy.Outcome]int{policy.OutcomeAllow: 5, policy.OutcomeBlock: n - 5}, counts)
}

// TestEnginesShareAStore: engines on one store see each other's policy
// changes at once (the compiled policy set is cached per generation of the
// store, not per engine).
func TestEnginesShareAStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newTestStore(t)
	clock := newClock()
	a, b := newEnvOn(t, st, clock), newEnvOn(t, st, clock)

	d, err := b.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	require.Equal(t, policy.OutcomeAllow, d.Outcome)

	p := a.create(t, blockPolicy("stop", policy.AlwaysTrigger{}))
	d, err = b.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome)

	_, err = b.ArchivePolicy(ctx, "admin", p.ID)
	require.NoError(t, err)
	d, err = a.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeAllow, d.Outcome)
}

// TestConcurrentDecisions: two approvers racing on a quorum of two both
// count, and the approval is approved exactly once.
func TestConcurrentDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	e.create(t, approvalPolicy("p", policy.AlwaysTrigger{}, group("ops", 2, "bob", "carol", "dave")))
	d, err := e.Submit(ctx, transfer(1))
	require.NoError(t, err)

	var wg sync.WaitGroup
	for _, u := range []string{"bob", "carol", "dave"} {
		wg.Go(func() {
			_, err := e.decide(d.Approval.ID, u, policy.VoteApproved)
			if err != nil {
				assert.ErrorIs(t, err, policy.ErrApprovalClosed)
			}
		})
	}
	wg.Wait()
	a, err := e.Approval(ctx, d.Approval.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.ApprovalApproved, a.Status)
	assert.Len(t, a.Decisions, 2)
	require.NoError(t, a.Verify(ctx, fakeVerifier{}))
}
