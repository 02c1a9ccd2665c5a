package authn

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// IdentityKind says what an identity is.
type IdentityKind string

const (
	// Employee is a user operating the integrator's platform.
	Employee IdentityKind = "Employee"
	// EndUser is a customer of the integrator.
	EndUser IdentityKind = "EndUser"
	// ServiceAccount is a machine identity. It holds key credentials only
	// and its tokens are bounded by its permissions.
	ServiceAccount IdentityKind = "ServiceAccount"
)

const (
	maxNameSize        = 256
	maxPermissions     = 256
	maxPermissionSize  = 128
	webAuthnHandleSize = 32
)

// Identity is a principal: a user or a service account.
type Identity struct {
	ID          string
	Kind        IdentityKind
	Name        string
	Deactivated bool
	// Permissions are a service account's permissions (the upper bound of
	// its tokens); nil for users, whose rights the policy package holds.
	Permissions []string
	CreatedAt   time.Time
}

func (r *identityRecord) identity() *Identity {
	return &Identity{
		ID: r.ID, Kind: r.Kind, Name: r.Name, Deactivated: r.Deactivated,
		Permissions: slices.Clone(r.Permissions), CreatedAt: fromNanos(r.CreatedAt),
	}
}

// CreateUser creates a user of kind Employee or EndUser. The user has no
// credential yet: register one with BeginPasskeyRegistration or
// BeginKeyRegistration.
//
// Who may create users is the caller's decision (the custody layer checks
// the Auth:Users:Create permission); authn only records them.
func (s *Service) CreateUser(ctx context.Context, kind IdentityKind, name string) (*Identity, error) {
	if kind != Employee && kind != EndUser {
		return nil, fmt.Errorf("%w: user kind %q", ErrInvalidArgument, kind)
	}
	return s.createIdentity(ctx, kind, name, nil)
}

// CreateServiceAccount creates a service account holding permissions.
// Its tokens never carry more than these (see IssueServiceToken and
// VerifySession).
func (s *Service) CreateServiceAccount(ctx context.Context, name string, permissions []string) (*Identity, error) {
	perms, err := checkPermissions(permissions)
	if err != nil {
		return nil, err
	}
	return s.createIdentity(ctx, ServiceAccount, name, perms)
}

func (s *Service) createIdentity(ctx context.Context, kind IdentityKind, name string, perms []string) (*Identity, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	prefix := "us-"
	if kind == ServiceAccount {
		prefix = "sa-"
	}
	rec := &identityRecord{
		ID:          prefix + strings.ToLower(rand.Text()),
		Kind:        kind,
		Name:        name,
		Handle:      randomBytes(webAuthnHandleSize),
		Permissions: perms,
		CreatedAt:   s.now().UnixNano(),
	}
	if err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		return put(tx, bucketIdentities, []byte(rec.ID), rec)
	}); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "authn: identity created", "identity", rec.ID, "kind", string(kind))
	return rec.identity(), nil
}

// Identity returns the identity id.
func (s *Service) Identity(ctx context.Context, id string) (*Identity, error) {
	var out *Identity
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		rec, err := loadIdentity(tx, id)
		if err != nil {
			return err
		}
		out = rec.identity()
		return nil
	})
	return out, err
}

// DeactivateIdentity deactivates id and revokes all its sessions and
// unused action tokens, in one transaction. Its credentials are kept, but
// no ceremony succeeds for a deactivated identity.
func (s *Service) DeactivateIdentity(ctx context.Context, id string) error {
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := loadIdentity(tx, id)
		if err != nil {
			return err
		}
		rec.Deactivated = true
		if err := put(tx, bucketIdentities, []byte(id), rec); err != nil {
			return err
		}
		return revokeTokens(tx, id)
	})
	if err == nil {
		s.log.InfoContext(ctx, "authn: identity deactivated", "identity", id)
	}
	return err
}

// ActivateIdentity reactivates id. Tokens revoked by deactivation stay
// revoked.
func (s *Service) ActivateIdentity(ctx context.Context, id string) error {
	return s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := loadIdentity(tx, id)
		if err != nil {
			return err
		}
		rec.Deactivated = false
		return put(tx, bucketIdentities, []byte(id), rec)
	})
}

// SetServiceAccountPermissions replaces a service account's permissions.
// A narrowing takes effect on existing tokens at once: VerifySession
// reports the intersection of a token's permissions and its account's.
func (s *Service) SetServiceAccountPermissions(ctx context.Context, id string, permissions []string) error {
	perms, err := checkPermissions(permissions)
	if err != nil {
		return err
	}
	return s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := loadIdentity(tx, id)
		if err != nil {
			return err
		}
		if rec.Kind != ServiceAccount {
			return fmt.Errorf("%w: %s is not a service account", ErrInvalidArgument, id)
		}
		rec.Permissions = perms
		return put(tx, bucketIdentities, []byte(id), rec)
	})
}

// loadIdentity returns the identity id, whatever its status.
func loadIdentity(tx store.Tx, id string) (*identityRecord, error) {
	if id == "" || len(id) > maxNameSize {
		return nil, fmt.Errorf("%w: %q", ErrUnknownIdentity, truncate(id))
	}
	return get[identityRecord](tx, bucketIdentities, []byte(id), fmt.Errorf("%w: %s", ErrUnknownIdentity, id))
}

// loadActiveIdentity is loadIdentity that also refuses a deactivated one.
func loadActiveIdentity(tx store.Tx, id string) (*identityRecord, error) {
	rec, err := loadIdentity(tx, id)
	if err != nil {
		return nil, err
	}
	if rec.Deactivated {
		return nil, fmt.Errorf("%w: %s", ErrIdentityDeactivated, id)
	}
	return rec, nil
}

func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidArgument)
	}
	if len(name) > maxNameSize {
		return fmt.Errorf("%w: name of %d bytes, cap %d", ErrTooLarge, len(name), maxNameSize)
	}
	return nil
}

// checkPermissions returns permissions sorted and deduplicated.
func checkPermissions(permissions []string) ([]string, error) {
	if len(permissions) > maxPermissions {
		return nil, fmt.Errorf("%w: %d permissions, cap %d", ErrTooLarge, len(permissions), maxPermissions)
	}
	for _, p := range permissions {
		if p == "" || len(p) > maxPermissionSize {
			return nil, fmt.Errorf("%w: permission %q", ErrInvalidArgument, truncate(p))
		}
	}
	out := slices.Clone(permissions)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// truncate shortens untrusted text before it goes into an error.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// randomBytes returns n bytes from crypto/rand, which never fails.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
