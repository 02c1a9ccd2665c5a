package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Operation names one thing an identity may do, as "Noun:Verb" or
// "Noun:Sub:Verb" (2 to 4 segments of ASCII letters). The constants are the
// operations Cairn itself checks; integrators may name their own.
type Operation string

// The operations Cairn checks.
const (
	OpWalletsCreate             Operation = "Wallets:Create"
	OpWalletsRead               Operation = "Wallets:Read"
	OpWalletsTransfersCreate    Operation = "Wallets:Transfers:Create"
	OpWalletsSignaturesCreate   Operation = "Wallets:Signatures:Create"
	OpKeysExport                Operation = "Keys:Export"
	OpKeysImport                Operation = "Keys:Import"
	OpPoliciesCreate            Operation = "Policies:Create"
	OpPoliciesUpdate            Operation = "Policies:Update"
	OpPoliciesArchive           Operation = "Policies:Archive"
	OpPoliciesRead              Operation = "Policies:Read"
	OpPoliciesApprovalsDecide   Operation = "Policies:Approvals:Decide"
	OpPoliciesApprovalsRead     Operation = "Policies:Approvals:Read"
	OpPermissionsCreate         Operation = "Permissions:Create"
	OpPermissionsUpdate         Operation = "Permissions:Update"
	OpPermissionsArchive        Operation = "Permissions:Archive"
	OpPermissionsAssign         Operation = "Permissions:Assign"
	OpPermissionsRevoke         Operation = "Permissions:Revoke"
	OpPermissionsRead           Operation = "Permissions:Read"
	OpAuthUsersCreate           Operation = "Auth:Users:Create"
	OpAuthServiceAccountsCreate Operation = "Auth:ServiceAccounts:Create"
	OpAuditRead                 Operation = "Audit:Read"
)

// AllOperations is the wildcard held by the built-in admin permission only;
// user-defined permissions cannot hold it.
const AllOperations Operation = "*"

// AdminPermissionID is the ID of the built-in, immutable full-admin
// permission that Bootstrap creates and gives to the first user.
const AdminPermissionID = "admin"

// Permission is a named set of operations.
type Permission struct {
	// ID is assigned by the engine (AdminPermissionID for the admin).
	ID         string
	Name       string
	Operations []Operation
	// Status, Immutable, CreatedAt and UpdatedAt are set by the engine.
	// Only the built-in admin permission is Immutable.
	Status    Status
	Immutable bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Assignment gives a permission to an identity (a user or a service
// account).
type Assignment struct {
	PermissionID string
	Identity     string
	CreatedAt    time.Time
}

// Valid reports whether op is well formed (see Operation).
func (op Operation) Valid() bool {
	parts := strings.Split(string(op), ":")
	if len(parts) < 2 || len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			if c := p[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
				return false
			}
		}
	}
	return true
}

// Validate checks a user-defined permission. The error is a
// *ValidationError.
func (p *Permission) Validate() error {
	if p.Name == "" {
		return invalid("Name", "is empty")
	}
	if len(p.Operations) == 0 {
		return invalid("Operations", "is empty")
	}
	for i, op := range p.Operations {
		field := fmt.Sprintf("Operations[%d]", i)
		switch {
		case op == AllOperations:
			return invalid(field, "%q is reserved for the built-in admin permission", op)
		case !op.Valid():
			return invalid(field, "%q is not an operation like \"Wallets:Create\"", op)
		case slices.Contains(p.Operations[:i], op):
			return invalid(field, "%q is listed twice", op)
		}
	}
	return nil
}

// allows reports whether an active p holds op.
func (p *Permission) allows(op Operation) bool {
	return p.Status == Active && (slices.Contains(p.Operations, op) || slices.Contains(p.Operations, AllOperations))
}

func (p Permission) clone() Permission {
	p.Operations = slices.Clone(p.Operations)
	return p
}
