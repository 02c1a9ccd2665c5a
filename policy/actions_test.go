package policy_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

func group(name string, quorum int, approvers ...string) policy.ApprovalGroup {
	return policy.ApprovalGroup{Name: name, Quorum: quorum, Approvers: approvers}
}

// TestActions covers every action alone and in combination: what the
// outcome is, what the evaluations record, and what the approval holds.
func TestActions(t *testing.T) {
	t.Parallel()
	always := policy.AlwaysTrigger{}
	never := policy.TransactionAmountLimit{Limit: "1000000", Currency: "USD"}
	withAction := func(name string, r policy.Rule, a policy.Action) policy.Policy {
		return policy.Policy{Name: name, ActivityKind: policy.WalletsSign, Rule: r, Action: a}
	}
	approve := func(timeout time.Duration, groups ...policy.ApprovalGroup) policy.Action {
		return policy.RequestApproval{Groups: groups, AutoRejectTimeout: timeout}
	}

	tests := []struct {
		name        string
		policies    []policy.Policy
		outcome     policy.Outcome
		triggered   int
		groups      []string      // "policy/group" of the approval
		expiresIn   time.Duration // 0: never
		evaluations int
	}{
		{name: "no policy allows", outcome: policy.OutcomeAllow},
		{name: "block", policies: []policy.Policy{withAction("a", always, policy.Block{})},
			outcome: policy.OutcomeBlock, triggered: 1, evaluations: 1},
		{name: "untriggered block allows", policies: []policy.Policy{withAction("a", never, policy.Block{})},
			outcome: policy.OutcomeAllow, evaluations: 1},
		{name: "no action records only", policies: []policy.Policy{withAction("a", always, policy.NoAction{})},
			outcome: policy.OutcomeAllow, triggered: 1, evaluations: 1},
		{name: "request approval", policies: []policy.Policy{withAction("a", always, approve(time.Hour, group("ops", 1, "bob")))},
			outcome: policy.OutcomeRequireApproval, triggered: 1, evaluations: 1, groups: []string{"a/ops"}, expiresIn: time.Hour},
		{name: "untriggered request approval allows", policies: []policy.Policy{withAction("a", never, approve(0, group("ops", 1, "bob")))},
			outcome: policy.OutcomeAllow, evaluations: 1},
		{name: "block beats approval", policies: []policy.Policy{
			withAction("a", always, approve(0, group("ops", 1, "bob"))),
			withAction("b", always, policy.Block{}),
		}, outcome: policy.OutcomeBlock, triggered: 2, evaluations: 2},
		{name: "block beats no action", policies: []policy.Policy{
			withAction("a", always, policy.NoAction{}),
			withAction("b", always, policy.Block{}),
		}, outcome: policy.OutcomeBlock, triggered: 2, evaluations: 2},
		{name: "approval with no action", policies: []policy.Policy{
			withAction("a", always, policy.NoAction{}),
			withAction("b", always, approve(0, group("ops", 1, "bob"))),
		}, outcome: policy.OutcomeRequireApproval, triggered: 2, evaluations: 2, groups: []string{"b/ops"}},
		{name: "approvals merge, shortest timeout", policies: []policy.Policy{
			withAction("a", always, approve(3*time.Hour, group("ops", 1, "bob"), group("risk", 1, "carol"))),
			withAction("b", always, approve(time.Hour, group("ops", 2, "bob", "dave"))),
			withAction("c", always, approve(0, group("legal", 1, "erin"))),
			withAction("d", never, approve(time.Minute, group("never", 1, "erin"))),
		}, outcome: policy.OutcomeRequireApproval, triggered: 3, evaluations: 4,
			groups: []string{"a/ops", "a/risk", "b/ops", "c/legal"}, expiresIn: time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			names := map[string]string{}
			for _, p := range tc.policies {
				names[e.create(t, p).ID] = p.Name
			}
			// Another kind's policy and an archived policy never apply.
			e.create(t, policy.Policy{Name: "other kind", ActivityKind: policy.KeysExport, Rule: always, Action: policy.Block{}})
			archived := e.create(t, withAction("archived", always, policy.Block{}))
			_, err := e.ArchivePolicy(context.Background(), "admin", archived.ID)
			require.NoError(t, err)

			for _, eval := range []func(context.Context, policy.Activity) (policy.Decision, error){e.Evaluate, e.Submit} {
				d, err := eval(context.Background(), transfer(1))
				require.NoError(t, err)
				assert.Equal(t, tc.outcome, d.Outcome)
				require.Len(t, d.Evaluations, tc.evaluations)
				n := 0
				for _, ev := range d.Evaluations {
					assert.Equal(t, names[ev.PolicyID], ev.PolicyName)
					assert.NotEmpty(t, ev.Reason)
					if ev.Triggered {
						n++
					}
				}
				assert.Equal(t, tc.triggered, n)
				if tc.outcome != policy.OutcomeRequireApproval {
					assert.Nil(t, d.Approval)
					continue
				}
				require.NotNil(t, d.Approval)
				a := d.Approval
				var got []string
				for _, g := range a.Groups {
					got = append(got, names[g.PolicyID]+"/"+g.Name)
					assert.Equal(t, names[g.PolicyID], g.PolicyName)
				}
				assert.ElementsMatch(t, tc.groups, got) // policies are in ID order, and IDs are random
				assert.Equal(t, policy.ApprovalPending, a.Status)
				assert.Equal(t, "alice", a.Initiator)
				assert.Equal(t, d.Evaluations, a.Evaluations)
				assert.Equal(t, t0, a.CreatedAt)
				if tc.expiresIn == 0 {
					assert.True(t, a.ExpiresAt.IsZero())
				} else {
					assert.Equal(t, t0.Add(tc.expiresIn), a.ExpiresAt)
				}
			}
		})
	}
}

