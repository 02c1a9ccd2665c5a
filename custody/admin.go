package custody

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/custody/audit"
	"github.com/cairn-mpc/cairn/policy"
)

// PolicyAction is what a user signs to create (p.ID empty) or update a
// policy. The payload is the policy as JSON, with its rule's and action's
// kinds named, so two rules with the same fields cannot be confused.
func PolicyAction(p policy.Policy) (Action, error) {
	op, resource := policy.OpPoliciesCreate, "policies"
	if p.ID != "" {
		op, resource = policy.OpPoliciesUpdate, "policies/"+p.ID
	}
	body := struct {
		Policy     policy.Policy     `json:"policy"`
		RuleKind   policy.RuleKind   `json:"ruleKind,omitempty"`
		ActionKind policy.ActionKind `json:"actionKind,omitempty"`
	}{Policy: p}
	if p.Rule != nil {
		body.RuleKind = p.Rule.RuleKind()
	}
	if p.Action != nil {
		body.ActionKind = p.Action.ActionKind()
	}
	return action(string(op), resource, body)
}

// ArchivePolicyAction is what a user signs to archive policy id.
func ArchivePolicyAction(id string) Action {
	return Action{Operation: string(policy.OpPoliciesArchive), Resource: "policies/" + id, Payload: []byte(`{"archive":true}`)}
}

// PermissionAction is what a user signs to create permission p.
func PermissionAction(p policy.Permission) (Action, error) {
	return action(string(policy.OpPermissionsCreate), "permissions", p)
}

// AssignmentAction is what a user signs to give (assign) or take (revoke)
// permissionID to or from identity.
func AssignmentAction(permissionID, identity string, assign bool) Action {
	op := policy.OpPermissionsAssign
	if !assign {
		op = policy.OpPermissionsRevoke
	}
	b, _ := json.Marshal(map[string]string{"permission": permissionID, "identity": identity})
	return Action{Operation: string(op), Resource: "permissions/" + permissionID, Payload: b}
}

// SetPolicy creates (p.ID empty) or updates a policy. Under a
// Policies:Modify policy that asks for approval the change is Pending until
// approved with Approve, like any request.
func (s *Service) SetPolicy(ctx context.Context, tok authn.Token, p policy.Policy) (policy.Change, error) {
	act, err := PolicyAction(p)
	if err != nil {
		return policy.Change{}, err
	}
	return s.change(ctx, tok, act, policy.Operation(act.Operation), func(principal string) (policy.Change, error) {
		if p.ID == "" {
			return s.cfg.Policies.CreatePolicy(ctx, principal, p)
		}
		return s.cfg.Policies.UpdatePolicy(ctx, principal, p)
	})
}

// ArchivePolicy archives policy id.
func (s *Service) ArchivePolicy(ctx context.Context, tok authn.Token, id string) (policy.Change, error) {
	return s.change(ctx, tok, ArchivePolicyAction(id), policy.OpPoliciesArchive, func(principal string) (policy.Change, error) {
		return s.cfg.Policies.ArchivePolicy(ctx, principal, id)
	})
}

// CreatePermission creates a named set of operations.
func (s *Service) CreatePermission(ctx context.Context, tok authn.Token, p policy.Permission) (policy.Change, error) {
	act, err := PermissionAction(p)
	if err != nil {
		return policy.Change{}, err
	}
	return s.change(ctx, tok, act, policy.OpPermissionsCreate, func(principal string) (policy.Change, error) {
		return s.cfg.Policies.CreatePermission(ctx, principal, p)
	})
}

// AssignPermission gives permissionID to identity.
func (s *Service) AssignPermission(ctx context.Context, tok authn.Token, permissionID, identity string) (policy.Change, error) {
	return s.change(ctx, tok, AssignmentAction(permissionID, identity, true), policy.OpPermissionsAssign, func(principal string) (policy.Change, error) {
		return s.cfg.Policies.AssignPermission(ctx, principal, permissionID, identity)
	})
}

// RevokePermission takes permissionID from identity.
func (s *Service) RevokePermission(ctx context.Context, tok authn.Token, permissionID, identity string) (policy.Change, error) {
	return s.change(ctx, tok, AssignmentAction(permissionID, identity, false), policy.OpPermissionsRevoke, func(principal string) (policy.Change, error) {
		return s.cfg.Policies.RevokePermission(ctx, principal, permissionID, identity)
	})
}

// Policies lists the policies (archived ones included).
func (s *Service) Policies(ctx context.Context) ([]policy.Policy, error) {
	return s.cfg.Policies.Policies(ctx)
}

// Permissions lists the permissions.
func (s *Service) Permissions(ctx context.Context) ([]policy.Permission, error) {
	return s.cfg.Policies.Permissions(ctx)
}

// change walks a policy or permission change through the path and audits
// its outcome with the signed action.
func (s *Service) change(ctx context.Context, tok authn.Token, act Action, op policy.Operation, apply func(principal string) (policy.Change, error)) (policy.Change, error) {
	v, err := s.authorize(ctx, tok, act, op)
	if err != nil {
		return policy.Change{}, err
	}
	c, err := apply(v.principal)
	if err != nil {
		s.auditRefusal(ctx, v.principal, act, v.evidence, err)
		return c, err
	}
	details, _ := json.Marshal(map[string]any{"operation": act.Operation, "resource": act.Resource, "change": c.ID, "kind": c.Kind, "status": c.Status, "approvalId": c.ApprovalID})
	if _, err := s.audit.AppendNow(ctx, audit.Record{Kind: "policy.change", Actor: v.principal, Subject: c.ID, Details: details, Evidence: [][]byte{v.evidence}}); err != nil {
		return c, fmt.Errorf("custody: audit: %w", err)
	}
	return c, nil
}
