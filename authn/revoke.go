package authn

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/store"
)

// RevokeSession revokes session id. Revoking an unknown or revoked
// session is not an error.
func (s *Service) RevokeSession(ctx context.Context, id string) error {
	if id == "" || len(id) > maxChallengeIDSize {
		return nil // not an id a session could have
	}
	return s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := get[sessionRecord](tx, bucketSessions, []byte(id), errNotFound)
		if err == errNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		return deleteSession(tx, rec)
	})
}

// RevokeTokens revokes every session and unused action token of identity
// id.
func (s *Service) RevokeTokens(ctx context.Context, id string) error {
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := loadIdentity(tx, id); err != nil {
			return err
		}
		return revokeTokens(tx, id)
	})
	if err == nil {
		s.log.InfoContext(ctx, "authn: tokens revoked", "identity", id)
	}
	return err
}

// errNotFound is an internal marker for lookups where absence is fine.
var errNotFound = errors.New("authn: not found")

func deleteSession(tx store.Tx, rec *sessionRecord) error {
	if err := tx.Delete(bucketSessions, []byte(rec.ID)); err != nil {
		return fmt.Errorf("authn: deleting session: %w", err)
	}
	if err := tx.Delete(bucketOwnerSessions, ownerKey(rec.Principal, []byte(rec.ID))); err != nil {
		return fmt.Errorf("authn: deleting session index: %w", err)
	}
	return nil
}

func deleteAction(tx store.Tx, rec *actionRecord) error {
	if err := tx.Delete(bucketActions, []byte(rec.ID)); err != nil {
		return fmt.Errorf("authn: deleting action token: %w", err)
	}
	if err := tx.Delete(bucketOwnerActions, ownerKey(rec.Principal, []byte(rec.ID))); err != nil {
		return fmt.Errorf("authn: deleting action token index: %w", err)
	}
	return nil
}

// revokeTokens deletes every session and action token of owner.
func revokeTokens(tx store.Tx, owner string) error {
	return revokeTokensOf(tx, owner, nil)
}

// revokeTokensOf deletes owner's sessions and action tokens obtained with
// credential credID, or all of them if credID is nil. Consumed action
// tokens go too: their evidence was returned by VerifyAction.
func revokeTokensOf(tx store.Tx, owner string, credID []byte) error {
	ids, err := ownedKeys(tx, bucketOwnerSessions, owner)
	if err != nil {
		return err
	}
	for _, id := range ids {
		rec, err := get[sessionRecord](tx, bucketSessions, id, errNotFound)
		if err != nil {
			return fmt.Errorf("authn: index of %s names a missing session: %w", owner, err)
		}
		if credID == nil || bytes.Equal(rec.CredentialID, credID) {
			if err := deleteSession(tx, rec); err != nil {
				return err
			}
		}
	}
	ids, err = ownedKeys(tx, bucketOwnerActions, owner)
	if err != nil {
		return err
	}
	for _, id := range ids {
		rec, err := get[actionRecord](tx, bucketActions, id, errNotFound)
		if err != nil {
			return fmt.Errorf("authn: index of %s names a missing action token: %w", owner, err)
		}
		if credID == nil || bytes.Equal(rec.CredentialID, credID) {
			if err := deleteAction(tx, rec); err != nil {
				return err
			}
		}
	}
	return nil
}
