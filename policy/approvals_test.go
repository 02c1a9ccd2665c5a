package policy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

type step struct {
	user   string
	vote   policy.Vote
	err    error                 // expected error, nil for success
	status policy.ApprovalStatus // status after the step
	tally  []int                 // approvals counted per group after the step, if given
}

// TestApprovalLifecycle applies the approval rules one by one. The
// activity's initiator is alice. Group order is the order the groups are
// listed in one policy.
func TestApprovalLifecycle(t *testing.T) {
	t.Parallel()
	const (
		A, D = policy.VoteApproved, policy.VoteDenied
		P    = policy.ApprovalPending
	)
	tests := []struct {
		name   string
		groups []policy.ApprovalGroup
		steps  []step
	}{
		{name: "quorum in every group approves", groups: []policy.ApprovalGroup{group("ops", 2, "bob", "carol", "dave"), group("risk", 1, "erin")},
			steps: []step{
				{user: "bob", vote: A, status: P, tally: []int{1, 0}},
				{user: "erin", vote: A, status: P, tally: []int{1, 1}},
				{user: "carol", vote: A, status: policy.ApprovalApproved, tally: []int{2, 1}},
			}},
		{name: "same user in two groups counts in both", groups: []policy.ApprovalGroup{group("ops", 1, "bob", "carol"), group("risk", 1, "bob", "erin")},
			steps: []step{{user: "bob", vote: A, status: policy.ApprovalApproved, tally: []int{1, 1}}}},
		{name: "same user counts once per group", groups: []policy.ApprovalGroup{group("ops", 2, "bob", "carol"), group("risk", 1, "bob")},
			steps: []step{
				{user: "bob", vote: A, status: P, tally: []int{1, 1}},
				{user: "bob", vote: A, err: policy.ErrAlreadyDecided, status: P, tally: []int{1, 1}},
				{user: "bob", vote: D, err: policy.ErrAlreadyDecided, status: P},
				{user: "carol", vote: A, status: policy.ApprovalApproved, tally: []int{2, 1}},
			}},
		{name: "initiator approve refused", groups: []policy.ApprovalGroup{group("ops", 1, "alice", "bob")},
			steps: []step{
				{user: "alice", vote: A, err: policy.ErrInitiatorCannotApprove, status: P, tally: []int{0}},
				{user: "bob", vote: A, status: policy.ApprovalApproved},
			}},
		{name: "initiator approve allowed by the group", groups: []policy.ApprovalGroup{
			{Name: "ops", Quorum: 1, Approvers: []string{"alice", "bob"}, InitiatorCanApprove: true},
			group("risk", 1, "alice", "erin"),
		}, steps: []step{
			// Counted in ops only: risk does not allow the initiator.
			{user: "alice", vote: A, status: P, tally: []int{1, 0}},
			{user: "erin", vote: A, status: policy.ApprovalApproved, tally: []int{1, 1}},
		}},
		{name: "initiator deny cancels", groups: []policy.ApprovalGroup{group("ops", 1, "bob")},
			steps: []step{
				{user: "alice", vote: D, status: policy.ApprovalDenied},
				{user: "bob", vote: A, err: policy.ErrApprovalClosed, status: policy.ApprovalDenied},
			}},
		{name: "ineligible user refused", groups: []policy.ApprovalGroup{group("ops", 1, "bob")},
			steps: []step{
				{user: "mallory", vote: A, err: policy.ErrNotEligible, status: P},
				{user: "mallory", vote: D, err: policy.ErrNotEligible, status: P},
			}},
		{name: "any denial rejects", groups: []policy.ApprovalGroup{group("ops", 1, "bob", "carol")},
			steps: []step{{user: "carol", vote: D, status: policy.ApprovalDenied}}},
		{name: "deny after quorum in one group but not the other", groups: []policy.ApprovalGroup{group("ops", 1, "bob"), group("risk", 2, "erin", "frank")},
			steps: []step{
				{user: "bob", vote: A, status: P, tally: []int{1, 0}},
				{user: "erin", vote: A, status: P, tally: []int{1, 1}},
				{user: "frank", vote: D, status: policy.ApprovalDenied, tally: []int{1, 1}},
			}},
		{name: "no decision after approval", groups: []policy.ApprovalGroup{group("ops", 1, "bob", "carol")},
			steps: []step{
				{user: "bob", vote: A, status: policy.ApprovalApproved},
				{user: "carol", vote: D, err: policy.ErrApprovalClosed, status: policy.ApprovalApproved},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newTestEnv(t)
			e.create(t, approvalPolicy("p", policy.AlwaysTrigger{}, tc.groups...))
			d, err := e.Submit(ctx, transfer(1))
			require.NoError(t, err)
			require.Equal(t, policy.OutcomeRequireApproval, d.Outcome)
			id := d.Approval.ID
			decided := 0
			for i, s := range tc.steps {
				e.clock.Advance(time.Minute)
				a, err := e.decide(id, s.user, s.vote)
				if s.err != nil {
					require.ErrorIs(t, err, s.err, "step %d", i)
					a, err = e.Approval(ctx, id)
					require.NoError(t, err)
				} else {
					require.NoError(t, err, "step %d", i)
					decided++
					last := a.Decisions[len(a.Decisions)-1]
					assert.Equal(t, s.user, last.User)
					assert.Equal(t, s.vote, last.Vote)
					assert.Equal(t, e.clock.Now(), last.Time)
					assert.NotEmpty(t, last.Evidence)
				}
				assert.Len(t, a.Decisions, decided, "step %d", i)
				assert.Equal(t, s.status, a.Status, "step %d", i)
				if s.tally != nil {
					assert.Equal(t, s.tally, a.Tally(), "step %d", i)
				}
				assert.Equal(t, a.Status != policy.ApprovalPending, !a.ResolvedAt.IsZero(), "step %d", i)
			}
		})
	}
}