// TestSubmitStoresOutcome: Evaluate changes nothing; Submit records allowed
// transfers in the velocity history and stores approvals; a blocked one
// leaves nothing.
func TestSubmitStoresOutcome(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	e.create(t, policy.Policy{Name: "count", ActivityKind: policy.WalletsSign,
		Rule: policy.TransactionCountVelocity{Limit: 1, Timeframe: time.Hour}, Action: policy.Block{}})
	big := e.create(t, approvalPolicy("big", policy.TransactionAmountLimit{Limit: "100", Currency: "USD"}, group("ops", 1, "bob")))

	for range 3 {
		d, err := e.Evaluate(ctx, transfer(1))
		require.NoError(t, err)
		require.Equal(t, policy.OutcomeAllow, d.Outcome)
	}
	d, err := e.Submit(ctx, transfer(1))
	require.NoError(t, err)
	require.Equal(t, policy.OutcomeAllow, d.Outcome)

	// The second within the hour is over the count limit.
	d, err = e.Submit(ctx, transfer(1))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome)

	// An hour later the first has left the window; a big transfer needs
	// approval and is stored.
	e.clock.Advance(time.Hour)
	d, err = e.Submit(ctx, transfer(3))
	require.NoError(t, err)
	require.Equal(t, policy.OutcomeRequireApproval, d.Outcome)
	require.NotEmpty(t, d.Approval.ID)
	stored, err := e.Approval(ctx, d.Approval.ID)
	require.NoError(t, err)
	assert.Equal(t, *d.Approval, stored)
	assert.Equal(t, big.ID, stored.Groups[0].PolicyID)

	pending, err := e.PendingApprovals(ctx)
	require.NoError(t, err)
	assert.Equal(t, []policy.Approval{stored}, pending)

	// Pending approvals are not in the history yet: another transfer is
	// allowed.
	d, err = e.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeAllow, d.Outcome)
}

// TestDenyByDefault shows the documented pattern: a Block policy whose
// expression leaves out what is allowed.
func TestDenyByDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	e.create(t, blockPolicy("deny unless whitelisted hot wallet",
		policy.Expression{CEL: `!("hot" in wallet_tags && recipient in ["0xaaa"])`}))

	d, err := e.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeAllow, d.Outcome)

	other := transfer(1)
	other.Recipient = "0xbbb"
	d, err = e.Evaluate(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome)
}

// TestEvaluateRejectsInvalidActivity: an activity the engine cannot
// evaluate is an error, never an Allow.
func TestEvaluateRejectsInvalidActivity(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	neg := transfer(1)
	neg.Amount.Neg(neg.Amount)
	for name, a := range map[string]policy.Activity{
		"unknown kind":        {Kind: "Wallets:Dance", Initiator: "alice"},
		"no initiator":        {Kind: policy.WalletsCreate},
		"sign without wallet": {Kind: policy.WalletsSign, Initiator: "alice"},
		"negative amount":     neg,
		"unknown payload":     {Kind: policy.WalletsSign, Initiator: "alice", WalletID: "w1", Payload: "Poem"},
	} {
		_, err := e.Evaluate(context.Background(), a)
		assert.ErrorIs(t, err, policy.ErrInvalid, name)
		_, err = e.Submit(context.Background(), a)
		assert.ErrorIs(t, err, policy.ErrInvalid, name)
	}
}
