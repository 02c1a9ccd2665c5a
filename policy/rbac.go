package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cairn-mpc/cairn/store"
)

// Bootstrap creates the built-in, immutable full-admin permission
// (AdminPermissionID, holding AllOperations) and assigns it to firstUser.
// It runs once per store, outside policy (there is nobody to approve yet);
// later calls return ErrBootstrapped. The admin permission cannot be
// updated or archived, nor revoked from firstUser.
func (e *Engine) Bootstrap(ctx context.Context, firstUser string) error {
	if firstUser == "" {
		return invalid("firstUser", "is empty")
	}
	err := e.update(ctx, "bootstrap", func(tx store.Tx) error {
		switch _, err := getPermission(tx, AdminPermissionID); {
		case err == nil:
			return ErrBootstrapped
		case !errors.Is(err, ErrNotFound):
			return err
		}
		now := e.clock()
		admin := Permission{
			ID: AdminPermissionID, Name: "Admin", Operations: []Operation{AllOperations},
			Status: Active, Immutable: true, CreatedAt: now, UpdatedAt: now,
		}
		if err := putPermission(tx, &admin); err != nil {
			return err
		}
		if err := tx.Put(metaBucket, firstUserKey, []byte(firstUser)); err != nil {
			return fmt.Errorf("policy: write first user: %w", err)
		}
		return putAssignment(tx, &Assignment{PermissionID: AdminPermissionID, Identity: firstUser, CreatedAt: now})
	})
	if err == nil {
		e.log.Info("policy: bootstrapped", slog.String("admin", firstUser))
	}
	return err
}

// Check returns nil if one of identity's active permissions holds op, and
// otherwise a *PermissionError naming identity and op (matching
// ErrPermissionDenied). Store failures are returned as they are: either
// way, a non-nil error means no.
func (e *Engine) Check(ctx context.Context, identity string, op Operation) error {
	var ok bool
	err := e.view(ctx, "check permission", func(tx store.Tx) (err error) {
		ok, err = allowed(tx, identity, op)
		return err
	})
	if err != nil {
		return err
	}
	if !ok {
		return &PermissionError{Identity: identity, Operation: op}
	}
	return nil
}

// allowed reports whether identity holds op, inside tx.
func allowed(tx store.Tx, identity string, op Operation) (bool, error) {
	if identity == "" {
		return false, nil
	}
	found := false
	err := tx.ForEach(assignmentsBucket, identityPrefix(identity), func(_, v []byte) error {
		a, err := decodeAssignment(v)
		if err != nil {
			return err
		}
		p, err := getPermission(tx, a.PermissionID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if p.allows(op) {
			found = true
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return false, fmt.Errorf("policy: read assignments of %q: %w", identity, err)
	}
	return found, nil
}

// CreatePermission proposes a new permission. p.ID, Status and times are
// assigned by the engine.
func (e *Engine) CreatePermission(ctx context.Context, initiator string, p Permission) (Change, error) {
	p = p.clone()
	if err := p.Validate(); err != nil {
		return Change{}, err
	}
	p.ID = newID("pm")
	return e.propose(ctx, Change{Kind: ChangeCreatePermission, Initiator: initiator, Permission: &p})
}

// UpdatePermission proposes to replace the name and operations of the
// active permission p.ID. The admin permission is immutable.
func (e *Engine) UpdatePermission(ctx context.Context, initiator string, p Permission) (Change, error) {
	p = p.clone()
	if err := p.Validate(); err != nil {
		return Change{}, err
	}
	return e.propose(ctx, Change{Kind: ChangeUpdatePermission, Initiator: initiator, Permission: &p})
}

// ArchivePermission proposes to archive a permission; its assignments stay
// but grant nothing.
func (e *Engine) ArchivePermission(ctx context.Context, initiator, id string) (Change, error) {
	return e.propose(ctx, Change{Kind: ChangeArchivePermission, Initiator: initiator, Permission: &Permission{ID: id}})
}

// AssignPermission proposes to give permissionID to identity. Assigning a
// permission already held changes nothing.
func (e *Engine) AssignPermission(ctx context.Context, initiator, permissionID, identity string) (Change, error) {
	if identity == "" {
		return Change{}, invalid("Identity", "is empty")
	}
	return e.propose(ctx, Change{Kind: ChangeAssignPermission, Initiator: initiator,
		Assignment: &Assignment{PermissionID: permissionID, Identity: identity}})
}

// RevokePermission proposes to take permissionID from identity.
func (e *Engine) RevokePermission(ctx context.Context, initiator, permissionID, identity string) (Change, error) {
	return e.propose(ctx, Change{Kind: ChangeRevokePermission, Initiator: initiator,
		Assignment: &Assignment{PermissionID: permissionID, Identity: identity}})
}

// Permission returns the permission with id.
func (e *Engine) Permission(ctx context.Context, id string) (Permission, error) {
	var p Permission
	err := e.view(ctx, "read permission", func(tx store.Tx) (err error) {
		p, err = getPermission(tx, id)
		return err
	})
	return p, err
}

// Permissions returns every permission, archived ones included, ordered by
// ID.
func (e *Engine) Permissions(ctx context.Context) ([]Permission, error) {
	var ps []Permission
	err := e.view(ctx, "list permissions", func(tx store.Tx) (err error) {
		ps, err = listRecords(tx, permissionsBucket, nil, decodePermission)
		return err
	})
	return ps, err
}

// Assignments returns identity's assignments, ordered by permission ID.
func (e *Engine) Assignments(ctx context.Context, identity string) ([]Assignment, error) {
	var as []Assignment
	err := e.view(ctx, "list assignments", func(tx store.Tx) (err error) {
		as, err = listRecords(tx, assignmentsBucket, identityPrefix(identity), decodeAssignment)
		return err
	})
	return as, err
}

func getAssignment(tx store.Tx, identity, permissionID string) (Assignment, error) {
	b, err := tx.Get(assignmentsBucket, assignmentKey(identity, permissionID))
	if errors.Is(err, store.ErrNotFound) {
		return Assignment{}, fmt.Errorf("%w: assignment of %q to %q", ErrNotFound, permissionID, identity)
	}
	if err != nil {
		return Assignment{}, fmt.Errorf("policy: read assignment: %w", err)
	}
	return decodeAssignment(b)
}

func putAssignment(tx store.Tx, a *Assignment) error {
	b, err := encodeAssignment(a)
	if err != nil {
		return err
	}
	if err := tx.Put(assignmentsBucket, assignmentKey(a.Identity, a.PermissionID), b); err != nil {
		return fmt.Errorf("policy: write assignment: %w", err)
	}
	return nil
}

func deleteAssignment(tx store.Tx, a *Assignment) error {
	if err := tx.Delete(assignmentsBucket, assignmentKey(a.Identity, a.PermissionID)); err != nil {
		return fmt.Errorf("policy: delete assignment: %w", err)
	}
	return nil
}

func errArchived(what, id string) error {
	return fmt.Errorf("%w: %s %q", ErrArchived, what, id)
}

func errImmutable(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrImmutable}, args...)...)
}