// TestApprovalExpiry: past AutoRejectTimeout an approval is Expired, a
// late decision is refused and the expiry stored; ExpireApprovals sweeps
// the others.
func TestApprovalExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	p := approvalPolicy("p", policy.AlwaysTrigger{}, group("ops", 2, "bob", "carol"))
	p.Action = policy.RequestApproval{Groups: p.Action.(policy.RequestApproval).Groups, AutoRejectTimeout: time.Hour}
	e.create(t, p)

	first, err := e.Submit(ctx, transfer(1))
	require.NoError(t, err)
	e.clock.Advance(10 * time.Minute)
	second, err := e.Submit(ctx, transfer(1))
	require.NoError(t, err)
	_, err = e.decide(first.Approval.ID, "bob", policy.VoteApproved)
	require.NoError(t, err)

	// One nanosecond before the deadline it is still pending.
	e.clock.Set(first.Approval.ExpiresAt.Add(-1))
	a, err := e.Approval(ctx, first.Approval.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.ApprovalPending, a.Status)
	expired, err := e.ExpireApprovals(ctx)
	require.NoError(t, err)
	assert.Empty(t, expired)

	// At the deadline it has expired: reads say so at once, and a decision
	// stores it.
	e.clock.Set(first.Approval.ExpiresAt)
	a, err = e.Approval(ctx, first.Approval.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.ApprovalExpired, a.Status)
	a, err = e.decide(first.Approval.ID, "carol", policy.VoteApproved)
	require.ErrorIs(t, err, policy.ErrApprovalExpired)
	assert.Equal(t, policy.ApprovalExpired, a.Status)
	assert.Len(t, a.Decisions, 1, "the late decision is not recorded")
	assert.Equal(t, first.Approval.ExpiresAt, a.ResolvedAt)
	_, err = e.decide(first.Approval.ID, "carol", policy.VoteApproved)
	require.ErrorIs(t, err, policy.ErrApprovalClosed)

	pending, err := e.PendingApprovals(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, second.Approval.ID, pending[0].ID)

	e.clock.Set(second.Approval.ExpiresAt)
	expired, err = e.ExpireApprovals(ctx)
	require.NoError(t, err)
	require.Len(t, expired, 1)
	assert.Equal(t, second.Approval.ID, expired[0].ID)
	assert.Equal(t, policy.ApprovalExpired, expired[0].Status)
	pending, err = e.PendingApprovals(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)

	// Expired activities never enter the velocity history.
	count := e.create(t, blockPolicy("count", policy.TransactionCountVelocity{Limit: 0, Timeframe: 30 * 24 * time.Hour}))
	d, err := e.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	for _, ev := range d.Evaluations {
		if ev.PolicyID == count.ID {
			assert.Contains(t, ev.Reason, "Number of transactions (1)")
		}
	}
}

