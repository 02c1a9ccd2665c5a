package policy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

// governed returns an engine whose policy changes need bob's approval and
// whose permission assignments need carol's.
func governed(t *testing.T) *env {
	e := newTestEnv(t)
	e.create(t, policy.Policy{Name: "policy changes", ActivityKind: policy.PoliciesModify, Rule: policy.AlwaysTrigger{},
		Action: policy.RequestApproval{Groups: []policy.ApprovalGroup{group("security", 1, "bob")}}})
	return e
}

// TestPolicyChangeRequests: under a Policies:Modify policy, creating,
// updating and archiving policies wait for approval, and take effect only
// when approved.
func TestPolicyChangeRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := governed(t)
	block := blockPolicy("no big transfers", policy.TransactionAmountLimit{Limit: "100", Currency: "USD"})

	c, err := e.CreatePolicy(ctx, "alice", block)
	require.NoError(t, err)
	assert.Equal(t, policy.ChangePending, c.Status)
	assert.Equal(t, policy.ChangeCreatePolicy, c.Kind)
	require.NotEmpty(t, c.ApprovalID)
	require.NotEmpty(t, c.Policy.ID)
	_, err = e.Policy(ctx, c.Policy.ID)
	require.ErrorIs(t, err, policy.ErrNotFound, "not applied before approval")
	d, err := e.Evaluate(ctx, transfer(3))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeAllow, d.Outcome)

	ap, err := e.Approval(ctx, c.ApprovalID)
	require.NoError(t, err)
	assert.Equal(t, c.ID, ap.ChangeID)
	assert.Equal(t, policy.PoliciesModify, ap.Activity.Kind)
	assert.Equal(t, "alice", ap.Initiator)

	_, err = e.decide(c.ApprovalID, "bob", policy.VoteApproved)
	require.NoError(t, err)
	c, err = e.Change(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.ChangeApplied, c.Status)
	assert.Equal(t, policy.Active, c.Policy.Status)
	d, err = e.Evaluate(ctx, transfer(3))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome)

	// An update, denied: nothing changes.
	update := *c.Policy
	update.Rule = policy.TransactionAmountLimit{Limit: "1000", Currency: "USD"}
	u, err := e.UpdatePolicy(ctx, "alice", update)
	require.NoError(t, err)
	require.Equal(t, policy.ChangePending, u.Status)
	_, err = e.decide(u.ApprovalID, "bob", policy.VoteDenied)
	require.NoError(t, err)
	u, err = e.Change(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.ChangeRejected, u.Status)
	assert.Contains(t, u.Reason, "Denied")
	d, err = e.Evaluate(ctx, transfer(3))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome)

	// The same update, approved.
	u, err = e.UpdatePolicy(ctx, "alice", update)
	require.NoError(t, err)
	_, err = e.decide(u.ApprovalID, "bob", policy.VoteApproved)
	require.NoError(t, err)
	d, err = e.Evaluate(ctx, transfer(3))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeAllow, d.Outcome)
	got, err := e.Policy(ctx, update.ID)
	require.NoError(t, err)
	assert.Equal(t, update.Rule, got.Rule)
	assert.Equal(t, c.Policy.CreatedAt, got.CreatedAt)

	// Two changes wait; the archive is approved first, so the update can no
	// longer apply and fails, saying why.
	u, err = e.UpdatePolicy(ctx, "alice", update)
	require.NoError(t, err)
	ar, err := e.ArchivePolicy(ctx, "alice", update.ID)
	require.NoError(t, err)
	assert.Equal(t, "no big transfers", ar.Policy.Name, "the change shows what it archives")
	_, err = e.decide(ar.ApprovalID, "bob", policy.VoteApproved)
	require.NoError(t, err)
	_, err = e.decide(u.ApprovalID, "bob", policy.VoteApproved)
	require.NoError(t, err)
	u, err = e.Change(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.ChangeFailed, u.Status)
	assert.Contains(t, u.Reason, "archived")
	got, err = e.Policy(ctx, update.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.Archived, got.Status)
}

