package authn

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/cairn-mpc/cairn/store"
)

// BeginPasskeyRegistration starts registering a passkey for user id.
// Pass Challenge.Options to navigator.credentials.create() and its result
// to FinishPasskeyRegistration. The passkey is discoverable (resident)
// and, by default, user-verifying.
//
// Whether the caller may add a credential to id is the caller's decision:
// for an identity that already has one, the custody layer asks for a
// signed user action first.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, id string) (*Challenge, error) {
	var out *Challenge
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		ident, err := loadActiveIdentity(tx, id)
		if err != nil {
			return err
		}
		if ident.Kind == ServiceAccount {
			return fmt.Errorf("%w: service account %s holds key credentials only", ErrWrongCredentialKind, id)
		}
		rec, options, err := s.newPasskeyCeremony(tx, ident, ceremonyPasskeyRegistration)
		if err != nil {
			return err
		}
		out = challengeFor(rec, options, nil)
		return nil
	})
	return out, err
}

// newPasskeyCeremony stores a challenge for registering passkeys for
// ident, with go-webauthn's session, and returns it with the creation
// options. Existing passkeys are excluded, so an authenticator does not
// register twice.
func (s *Service) newPasskeyCeremony(tx store.Tx, ident *identityRecord, c ceremony) (*challengeRecord, json.RawMessage, error) {
	user, err := newWebAuthnUser(tx, ident)
	if err != nil {
		return nil, nil, err
	}
	creation, session, err := s.wa.BeginRegistration(user,
		webauthn.WithExclusions(webauthn.Credentials(user.creds).CredentialDescriptors()))
	if err != nil {
		return nil, nil, fmt.Errorf("authn: starting passkey registration: %w", err)
	}
	options, err := json.Marshal(creation)
	if err != nil {
		return nil, nil, fmt.Errorf("authn: encoding creation options: %w", err)
	}
	sessionJSON, err := json.Marshal(session)
	if err != nil {
		return nil, nil, fmt.Errorf("authn: encoding WebAuthn session: %w", err)
	}
	rec := &challengeRecord{
		ID:              newChallengeID(),
		Ceremony:        c,
		Principal:       ident.ID,
		Challenge:       creation.Response.Challenge,
		ExpiresAt:       s.now().Add(s.cfg.CeremonyTTL).UnixNano(),
		WebAuthnSession: sessionJSON,
	}
	if err := put(tx, bucketChallenges, []byte(rec.ID), rec); err != nil {
		return nil, nil, err
	}
	return rec, options, nil
}

// FinishPasskeyRegistration verifies the authenticator's response to
// challenge id and registers the passkey under name. A bad response leaves
// everything as it was, the challenge included, until it expires.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, challengeID string, response []byte, name string) (*Credential, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	parsed, err := parsePasskeyAttestation(response)
	if err != nil {
		return nil, err
	}
	var out *Credential
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		ch, err := s.takeChallenge(tx, challengeID, ceremonyPasskeyRegistration)
		if err != nil {
			return err
		}
		rec, err := s.registerPasskey(tx, ch, parsed, name)
		if err != nil {
			return err
		}
		out = rec.credential()
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "authn: passkey registration refused", "challenge", truncate(challengeID), "err", err)
		return nil, err
	}
	s.log.InfoContext(ctx, "authn: passkey registered", "identity", out.Owner, "credential", out.ID.String())
	return out, nil
}

// registerPasskey verifies parsed against the WebAuthn session of ch and
// stores the new credential.
func (s *Service) registerPasskey(tx store.Tx, ch *challengeRecord, parsed *protocol.ParsedCredentialCreationData, name string) (*credentialRecord, error) {
	ident, err := loadActiveIdentity(tx, ch.Principal)
	if err != nil {
		return nil, err
	}
	var session webauthn.SessionData
	if err := json.Unmarshal(ch.WebAuthnSession, &session); err != nil {
		return nil, fmt.Errorf("authn: decoding WebAuthn session: %w: %v", store.ErrCorrupt, err)
	}
	wc, err := s.verifyPasskeyAttestation(tx, ident, &session, parsed)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(wc)
	if err != nil {
		return nil, fmt.Errorf("authn: encoding passkey: %w", err)
	}
	rec := &credentialRecord{
		ID:        wc.ID,
		Owner:     ident.ID,
		Kind:      Passkey,
		Name:      name,
		PublicKey: PublicKey{Algorithm: WebAuthn, Key: wc.PublicKey},
		CreatedAt: s.now().UnixNano(),
		WebAuthn:  raw,
	}
	if _, err := normalizeKey(WebAuthn, rec.PublicKey.Key); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidAttestation, err)
	}
	return rec, addCredential(tx, rec)
}