// TestApprovedActivityEntersHistory: an approved transfer counts for the
// velocity rules from the moment it is approved; a denied one never does.
func TestApprovedActivityEntersHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	e.create(t, approvalPolicy("big", policy.TransactionAmountLimit{Limit: "100", Currency: "USD"}, group("ops", 1, "bob")))
	count := e.create(t, policy.Policy{Name: "count", ActivityKind: policy.WalletsSign,
		Rule: policy.TransactionCountVelocity{Limit: 100, Timeframe: time.Hour}, Action: policy.NoAction{}})

	countNow := func() string {
		d, err := e.Evaluate(ctx, transfer(1))
		require.NoError(t, err)
		for _, ev := range d.Evaluations {
			if ev.PolicyID == count.ID {
				return ev.Reason
			}
		}
		t.Fatal("count policy not evaluated")
		return ""
	}
	denied, err := e.Submit(ctx, transfer(3))
	require.NoError(t, err)
	approved, err := e.Submit(ctx, transfer(3))
	require.NoError(t, err)
	assert.Contains(t, countNow(), "(1)")

	_, err = e.decide(denied.Approval.ID, "bob", policy.VoteDenied)
	require.NoError(t, err)
	assert.Contains(t, countNow(), "(1)")
	_, err = e.decide(approved.Approval.ID, "bob", policy.VoteApproved)
	require.NoError(t, err)
	assert.Contains(t, countNow(), "(2)")
}

// TestOpenGroupNeedsDecidePermission: a group without an approver list is
// open to anyone holding Policies:Approvals:Decide, checked when deciding.
func TestOpenGroupNeedsDecidePermission(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	require.NoError(t, e.Bootstrap(ctx, "root"))
	c, err := e.CreatePermission(ctx, "root", policy.Permission{Name: "approvers", Operations: []policy.Operation{policy.OpPoliciesApprovalsDecide}})
	require.NoError(t, err)
	_, err = e.AssignPermission(ctx, "root", c.Permission.ID, "bob")
	require.NoError(t, err)
	e.create(t, approvalPolicy("p", policy.AlwaysTrigger{}, group("anyone", 2)))

	d, err := e.Submit(ctx, transfer(1))
	require.NoError(t, err)
	id := d.Approval.ID
	_, err = e.decide(id, "mallory", policy.VoteApproved)
	require.ErrorIs(t, err, policy.ErrNotEligible)
	a, err := e.decide(id, "bob", policy.VoteApproved)
	require.NoError(t, err)
	assert.Equal(t, []int{1}, a.Tally())
	a, err = e.decide(id, "root", policy.VoteApproved) // the admin holds every operation
	require.NoError(t, err)
	assert.Equal(t, policy.ApprovalApproved, a.Status)
}