// TestChangeExpiryRejects: a change whose approval expires is rejected.
func TestChangeExpiryRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	e.create(t, policy.Policy{Name: "policy changes", ActivityKind: policy.PoliciesModify, Rule: policy.AlwaysTrigger{},
		Action: policy.RequestApproval{Groups: []policy.ApprovalGroup{group("security", 1, "bob")}, AutoRejectTimeout: 60e9}})
	c, err := e.CreatePolicy(ctx, "alice", blockPolicy("p", policy.AlwaysTrigger{}))
	require.NoError(t, err)
	e.clock.Advance(61e9)
	_, err = e.ExpireApprovals(ctx)
	require.NoError(t, err)
	c, err = e.Change(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.ChangeRejected, c.Status)
	assert.Contains(t, c.Reason, "Expired")
}

// TestChangeBlocked: a Block policy on a change kind refuses the change and
// writes nothing.
func TestChangeBlocked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	freeze := e.create(t, policy.Policy{Name: "freeze", ActivityKind: policy.PoliciesModify,
		Rule: policy.Expression{CEL: `initiator != "admin"`}, Action: policy.Block{}})

	_, err := e.CreatePolicy(ctx, "alice", blockPolicy("p", policy.AlwaysTrigger{}))
	require.ErrorIs(t, err, policy.ErrBlocked)
	var be *policy.BlockedError
	require.ErrorAs(t, err, &be)
	require.Len(t, be.Evaluations, 1)
	assert.Equal(t, freeze.ID, be.Evaluations[0].PolicyID)
	assert.Contains(t, err.Error(), "freeze")

	ps, err := e.Policies(ctx)
	require.NoError(t, err)
	assert.Len(t, ps, 1, "only the freeze policy exists")
	_, err = e.ArchivePolicy(ctx, "alice", freeze.ID)
	require.ErrorIs(t, err, policy.ErrBlocked)
	_, err = e.ArchivePolicy(ctx, "admin", freeze.ID)
	require.NoError(t, err)
}

// TestPermissionChangeRequests: Permissions:Assign and Permissions:Modify
// policies govern assignments and permission edits.
func TestPermissionChangeRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	require.NoError(t, e.Bootstrap(ctx, "root"))
	for _, k := range []policy.ActivityKind{policy.PermissionsAssign, policy.PermissionsModify} {
		e.create(t, policy.Policy{Name: string(k), ActivityKind: k, Rule: policy.AlwaysTrigger{},
			Action: policy.RequestApproval{Groups: []policy.ApprovalGroup{group("security", 1, "carol")}}})
	}

	c, err := e.CreatePermission(ctx, "root", policy.Permission{Name: "readers", Operations: []policy.Operation{policy.OpWalletsRead}})
	require.NoError(t, err)
	require.Equal(t, policy.ChangePending, c.Status)
	_, err = e.Permission(ctx, c.Permission.ID)
	require.ErrorIs(t, err, policy.ErrNotFound)
	_, err = e.decide(c.ApprovalID, "carol", policy.VoteApproved)
	require.NoError(t, err)
	perm, err := e.Permission(ctx, c.Permission.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.Active, perm.Status)

	as, err := e.AssignPermission(ctx, "root", perm.ID, "dave")
	require.NoError(t, err)
	require.Equal(t, policy.ChangePending, as.Status)
	require.ErrorIs(t, e.Check(ctx, "dave", policy.OpWalletsRead), policy.ErrPermissionDenied)
	_, err = e.decide(as.ApprovalID, "carol", policy.VoteApproved)
	require.NoError(t, err)
	require.NoError(t, e.Check(ctx, "dave", policy.OpWalletsRead))

	up, err := e.UpdatePermission(ctx, "root", policy.Permission{ID: perm.ID, Name: "readers", Operations: []policy.Operation{policy.OpAuditRead}})
	require.NoError(t, err)
	_, err = e.decide(up.ApprovalID, "carol", policy.VoteApproved)
	require.NoError(t, err)
	require.ErrorIs(t, e.Check(ctx, "dave", policy.OpWalletsRead), policy.ErrPermissionDenied)
	require.NoError(t, e.Check(ctx, "dave", policy.OpAuditRead))

	rv, err := e.RevokePermission(ctx, "root", perm.ID, "dave")
	require.NoError(t, err)
	_, err = e.decide(rv.ApprovalID, "carol", policy.VoteDenied)
	require.NoError(t, err)
	require.NoError(t, e.Check(ctx, "dave", policy.OpAuditRead), "a denied revocation changes nothing")
}