// BeginKeyRegistration starts registering a key credential of kind Key or
// RecoveryKey for identity id. The client signs
// KeyClientData(KeyCreate, Challenge.Challenge) with the new key and sends
// a KeyAttestation to FinishKeyRegistration. Service accounts hold Key
// credentials only.
func (s *Service) BeginKeyRegistration(ctx context.Context, id string, kind CredentialKind) (*Challenge, error) {
	if kind != Key && kind != RecoveryKey {
		return nil, fmt.Errorf("%w: %q is not a key-credential kind", ErrInvalidArgument, kind)
	}
	var out *Challenge
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		ident, err := loadActiveIdentity(tx, id)
		if err != nil {
			return err
		}
		if ident.Kind == ServiceAccount && kind != Key {
			return fmt.Errorf("%w: service account %s cannot hold a recovery key", ErrWrongCredentialKind, id)
		}
		rec := &challengeRecord{
			ID:             newChallengeID(),
			Ceremony:       ceremonyKeyRegistration,
			Principal:      id,
			Challenge:      randomBytes(challengeSize),
			ExpiresAt:      s.now().Add(s.cfg.CeremonyTTL).UnixNano(),
			CredentialKind: kind,
		}
		if err := put(tx, bucketChallenges, []byte(rec.ID), rec); err != nil {
			return err
		}
		out = challengeFor(rec, nil, nil)
		return nil
	})
	return out, err
}

// FinishKeyRegistration verifies a KeyAttestation (JSON) answering
// challenge id and registers the key under name. The credential id is
// derived from the key (KeyCredentialID), so one key is registered once.
func (s *Service) FinishKeyRegistration(ctx context.Context, challengeID string, attestation []byte, name string) (*Credential, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	ka, err := parseKeyAttestation(attestation)
	if err != nil {
		return nil, err
	}
	var out *Credential
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		ch, err := s.takeChallenge(tx, challengeID, ceremonyKeyRegistration)
		if err != nil {
			return err
		}
		rec, err := s.registerKey(tx, ch.Principal, ch.CredentialKind, ch.Challenge, ka, name)
		if err != nil {
			return err
		}
		out = rec.credential()
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "authn: key registration refused", "challenge", truncate(challengeID), "err", err)
		return nil, err
	}
	s.log.InfoContext(ctx, "authn: key credential registered", "identity", out.Owner, "credential", out.ID.String(), "kind", string(out.Kind))
	return out, nil
}

// registerKey stores a key credential whose attestation answers challenge.
func (s *Service) registerKey(tx store.Tx, owner string, kind CredentialKind, challenge []byte, ka *keyAttestation, name string) (*credentialRecord, error) {
	if !sameChallenge(ka.challenge, challenge) {
		return nil, fmt.Errorf("%w: key attestation signs another challenge", ErrChallengeMismatch)
	}
	if _, err := loadActiveIdentity(tx, owner); err != nil {
		return nil, err
	}
	rec := &credentialRecord{
		ID:        keyCredentialID(ka.publicKey),
		Owner:     owner,
		Kind:      kind,
		Name:      name,
		PublicKey: ka.publicKey,
		CreatedAt: s.now().UnixNano(),
	}
	return rec, addCredential(tx, rec)
}

// KeyCredentialID returns the credential id a key credential is
// registered under: SHA-256("cairn/authn/key-credential/v1" ‖ 0 ‖
// algorithm ‖ 0 ‖ key), the key in its normalized encoding (Ed25519 raw,
// P-256 uncompressed, secp256k1 compressed). So one key is registered
// once, and a client can name its credential before registering it.
func KeyCredentialID(alg Algorithm, key []byte) ([]byte, error) {
	if alg == WebAuthn {
		return nil, fmt.Errorf("%w: a passkey's id is chosen by its authenticator", ErrInvalidArgument)
	}
	norm, err := normalizeKey(alg, key)
	if err != nil {
		return nil, err
	}
	return keyCredentialID(PublicKey{Algorithm: alg, Key: norm}), nil
}

func keyCredentialID(pub PublicKey) []byte {
	h := sha256.New()
	h.Write([]byte("cairn/authn/key-credential/v1\x00"))
	h.Write([]byte(pub.Algorithm))
	h.Write([]byte{0})
	h.Write(pub.Key)
	return h.Sum(nil)
}