// TestDecisionEvidence: a decision needs the user's signed action over
// exactly this approval, vote and reason; the stored decisions verify again
// later, as a signer checks them, and tampering is caught.
func TestDecisionEvidence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	e.create(t, approvalPolicy("p", policy.AlwaysTrigger{}, group("ops", 2, "bob", "carol")))
	d, err := e.Submit(ctx, transfer(1))
	require.NoError(t, err)
	id := d.Approval.ID

	req := func(user string, signer string, vote, signedVote policy.Vote) policy.DecideRequest {
		return policy.DecideRequest{ApprovalID: id, User: user, Vote: vote, Reason: "ok",
			Evidence: sign(signer, policy.DecisionAction(id, signedVote, "ok"))}
	}
	for name, r := range map[string]policy.DecideRequest{
		"no evidence":         {ApprovalID: id, User: "bob", Vote: policy.VoteApproved, Reason: "ok"},
		"signed by another":   req("bob", "carol", policy.VoteApproved, policy.VoteApproved),
		"signed another vote": req("bob", "bob", policy.VoteApproved, policy.VoteDenied),
		"signed another reason": {ApprovalID: id, User: "bob", Vote: policy.VoteApproved, Reason: "ok!",
			Evidence: sign("bob", policy.DecisionAction(id, policy.VoteApproved, "ok"))},
	} {
		_, err := e.Decide(ctx, r)
		assert.ErrorIs(t, err, policy.ErrEvidence, name)
		assert.ErrorIs(t, err, errBadSignature, name)
	}
	a, err := e.Approval(ctx, id)
	require.NoError(t, err)
	assert.Empty(t, a.Decisions)

	_, err = e.Decide(ctx, req("bob", "bob", policy.VoteApproved, policy.VoteApproved))
	require.NoError(t, err)
	a, err = e.Decide(ctx, req("carol", "carol", policy.VoteApproved, policy.VoteApproved))
	require.NoError(t, err)
	require.Equal(t, policy.ApprovalApproved, a.Status)

	// A signer re-checks the approval it is handed.
	require.NoError(t, a.Verify(ctx, fakeVerifier{}))
	assert.ErrorIs(t, a.Verify(ctx, nil), policy.ErrEvidence)

	forged := a
	forged.Decisions = append([]policy.ApprovalDecision(nil), a.Decisions...)
	forged.Decisions[1].Evidence = []byte("sig:carol:0000")
	assert.ErrorIs(t, forged.Verify(ctx, fakeVerifier{}), policy.ErrEvidence)

	outsider := a
	outsider.Decisions = append([]policy.ApprovalDecision(nil), a.Decisions...)
	outsider.Decisions[1].User = "mallory"
	assert.ErrorIs(t, outsider.Verify(ctx, fakeVerifier{}), policy.ErrNotEligible)

	short := a
	short.Decisions = a.Decisions[:1]
	assert.Error(t, short.Verify(ctx, fakeVerifier{}), "quorum not reached")

	twice := a
	twice.Decisions = append([]policy.ApprovalDecision(nil), a.Decisions[0], a.Decisions[0])
	assert.ErrorIs(t, twice.Verify(ctx, fakeVerifier{}), policy.ErrAlreadyDecided)

	pending, err := e.Submit(ctx, transfer(1))
	require.NoError(t, err)
	assert.ErrorIs(t, pending.Approval.Verify(ctx, fakeVerifier{}), policy.ErrApprovalClosed)
}

// TestDecideWithoutVerifierFailsClosed: with no ActionVerifier configured,
// no decision is accepted.
func TestDecideWithoutVerifierFailsClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t, withoutVerifier())
	e.create(t, approvalPolicy("p", policy.AlwaysTrigger{}, group("ops", 1, "bob")))
	d, err := e.Submit(ctx, transfer(1))
	require.NoError(t, err)
	_, err = e.decide(d.Approval.ID, "bob", policy.VoteApproved)
	require.ErrorIs(t, err, policy.ErrEvidence)
}

// TestDecideBadRequests: malformed requests and unknown approvals.
func TestDecideBadRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	_, err := e.decide("ap-nope", "bob", policy.VoteApproved)
	assert.ErrorIs(t, err, policy.ErrNotFound)
	for name, r := range map[string]policy.DecideRequest{
		"no approval": {User: "bob", Vote: policy.VoteApproved},
		"no user":     {ApprovalID: "x", Vote: policy.VoteApproved},
		"bad vote":    {ApprovalID: "x", User: "bob", Vote: "Maybe"},
		"bad reason":  {ApprovalID: "x", User: "bob", Vote: policy.VoteApproved, Reason: "\xff"},
		"long reason": {ApprovalID: "x", User: "bob", Vote: policy.VoteApproved, Reason: strings.Repeat("x", policy.MaxReasonLength+1)},
		"huge evidence": {ApprovalID: "x", User: "bob", Vote: policy.VoteApproved,
			Evidence: make([]byte, policy.MaxEvidenceSize+1)},
	} {
		_, err := e.Decide(ctx, r)
		assert.ErrorIs(t, err, policy.ErrInvalid, name)
	}
}
