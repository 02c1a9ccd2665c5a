package authn

import (
	"context"
	"fmt"

	"github.com/cairn-mpc/cairn/store"
)

// InitAction starts the signing of one user action: principal asks to
// perform operation on resource with exactly payload. The returned
// challenge is Binding.Challenge() of a fresh binding to those three (the
// payload by its SHA-256) that expires after Config.ActionChallengeTTL.
// Answer it with CompleteAction.
//
// Sizes are capped: operation 256 bytes, resource 2 KiB, payload
// Config.MaxPayloadSize.
func (s *Service) InitAction(ctx context.Context, principal, operation, resource string, payload []byte) (*Challenge, error) {
	if err := checkActionRequest(operation, resource, payload, s.cfg.MaxPayloadSize); err != nil {
		return nil, err
	}
	return s.beginAssertion(ctx, principal, "sign with", func() *challengeRecord {
		expires := s.now().Add(s.cfg.ActionChallengeTTL)
		b := Binding{
			RPID:        s.cfg.RPID,
			Principal:   principal,
			Operation:   operation,
			Resource:    resource,
			PayloadHash: PayloadHash(payload),
			Nonce:       randomBytes(nonceSize),
			ExpiresAt:   fromNanos(expires.UnixNano()),
		}
		return &challengeRecord{
			ID:        newChallengeID(),
			Ceremony:  ceremonyAction,
			Principal: principal,
			Challenge: b.Challenge(),
			ExpiresAt: expires.UnixNano(),
			Binding:   recordBinding(b),
		}
	})
}

// CompleteAction verifies an assertion (a passkey's PublicKeyCredential
// JSON or a KeyAssertion) answering action challenge id, made by a
// credential of the challenge's principal, and returns a single-use action
// token valid for Config.ActionTokenTTL, with the evidence it keeps.
//
// The challenge is spent in the transaction that stores the token; a
// refused assertion changes nothing. The token is a bearer secret: hand it
// to the client, which presents it with the request it signed.
func (s *Service) CompleteAction(ctx context.Context, challengeID string, assertionJSON []byte) (Token, *Evidence, error) {
	a, err := parseAssertion(assertionJSON)
	if err != nil {
		return "", nil, err
	}
	var (
		tok Token
		ev  *Evidence
	)
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		ch, err := s.takeChallenge(tx, challengeID, ceremonyAction)
		if err != nil {
			return err
		}
		if ch.Binding == nil {
			return fmt.Errorf("authn: action challenge %s without binding: %w", ch.ID, store.ErrCorrupt)
		}
		v, err := s.verifyAssertion(tx, ch, a)
		if err != nil {
			return err
		}
		ev = newEvidence(v, ch.Binding.binding(), s.now())
		evBytes, err := ev.MarshalBinary()
		if err != nil {
			return err
		}
		var id string
		var hash []byte
		tok, id, hash = newToken(actionTokenPrefix)
		rec := &actionRecord{
			ID:           id,
			TokenHash:    hash,
			Principal:    ch.Principal,
			CredentialID: v.cred.ID,
			Binding:      ch.Binding,
			Evidence:     evBytes,
			ExpiresAt:    s.now().Add(s.cfg.ActionTokenTTL).UnixNano(),
		}
		if err := put(tx, bucketActions, []byte(id), rec); err != nil {
			return err
		}
		if err := tx.Put(bucketOwnerActions, ownerKey(ch.Principal, []byte(id)), []byte{}); err != nil {
			return fmt.Errorf("authn: indexing action token: %w", err)
		}
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "authn: action signature refused", "challenge", truncate(challengeID), "credential", Base64URL(a.credentialID).String(), "err", err)
		return "", nil, err
	}
	s.log.InfoContext(ctx, "authn: action signed", "identity", ev.Principal, "credential", ev.CredentialID.String(),
		"operation", ev.Binding.Operation, "resource", ev.Binding.Resource)
	return tok, ev, nil
}

// VerifyAction is what every state-changing call runs: it checks that tok
// was signed for exactly this operation, resource and payload, by a
// credential still valid of an identity still active, within its expiry,
// and consumes it, all in one store transaction, so that of two
// concurrent uses one fails with ErrActionReplayed. It returns the
// evidence, for the audit log and the signers.
//
// A token presented with another request (ErrActionMismatch) is not
// consumed: the request it was signed for may still use it.
func (s *Service) VerifyAction(ctx context.Context, tok Token, operation, resource string, payload []byte) (*Evidence, error) {
	if err := checkActionRequest(operation, resource, payload, s.cfg.MaxPayloadSize); err != nil {
		return nil, err
	}
	id, hash, err := checkToken(tok, actionTokenPrefix)
	if err != nil {
		return nil, err
	}
	var ev Evidence
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		rec, err := get[actionRecord](tx, bucketActions, []byte(id), fmt.Errorf("%w: no such action token", ErrInvalidToken))
		if err != nil {
			return err
		}
		if !sameHash(rec.TokenHash, hash) {
			return fmt.Errorf("%w: no such action token", ErrInvalidToken)
		}
		if rec.ConsumedAt != 0 {
			return fmt.Errorf("%w: token %s was used at %s", ErrActionReplayed, rec.ID, fromNanos(rec.ConsumedAt).Format("2006-01-02T15:04:05.000Z07:00"))
		}
		now := s.now()
		if !now.Before(fromNanos(rec.ExpiresAt)) {
			return fmt.Errorf("%w: action token %s", ErrTokenExpired, rec.ID)
		}
		if rec.Binding == nil {
			return fmt.Errorf("authn: action token %s without binding: %w", rec.ID, store.ErrCorrupt)
		}
		if err := rec.Binding.binding().Matches(operation, resource, payload); err != nil {
			return err
		}
		if _, err := loadActiveIdentity(tx, rec.Principal); err != nil {
			return err
		}
		cred, err := loadCredential(tx, rec.CredentialID)
		if err != nil {
			return err
		}
		if cred.RevokedAt != 0 {
			return fmt.Errorf("%w: %s", ErrCredentialRevoked, Base64URL(cred.ID))
		}
		if err := ev.UnmarshalBinary(rec.Evidence); err != nil {
			return fmt.Errorf("authn: action token %s: %w: %v", rec.ID, store.ErrCorrupt, err)
		}
		rec.ConsumedAt = now.UnixNano()
		rec.Evidence = nil // returned now; the tombstone only refuses replays
		return put(tx, bucketActions, []byte(rec.ID), rec)
	})
	if err != nil {
		s.log.InfoContext(ctx, "authn: action token refused", "operation", truncate(operation), "err", err)
		return nil, err
	}
	return &ev, nil
}
