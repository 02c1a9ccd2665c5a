package policy

import "time"

// ChangeKind names a change to the policy set or to permissions.
type ChangeKind string

// The change kinds. Policy changes are Policies:Modify activities;
// permission changes are Permissions:Modify, assignments Permissions:Assign.
const (
	ChangeCreatePolicy      ChangeKind = "CreatePolicy"
	ChangeUpdatePolicy      ChangeKind = "UpdatePolicy"
	ChangeArchivePolicy     ChangeKind = "ArchivePolicy"
	ChangeCreatePermission  ChangeKind = "CreatePermission"
	ChangeUpdatePermission  ChangeKind = "UpdatePermission"
	ChangeArchivePermission ChangeKind = "ArchivePermission"
	ChangeAssignPermission  ChangeKind = "AssignPermission"
	ChangeRevokePermission  ChangeKind = "RevokePermission"
)

// ActivityKind is the kind of activity the change is evaluated as.
func (k ChangeKind) ActivityKind() ActivityKind {
	switch k {
	case ChangeCreatePolicy, ChangeUpdatePolicy, ChangeArchivePolicy:
		return PoliciesModify
	case ChangeAssignPermission, ChangeRevokePermission:
		return PermissionsAssign
	}
	return PermissionsModify
}

// ChangeStatus is the state of a change.
type ChangeStatus string

// The change statuses. Only Pending changes.
const (
	// ChangeApplied: the change is in force.
	ChangeApplied ChangeStatus = "Applied"
	// ChangePending: the change waits for its approval.
	ChangePending ChangeStatus = "Pending"
	// ChangeRejected: its approval was denied or expired.
	ChangeRejected ChangeStatus = "Rejected"
	// ChangeFailed: it was approved but could no longer be applied (say,
	// the policy was archived meanwhile); Reason says why.
	ChangeFailed ChangeStatus = "Failed"
)

// Change is a request to change a policy or a permission. Under a
// Policies:Modify or Permissions:* policy that requests approval it is held
// as Pending, and applied only when its approval is approved.
type Change struct {
	ID        string
	Kind      ChangeKind
	Initiator string
	Status    ChangeStatus
	// Policy is set for policy changes: the policy as it will be (create,
	// update) or the policy archived. Once applied it is as stored.
	Policy *Policy
	// Permission is set for permission changes.
	Permission *Permission
	// Assignment is set for AssignPermission and RevokePermission.
	Assignment *Assignment
	// ApprovalID is set when the change needed approval.
	ApprovalID string
	// Reason says why a change Failed or was Rejected.
	Reason     string
	CreatedAt  time.Time
	ResolvedAt time.Time
}
