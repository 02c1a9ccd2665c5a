package authn

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// Session is an authenticated principal, as a session token proves it.
type Session struct {
	// ID names the session for revocation. It is derived from the token's
	// hash and does not help to find the token.
	ID        string
	Principal string
	Kind      IdentityKind
	// CredentialID is the credential that logged in; empty for a token a
	// service account was issued with IssueServiceToken.
	CredentialID Base64URL
	IssuedAt     time.Time
	ExpiresAt    time.Time
	// Scoped sessions (every service account's) may use only Permissions;
	// the policy package checks each operation against them as well as
	// against the principal's assignments. A user's session is not scoped:
	// it carries the user's own rights and nothing more.
	Scoped      bool
	Permissions []string
}

// openSession stores a new session for ident and returns it with its
// token.
func (s *Service) openSession(tx store.Tx, ident *identityRecord, credID []byte, perms []string, ttl time.Duration) (*Session, Token, error) {
	tok, id, hash := newToken(sessionTokenPrefix)
	now := s.now()
	rec := &sessionRecord{
		ID:           id,
		TokenHash:    hash,
		Principal:    ident.ID,
		CredentialID: credID,
		IssuedAt:     now.UnixNano(),
		ExpiresAt:    now.Add(ttl).UnixNano(),
		Scoped:       ident.Kind == ServiceAccount,
		Permissions:  perms,
	}
	if err := put(tx, bucketSessions, []byte(id), rec); err != nil {
		return nil, "", err
	}
	if err := tx.Put(bucketOwnerSessions, ownerKey(ident.ID, []byte(id)), []byte{}); err != nil {
		return nil, "", fmt.Errorf("authn: indexing session: %w", err)
	}
	return rec.session(ident), tok, nil
}

func (r *sessionRecord) session(ident *identityRecord) *Session {
	return &Session{
		ID: r.ID, Principal: r.Principal, Kind: ident.Kind, CredentialID: bytes.Clone(r.CredentialID),
		IssuedAt: fromNanos(r.IssuedAt), ExpiresAt: fromNanos(r.ExpiresAt),
		Scoped: r.Scoped, Permissions: slices.Clone(r.Permissions),
	}
}

// IssueServiceToken issues a session token for service account id without
// a login, for an administrator to hand to a machine. scope must be a
// subset of the account's permissions (ErrPermissionExceeded otherwise);
// nil means all of them. ttl is capped at Config.ServiceSessionTTL; zero
// means that cap.
//
// Who may issue tokens is the caller's decision (the custody layer asks
// for a signed user action with Auth:ServiceAccounts permissions).
func (s *Service) IssueServiceToken(ctx context.Context, id string, scope []string, ttl time.Duration) (*Session, Token, error) {
	if ttl <= 0 || ttl > s.cfg.ServiceSessionTTL {
		ttl = s.cfg.ServiceSessionTTL
	}
	var (
		sess *Session
		tok  Token
	)
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		ident, err := loadActiveIdentity(tx, id)
		if err != nil {
			return err
		}
		if ident.Kind != ServiceAccount {
			return fmt.Errorf("%w: %s is not a service account", ErrInvalidArgument, id)
		}
		perms := ident.Permissions
		if scope != nil {
			if perms, err = checkPermissions(scope); err != nil {
				return err
			}
			for _, p := range perms {
				if _, ok := slices.BinarySearch(ident.Permissions, p); !ok {
					return fmt.Errorf("%w: %s does not hold %q", ErrPermissionExceeded, id, p)
				}
			}
		}
		sess, tok, err = s.openSession(tx, ident, nil, perms, ttl)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	s.log.InfoContext(ctx, "authn: service token issued", "identity", id, "session", sess.ID)
	return sess, tok, nil
}

// VerifySession returns the session tok proves, or an error wrapping
// ErrInvalidToken (unknown, revoked, or an action token),
// ErrTokenExpired, or ErrIdentityDeactivated. A scoped session's
// Permissions are those of the token that its account still holds.
func (s *Service) VerifySession(ctx context.Context, tok Token) (*Session, error) {
	id, hash, err := checkToken(tok, sessionTokenPrefix)
	if err != nil {
		return nil, err
	}
	var out *Session
	err = s.cfg.Store.View(ctx, func(tx store.Tx) error {
		rec, err := get[sessionRecord](tx, bucketSessions, []byte(id), fmt.Errorf("%w: no such session", ErrInvalidToken))
		if err != nil {
			return err
		}
		if !sameHash(rec.TokenHash, hash) {
			return fmt.Errorf("%w: no such session", ErrInvalidToken)
		}
		if !s.now().Before(fromNanos(rec.ExpiresAt)) {
			return fmt.Errorf("%w: session %s", ErrTokenExpired, rec.ID)
		}
		ident, err := loadActiveIdentity(tx, rec.Principal)
		if err != nil {
			return err
		}
		out = rec.session(ident)
		if rec.Scoped {
			out.Permissions = slices.DeleteFunc(out.Permissions, func(p string) bool {
				_, held := slices.BinarySearch(ident.Permissions, p)
				return !held
			})
		}
		return nil
	})
	return out, err
}
