package authn

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/cairn-mpc/cairn/store"
)

// BeginLogin starts a login for identity id with any of its passkeys or
// key credentials. Pass Challenge.Options to navigator.credentials.get()
// for a passkey, or sign KeyClientData(KeyGet, Challenge.Challenge) with a
// key credential; then call FinishLogin.
func (s *Service) BeginLogin(ctx context.Context, id string) (*Challenge, error) {
	return s.beginAssertion(ctx, id, "log in with", func() *challengeRecord {
		return &challengeRecord{
			ID:        newChallengeID(),
			Ceremony:  ceremonyLogin,
			Principal: id,
			Challenge: randomBytes(challengeSize),
			ExpiresAt: s.now().Add(s.cfg.CeremonyTTL).UnixNano(),
		}
	})
}

// beginAssertion stores a challenge, made by newRecord once principal is
// known to be active and to hold a passkey or key credential, that those
// credentials may answer, and returns it with the request options for the
// passkeys. what says, in the ErrNoCredential refusal, what a credential
// was needed for.
func (s *Service) beginAssertion(ctx context.Context, principal, what string, newRecord func() *challengeRecord) (*Challenge, error) {
	var out *Challenge
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		ident, err := loadActiveIdentity(tx, principal)
		if err != nil {
			return err
		}
		creds, err := usableCredentials(tx, principal, Passkey, Key)
		if err != nil {
			return err
		}
		if len(creds) == 0 {
			return fmt.Errorf("%w: %s has no credential to %s", ErrNoCredential, principal, what)
		}
		rec := newRecord()
		options, err := s.requestOptions(ident, creds, rec.Challenge)
		if err != nil {
			return err
		}
		if err := put(tx, bucketChallenges, []byte(rec.ID), rec); err != nil {
			return err
		}
		out = challengeFor(rec, options, creds)
		return nil
	})
	return out, err
}

// BeginDiscoverableLogin starts a login by whoever answers: the
// authenticator picks a discoverable passkey and reports its owner's user
// handle, or a key credential names itself.
func (s *Service) BeginDiscoverableLogin(ctx context.Context) (*Challenge, error) {
	rec := &challengeRecord{
		ID:        newChallengeID(),
		Ceremony:  ceremonyLogin,
		Challenge: randomBytes(challengeSize),
		ExpiresAt: s.now().Add(s.cfg.CeremonyTTL).UnixNano(),
	}
	assertion, _, err := s.wa.BeginDiscoverableLogin(webauthn.WithChallenge(rec.Challenge))
	if err != nil {
		return nil, fmt.Errorf("authn: starting discoverable login: %w", err)
	}
	options, err := json.Marshal(assertion)
	if err != nil {
		return nil, fmt.Errorf("authn: encoding request options: %w", err)
	}
	if err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		return put(tx, bucketChallenges, []byte(rec.ID), rec)
	}); err != nil {
		return nil, err
	}
	return challengeFor(rec, options, nil), nil
}

// requestOptions returns navigator.credentials.get() options over
// challenge for the passkeys among creds, ident's unrevoked credentials,
// or nil if there are none.
func (s *Service) requestOptions(ident *identityRecord, creds []*credentialRecord, challenge []byte) (json.RawMessage, error) {
	user, err := webAuthnUserOf(ident, creds)
	if err != nil || len(user.creds) == 0 {
		return nil, err
	}
	assertion, _, err := s.wa.BeginLogin(user, webauthn.WithChallenge(challenge))
	if err != nil {
		return nil, fmt.Errorf("authn: making request options: %w", err)
	}
	return json.Marshal(assertion)
}

// FinishLogin verifies an assertion (a passkey's PublicKeyCredential JSON
// or a KeyAssertion) answering login challenge id and opens a session. A
// user's session lasts Config.SessionTTL; a service account's lasts
// Config.ServiceSessionTTL and carries the account's permissions.
//
// The returned Token is the bearer secret: hand it to the client and do
// not keep or log it; only its hash is stored.
func (s *Service) FinishLogin(ctx context.Context, challengeID string, assertionJSON []byte) (*Session, Token, error) {
	a, err := parseAssertion(assertionJSON)
	if err != nil {
		return nil, "", err
	}
	var (
		sess *Session
		tok  Token
	)
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		ch, err := s.takeChallenge(tx, challengeID, ceremonyLogin)
		if err != nil {
			return err
		}
		v, err := s.verifyAssertion(tx, ch, a)
		if err != nil {
			return err
		}
		ttl := s.cfg.SessionTTL
		if v.ident.Kind == ServiceAccount {
			ttl = s.cfg.ServiceSessionTTL
		}
		sess, tok, err = s.openSession(tx, v.ident, v.cred.ID, v.ident.Permissions, ttl)
		return err
	})
	if err != nil {
		s.log.InfoContext(ctx, "authn: login refused", "challenge", truncate(challengeID), "credential", Base64URL(a.credentialID).String(), "err", err)
		return nil, "", err
	}
	s.log.InfoContext(ctx, "authn: login", "identity", sess.Principal, "credential", sess.CredentialID.String(), "session", sess.ID)
	return sess, tok, nil
}
