package policy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

// TestPermissions: permissions are named sets of operations; a call is
// allowed when one of the identity's active permissions holds the
// operation; a refusal names identity and operation.
func TestPermissions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)

	err := e.Check(ctx, "alice", policy.OpWalletsCreate)
	var pe *policy.PermissionError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "alice", pe.Identity)
	assert.Equal(t, policy.OpWalletsCreate, pe.Operation)
	assert.ErrorIs(t, err, policy.ErrPermissionDenied)
	assert.Contains(t, err.Error(), `"alice"`)
	assert.Contains(t, err.Error(), `"Wallets:Create"`)

	ops := []policy.Operation{policy.OpWalletsCreate, policy.OpWalletsTransfersCreate, "Payments:Refunds:Create"}
	c, err := e.CreatePermission(ctx, "admin", policy.Permission{Name: "traders", Operations: ops})
	require.NoError(t, err)
	require.Equal(t, policy.ChangeApplied, c.Status)
	traders := *c.Permission
	assert.Equal(t, policy.Active, traders.Status)
	assert.False(t, traders.Immutable)

	c, err = e.CreatePermission(ctx, "admin", policy.Permission{Name: "auditors", Operations: []policy.Operation{policy.OpAuditRead}})
	require.NoError(t, err)
	auditors := *c.Permission

	for _, id := range []string{traders.ID, auditors.ID} {
		_, err = e.AssignPermission(ctx, "admin", id, "alice")
		require.NoError(t, err)
	}
	_, err = e.AssignPermission(ctx, "admin", traders.ID, "alice")
	require.NoError(t, err, "assigning twice is harmless")
	for _, op := range append(ops, policy.OpAuditRead) {
		assert.NoError(t, e.Check(ctx, "alice", op), op)
	}
	assert.ErrorIs(t, e.Check(ctx, "alice", policy.OpKeysExport), policy.ErrPermissionDenied)
	assert.ErrorIs(t, e.Check(ctx, "alic", policy.OpAuditRead), policy.ErrPermissionDenied, "no prefix match on identities")
	assert.ErrorIs(t, e.Check(ctx, "", policy.OpAuditRead), policy.ErrPermissionDenied)

	as, err := e.Assignments(ctx, "alice")
	require.NoError(t, err)
	assert.Len(t, as, 2)

	_, err = e.RevokePermission(ctx, "admin", auditors.ID, "alice")
	require.NoError(t, err)
	assert.ErrorIs(t, e.Check(ctx, "alice", policy.OpAuditRead), policy.ErrPermissionDenied)
	_, err = e.RevokePermission(ctx, "admin", auditors.ID, "alice")
	assert.ErrorIs(t, err, policy.ErrNotFound)

	_, err = e.ArchivePermission(ctx, "admin", traders.ID)
	require.NoError(t, err)
	assert.ErrorIs(t, e.Check(ctx, "alice", policy.OpWalletsCreate), policy.ErrPermissionDenied, "archived permissions grant nothing")
	_, err = e.AssignPermission(ctx, "admin", traders.ID, "bob")
	assert.ErrorIs(t, err, policy.ErrArchived)
	_, err = e.UpdatePermission(ctx, "admin", policy.Permission{ID: traders.ID, Name: "x", Operations: ops})
	assert.ErrorIs(t, err, policy.ErrArchived)
	_, err = e.AssignPermission(ctx, "admin", "pm-nope", "bob")
	assert.ErrorIs(t, err, policy.ErrNotFound)

	all, err := e.Permissions(ctx)
	require.NoError(t, err)
	assert.Len(t, all, 2)
}

