package authn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/cairn-mpc/cairn/store"
)

// CredentialKind says what a credential may do.
type CredentialKind string

const (
	// Passkey is a WebAuthn credential: it logs in and signs actions.
	Passkey CredentialKind = "Passkey"
	// Key is a key credential (Ed25519, ECDSA P-256 or secp256k1): it logs
	// in and signs actions.
	Key CredentialKind = "Key"
	// RecoveryKey is a key credential that can only sign a recovery.
	RecoveryKey CredentialKind = "RecoveryKey"
)

// maxCredentialIDSize caps a credential id (WebAuthn allows 1023 bytes).
const maxCredentialIDSize = 1023

// Credential is a registered credential. Its public key is what evidence
// is verified against.
type Credential struct {
	ID        Base64URL
	Owner     string
	Kind      CredentialKind
	Name      string
	PublicKey PublicKey
	CreatedAt time.Time
	// RevokedAt is zero while the credential is usable.
	RevokedAt time.Time
	// SignCount is a passkey's last authenticator counter (0 for
	// authenticators that do not count, and for key credentials).
	SignCount uint32
}

// Revoked reports whether the credential was revoked.
func (c *Credential) Revoked() bool { return !c.RevokedAt.IsZero() }

func (r *credentialRecord) credential() *Credential {
	c := &Credential{
		ID: bytes.Clone(r.ID), Owner: r.Owner, Kind: r.Kind, Name: r.Name,
		PublicKey: PublicKey{Algorithm: r.PublicKey.Algorithm, Key: bytes.Clone(r.PublicKey.Key)},
		CreatedAt: fromNanos(r.CreatedAt),
	}
	if r.RevokedAt != 0 {
		c.RevokedAt = fromNanos(r.RevokedAt)
	}
	if wc, err := r.webAuthn(); err == nil && wc != nil {
		c.SignCount = wc.Authenticator.SignCount
	}
	return c
}

// webAuthn decodes a passkey's go-webauthn record; nil for key credentials.
func (r *credentialRecord) webAuthn() (*webauthn.Credential, error) {
	if r.Kind != Passkey {
		return nil, nil
	}
	var wc webauthn.Credential
	if err := json.Unmarshal(r.WebAuthn, &wc); err != nil {
		return nil, fmt.Errorf("authn: decoding passkey %x: %w: %v", r.ID, store.ErrCorrupt, err)
	}
	return &wc, nil
}

// Credentials returns the credentials of identity id, revoked ones
// included, in credential-id order.
func (s *Service) Credentials(ctx context.Context, id string) ([]*Credential, error) {
	var out []*Credential
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		if _, err := loadIdentity(tx, id); err != nil {
			return err
		}
		recs, err := ownedCredentials(tx, id)
		if err != nil {
			return err
		}
		for _, r := range recs {
			out = append(out, r.credential())
		}
		return nil
	})
	return out, err
}

// Credential returns the credential id.
func (s *Service) Credential(ctx context.Context, id []byte) (*Credential, error) {
	var out *Credential
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		r, err := loadCredential(tx, id)
		if err != nil {
			return err
		}
		out = r.credential()
		return nil
	})
	return out, err
}

// RevokeCredential revokes credential id, and with it every session and
// unused action token obtained with it, in one transaction. The record is
// kept so that a later use is refused as ErrCredentialRevoked rather than
// as unknown. Revoking a revoked credential is not an error.
func (s *Service) RevokeCredential(ctx context.Context, id []byte) error {
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		r, err := loadCredential(tx, id)
		if err != nil {
			return err
		}
		if r.RevokedAt != 0 {
			return nil
		}
		r.RevokedAt = s.now().UnixNano()
		if err := put(tx, bucketCredentials, r.ID, r); err != nil {
			return err
		}
		return revokeTokensOf(tx, r.Owner, r.ID)
	})
	if err == nil {
		s.log.InfoContext(ctx, "authn: credential revoked", "credential", Base64URL(id).String())
	}
	return err
}

// loadCredential returns the credential id, whatever its status.
func loadCredential(tx store.Tx, id []byte) (*credentialRecord, error) {
	if len(id) == 0 || len(id) > maxCredentialIDSize {
		return nil, fmt.Errorf("%w: credential id of %d bytes", ErrUnknownCredential, len(id))
	}
	return get[credentialRecord](tx, bucketCredentials, id,
		fmt.Errorf("%w: %s", ErrUnknownCredential, Base64URL(id)))
}

// ownedCredentials returns every credential of owner, revoked included.
func ownedCredentials(tx store.Tx, owner string) ([]*credentialRecord, error) {
	ids, err := ownedKeys(tx, bucketOwnerCredentials, owner)
	if err != nil {
		return nil, err
	}
	out := make([]*credentialRecord, 0, len(ids))
	for _, id := range ids {
		r, err := loadCredential(tx, id)
		if err != nil {
			return nil, fmt.Errorf("authn: index of %s names a missing credential: %w", owner, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// usableCredentials returns owner's unrevoked credentials of the given kinds.
func usableCredentials(tx store.Tx, owner string, kinds ...CredentialKind) ([]*credentialRecord, error) {
	all, err := ownedCredentials(tx, owner)
	if err != nil {
		return nil, err
	}
	var out []*credentialRecord
	for _, r := range all {
		if r.RevokedAt != 0 {
			continue
		}
		for _, k := range kinds {
			if r.Kind == k {
				out = append(out, r)
				break
			}
		}
	}
	return out, nil
}

// addCredential stores a new credential and indexes it under its owner.
func addCredential(tx store.Tx, r *credentialRecord) error {
	if _, err := tx.Get(bucketCredentials, r.ID); err == nil {
		return fmt.Errorf("%w: %s", ErrCredentialExists, Base64URL(r.ID))
	}
	if err := put(tx, bucketCredentials, r.ID, r); err != nil {
		return err
	}
	if err := tx.Put(bucketOwnerCredentials, ownerKey(r.Owner, r.ID), []byte{}); err != nil {
		return fmt.Errorf("authn: indexing credential: %w", err)
	}
	return nil
}

// webAuthnUser adapts an identity and its passkeys to go-webauthn.
type webAuthnUser struct {
	id    *identityRecord
	creds []webauthn.Credential
}

func (u *webAuthnUser) WebAuthnID() []byte                         { return u.id.Handle }
func (u *webAuthnUser) WebAuthnName() string                       { return u.id.Name }
func (u *webAuthnUser) WebAuthnDisplayName() string                { return u.id.Name }
func (u *webAuthnUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// newWebAuthnUser loads id's unrevoked passkeys into an adapter.
func newWebAuthnUser(tx store.Tx, id *identityRecord) (*webAuthnUser, error) {
	recs, err := usableCredentials(tx, id.ID, Passkey)
	if err != nil {
		return nil, err
	}
	return webAuthnUserOf(id, recs)
}

// webAuthnUserOf makes an adapter of the passkeys among recs, id's
// unrevoked credentials.
func webAuthnUserOf(id *identityRecord, recs []*credentialRecord) (*webAuthnUser, error) {
	u := &webAuthnUser{id: id}
	for _, r := range recs {
		if r.Kind != Passkey {
			continue
		}
		wc, err := r.webAuthn()
		if err != nil {
			return nil, err
		}
		u.creds = append(u.creds, *wc)
	}
	return u, nil
}
