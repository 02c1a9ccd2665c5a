package policy

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// Changes to policies and permissions are activities themselves
// (Policies:Modify, Permissions:Modify, Permissions:Assign). Each change is
// proposed in one store transaction: its preconditions are checked, it is
// evaluated, and then it is applied at once (Allow), held with a pending
// approval (RequireApproval), or refused with a *BlockedError (Block, and
// nothing is written). An approved change is applied in the same
// transaction as the decision that approved it.

// CreatePolicy proposes a new policy. p.ID, Status and times are assigned
// by the engine. An invalid policy is refused with a *ValidationError before
// anything is evaluated or written.
func (e *Engine) CreatePolicy(ctx context.Context, initiator string, p Policy) (Change, error) {
	p.normalize()
	p = p.clone()
	if err := p.Validate(); err != nil {
		return Change{}, err
	}
	p.ID = newID("po")
	return e.propose(ctx, Change{Kind: ChangeCreatePolicy, Initiator: initiator, Policy: &p})
}

// UpdatePolicy proposes to replace the name, rule, action and filters of
// the active policy p.ID. Its ActivityKind cannot change.
func (e *Engine) UpdatePolicy(ctx context.Context, initiator string, p Policy) (Change, error) {
	p.normalize()
	p = p.clone()
	if err := p.Validate(); err != nil {
		return Change{}, err
	}
	return e.propose(ctx, Change{Kind: ChangeUpdatePolicy, Initiator: initiator, Policy: &p})
}

// ArchivePolicy proposes to archive the active policy id; archived policies
// are kept but no longer apply.
func (e *Engine) ArchivePolicy(ctx context.Context, initiator, id string) (Change, error) {
	return e.propose(ctx, Change{Kind: ChangeArchivePolicy, Initiator: initiator, Policy: &Policy{ID: id}})
}

// propose runs a change through policy, in one transaction.
func (e *Engine) propose(ctx context.Context, c Change) (Change, error) {
	if c.Initiator == "" {
		return Change{}, invalid("Initiator", "is empty")
	}
	err := e.update(ctx, "propose change", func(tx store.Tx) error {
		now := e.clock()
		c.ID, c.CreatedAt = newID("ch"), now
		if err := e.checkChange(tx, &c); err != nil {
			return err
		}
		act := Activity{ID: c.ID, Kind: c.Kind.ActivityKind(), Initiator: c.Initiator}
		d, err := e.evaluate(ctx, tx, &act, now, nil)
		if err != nil {
			return err
		}
		switch d.Outcome {
		case OutcomeBlock:
			return &BlockedError{Evaluations: d.Blocking()}
		case OutcomeRequireApproval:
			ap := d.Approval
			ap.ID, ap.ChangeID = newID("ap"), c.ID
			c.Status, c.ApprovalID = ChangePending, ap.ID
			if err := putApproval(tx, ap); err != nil {
				return err
			}
		default:
			if err := e.applyChange(tx, &c, now); err != nil {
				return err
			}
			c.Status, c.ResolvedAt = ChangeApplied, now
		}
		return putChange(tx, &c)
	})
	if err != nil {
		return Change{}, err
	}
	e.log.Info("policy: change", slog.String("change", c.ID), slog.String("kind", string(c.Kind)),
		slog.String("initiator", c.Initiator), slog.String("status", string(c.Status)),
		slog.String("approval", c.ApprovalID))
	return c, nil
}

// checkChange verifies the preconditions of c against the store and fills
// in what it refers to (the policy archived, say).
func (e *Engine) checkChange(tx store.Tx, c *Change) error {
	switch c.Kind {
	case ChangeCreatePolicy, ChangeCreatePermission:
		return nil
	case ChangeUpdatePolicy, ChangeArchivePolicy:
		old, err := getPolicy(tx, c.Policy.ID)
		if err != nil {
			return err
		}
		if old.Status != Active {
			return errArchived("policy", old.ID)
		}
		if c.Kind == ChangeArchivePolicy {
			c.Policy = &old
		} else if c.Policy.ActivityKind != old.ActivityKind {
			return invalid("ActivityKind", "cannot change from %s to %s", old.ActivityKind, c.Policy.ActivityKind)
		}
		return nil
	case ChangeUpdatePermission, ChangeArchivePermission:
		old, err := getPermission(tx, c.Permission.ID)
		if err != nil {
			return err
		}
		switch {
		case old.Immutable:
			return errImmutable("permission %q is built in", old.ID)
		case old.Status != Active:
			return errArchived("permission", old.ID)
		}
		if c.Kind == ChangeArchivePermission {
			c.Permission = &old
		}
		return nil
	case ChangeAssignPermission:
		p, err := getPermission(tx, c.Assignment.PermissionID)
		if err != nil {
			return err
		}
		if p.Status != Active {
			return errArchived("permission", p.ID)
		}
		return nil
	case ChangeRevokePermission:
		a := c.Assignment
		if _, err := getAssignment(tx, a.Identity, a.PermissionID); err != nil {
			return err
		}
		if a.PermissionID == AdminPermissionID {
			first, err := tx.Get(metaBucket, firstUserKey)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if string(first) == a.Identity {
				return errImmutable("the admin permission of the first user %q cannot be revoked", a.Identity)
			}
		}
		return nil
	}
	return invalid("Kind", "unknown change kind %q", c.Kind)
}

// applyChange checks c again (state may have moved while it waited for
// approval) and writes it.
func (e *Engine) applyChange(tx store.Tx, c *Change, now time.Time) error {
	if err := e.checkChange(tx, c); err != nil {
		return err
	}
	switch c.Kind {
	case ChangeCreatePolicy, ChangeUpdatePolicy, ChangeArchivePolicy:
		p := c.Policy.clone()
		switch c.Kind {
		case ChangeCreatePolicy:
			p.Status, p.CreatedAt = Active, now
		case ChangeUpdatePolicy:
			old, err := getPolicy(tx, p.ID)
			if err != nil {
				return err
			}
			p.Status, p.CreatedAt = Active, old.CreatedAt
		case ChangeArchivePolicy:
			p.Status = Archived
		}
		p.UpdatedAt = now
		c.Policy = &p
		return putPolicy(tx, &p)
	case ChangeCreatePermission, ChangeUpdatePermission, ChangeArchivePermission:
		p := c.Permission.clone()
		switch c.Kind {
		case ChangeCreatePermission:
			p.Status, p.CreatedAt, p.Immutable = Active, now, false
		case ChangeUpdatePermission:
			old, err := getPermission(tx, p.ID)
			if err != nil {
				return err
			}
			p.Status, p.CreatedAt, p.Immutable = Active, old.CreatedAt, false
		case ChangeArchivePermission:
			p.Status = Archived
		}
		p.UpdatedAt = now
		c.Permission = &p
		return putPermission(tx, &p)
	case ChangeAssignPermission:
		a := *c.Assignment
		if old, err := getAssignment(tx, a.Identity, a.PermissionID); err == nil {
			a.CreatedAt = old.CreatedAt // assigning twice changes nothing
		} else if !errors.Is(err, ErrNotFound) {
			return err
		} else {
			a.CreatedAt = now
		}
		c.Assignment = &a
		return putAssignment(tx, &a)
	case ChangeRevokePermission:
		return deleteAssignment(tx, c.Assignment)
	}
	return invalid("Kind", "unknown change kind %q", c.Kind)
}

// isDomainError reports whether err is a refusal of the change itself (it
// no longer applies) rather than a failure of the store.
func isDomainError(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound) ||
		errors.Is(err, ErrArchived) || errors.Is(err, ErrImmutable)
}