// TestAdminPermission: Bootstrap gives the first user an immutable
// full-admin permission, once.
func TestAdminPermission(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	require.ErrorIs(t, e.Bootstrap(ctx, ""), policy.ErrInvalid)
	require.NoError(t, e.Bootstrap(ctx, "root"))
	require.ErrorIs(t, e.Bootstrap(ctx, "eve"), policy.ErrBootstrapped)
	assert.ErrorIs(t, e.Check(ctx, "eve", policy.OpWalletsCreate), policy.ErrPermissionDenied)

	for _, op := range []policy.Operation{policy.OpWalletsCreate, policy.OpKeysExport, policy.OpPermissionsAssign, "Anything:Else"} {
		assert.NoError(t, e.Check(ctx, "root", op), op)
	}
	admin, err := e.Permission(ctx, policy.AdminPermissionID)
	require.NoError(t, err)
	assert.True(t, admin.Immutable)
	assert.Equal(t, []policy.Operation{policy.AllOperations}, admin.Operations)

	_, err = e.UpdatePermission(ctx, "root", policy.Permission{ID: policy.AdminPermissionID, Name: "Admin", Operations: []policy.Operation{policy.OpAuditRead}})
	assert.ErrorIs(t, err, policy.ErrImmutable)
	_, err = e.ArchivePermission(ctx, "root", policy.AdminPermissionID)
	assert.ErrorIs(t, err, policy.ErrImmutable)
	_, err = e.RevokePermission(ctx, "root", policy.AdminPermissionID, "root")
	assert.ErrorIs(t, err, policy.ErrImmutable)
	require.NoError(t, e.Check(ctx, "root", policy.OpAuditRead))

	// The admin permission can be given to others, and taken back.
	_, err = e.AssignPermission(ctx, "root", policy.AdminPermissionID, "bob")
	require.NoError(t, err)
	require.NoError(t, e.Check(ctx, "bob", policy.OpKeysExport))
	_, err = e.RevokePermission(ctx, "root", policy.AdminPermissionID, "bob")
	require.NoError(t, err)
	assert.ErrorIs(t, e.Check(ctx, "bob", policy.OpKeysExport), policy.ErrPermissionDenied)

	// Nobody defines another wildcard permission.
	_, err = e.CreatePermission(ctx, "root", policy.Permission{Name: "god", Operations: []policy.Operation{policy.AllOperations}})
	assert.ErrorIs(t, err, policy.ErrInvalid)
}

// TestInvalidPermissions are refused before anything is written.
func TestInvalidPermissions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	for name, tc := range map[string]struct {
		p     policy.Permission
		field string
	}{
		"no name":           {policy.Permission{Operations: []policy.Operation{policy.OpAuditRead}}, "Name"},
		"no operations":     {policy.Permission{Name: "x"}, "Operations"},
		"one segment":       {policy.Permission{Name: "x", Operations: []policy.Operation{"Wallets"}}, "Operations[0]"},
		"empty segment":     {policy.Permission{Name: "x", Operations: []policy.Operation{policy.OpAuditRead, "Wallets::Read"}}, "Operations[1]"},
		"bad character":     {policy.Permission{Name: "x", Operations: []policy.Operation{"Wallets:Re ad"}}, "Operations[0]"},
		"duplicate":         {policy.Permission{Name: "x", Operations: []policy.Operation{policy.OpAuditRead, policy.OpAuditRead}}, "Operations[1]"},
		"wildcard":          {policy.Permission{Name: "x", Operations: []policy.Operation{"*"}}, "Operations[0]"},
		"too many segments": {policy.Permission{Name: "x", Operations: []policy.Operation{"A:B:C:D:E"}}, "Operations[0]"},
	} {
		_, err := e.CreatePermission(ctx, "root", tc.p)
		var ve *policy.ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.Equal(t, tc.field, ve.Field, name)
	}
	_, err := e.AssignPermission(ctx, "root", "pm-x", "")
	assert.ErrorIs(t, err, policy.ErrInvalid)
	_, err = e.CreatePermission(ctx, "", policy.Permission{Name: "x", Operations: []policy.Operation{policy.OpAuditRead}})
	assert.ErrorIs(t, err, policy.ErrInvalid, "no initiator")
	ps, err := e.Permissions(ctx)
	require.NoError(t, err)
	assert.Empty(t, ps)
}
