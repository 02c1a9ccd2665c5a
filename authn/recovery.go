package authn

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/store"
)

// maxRecoveryCredentials caps the new credential set of a recovery.
const maxRecoveryCredentials = 16

// maxRecoverySize caps a RecoveryRequest's JSON.
const maxRecoverySize = maxRecoveryCredentials*maxAttestationSize + maxAssertionSize

// NewCredential is one credential of the set a recovery installs.
type NewCredential struct {
	Kind CredentialKind `json:"kind"`
	Name string         `json:"name"`
	// Attestation is, for a Passkey, the registration response
	// (navigator.credentials.create() as JSON) made with the recovery
	// challenge's Options; for a Key or RecoveryKey, a KeyAttestation whose
	// client data is KeyClientData(KeyCreate, recovery challenge). It
	// travels as base64url so that its exact bytes are what is signed.
	Attestation Base64URL `json:"attestation"`
}

// RecoveryRequest replaces all of a user's credentials. Assertion is a
// KeyAssertion by one of the user's recovery keys whose client data is
// KeyClientData(KeyRecover, RecoveryChallenge(challenge, Credentials)).
type RecoveryRequest struct {
	Credentials []NewCredential `json:"credentials"`
	Assertion   json.RawMessage `json:"assertion"`
}

// recoveryEncoding is what RecoveryChallenge hashes.
type recoveryEncoding struct {
	Domain      string              `cbor:"0,keyasint"`
	Challenge   []byte              `cbor:"1,keyasint"`
	Credentials []newCredentialWire `cbor:"2,keyasint"`
}

type newCredentialWire struct {
	Kind        CredentialKind `cbor:"1,keyasint"`
	Name        string         `cbor:"2,keyasint"`
	Attestation []byte         `cbor:"3,keyasint"`
}

// RecoveryChallenge returns what a recovery key signs: SHA-256 of the
// version-prefixed deterministic CBOR of {0: "cairn/authn/recovery/v1",
// 1: challenge, 2: [{1: kind, 2: name, 3: attestation}, …]} in the order
// given. It binds the signature to the recovery ceremony and to exactly
// this new credential set.
func RecoveryChallenge(challenge []byte, creds []NewCredential) ([]byte, error) {
	enc := recoveryEncoding{Domain: "cairn/authn/recovery/v1", Challenge: challenge}
	for _, c := range creds {
		enc.Credentials = append(enc.Credentials, newCredentialWire{Kind: c.Kind, Name: c.Name, Attestation: c.Attestation})
	}
	b, err := wire.Marshal(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: credential set: %v", ErrTooLarge, err)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// BeginRecovery starts the recovery of user id. Challenge.Challenge is
// what the new key credentials attest over, Challenge.Options is what new
// passkeys are created with; then the recovery key signs the set (see
// RecoveryRequest).
func (s *Service) BeginRecovery(ctx context.Context, id string) (*Challenge, error) {
	var out *Challenge
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		ident, err := loadActiveIdentity(tx, id)
		if err != nil {
			return err
		}
		keys, err := usableCredentials(tx, id, RecoveryKey)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return fmt.Errorf("%w: %s", ErrNoRecoveryKey, id)
		}
		rec, options, err := s.newPasskeyCeremony(tx, ident, ceremonyRecovery)
		if err != nil {
			return err
		}
		out = challengeFor(rec, options, keys)
		return nil
	})
	return out, err
}

// CompleteRecovery verifies a RecoveryRequest (JSON) answering recovery
// challenge id and, in one transaction, revokes every credential of the
// user (recovery keys included), revokes every session and action token,
// and registers the new set, which must hold at least one Passkey or Key.
// It returns the new credentials. A refused request changes nothing.
func (s *Service) CompleteRecovery(ctx context.Context, challengeID string, request []byte) ([]*Credential, error) {
	req, set, a, err := parseRecovery(request)
	if err != nil {
		return nil, err
	}
	var out []*Credential
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		ch, err := s.takeChallenge(tx, challengeID, ceremonyRecovery)
		if err != nil {
			return err
		}
		if err := s.verifyRecoveryKey(tx, ch, req, a); err != nil {
			return err
		}
		now := s.now().UnixNano()
		old, err := ownedCredentials(tx, ch.Principal)
		if err != nil {
			return err
		}
		for _, c := range old {
			if c.RevokedAt == 0 {
				c.RevokedAt = now
				if err := put(tx, bucketCredentials, c.ID, c); err != nil {
					return err
				}
			}
		}
		if err := revokeTokens(tx, ch.Principal); err != nil {
			return err
		}
		for i, p := range set {
			var rec *credentialRecord
			if p.passkey != nil {
				rec, err = s.registerPasskey(tx, ch, p.passkey, p.nc.Name)
			} else {
				rec, err = s.registerKey(tx, ch.Principal, p.nc.Kind, ch.Challenge, p.key, p.nc.Name)
			}
			if err != nil {
				return fmt.Errorf("new credential %d: %w", i, err)
			}
			out = append(out, rec.credential())
		}
		return nil
	})
	if err != nil {
		s.log.InfoContext(ctx, "authn: recovery refused", "challenge", truncate(challengeID), "err", err)
		return nil, err
	}
	s.log.InfoContext(ctx, "authn: recovered", "identity", out[0].Owner, "credentials", len(out))
	return out, nil
}

// verifyRecoveryKey checks that a is a signature by an unrevoked recovery
// key of the challenge's user over the request's credential set.
func (s *Service) verifyRecoveryKey(tx store.Tx, ch *challengeRecord, req *RecoveryRequest, a *assertion) error {
	if _, err := loadActiveIdentity(tx, ch.Principal); err != nil {
		return err
	}
	cred, err := loadCredential(tx, a.credentialID)
	if err != nil {
		return err
	}
	if cred.Owner != ch.Principal {
		return fmt.Errorf("%w: credential %s is not %s's", ErrCredentialNotOwned, Base64URL(cred.ID), ch.Principal)
	}
	if cred.RevokedAt != 0 {
		return fmt.Errorf("%w: %s", ErrCredentialRevoked, Base64URL(cred.ID))
	}
	if cred.Kind != RecoveryKey {
		return fmt.Errorf("%w: a %s cannot sign a recovery", ErrWrongCredentialKind, cred.Kind)
	}
	want, err := RecoveryChallenge(ch.Challenge, req.Credentials)
	if err != nil {
		return err
	}
	if a.key.parsed.Type != KeyRecover || !sameChallenge(a.key.parsed.Challenge, want) {
		return fmt.Errorf("%w: recovery key signed another challenge or credential set", ErrChallengeMismatch)
	}
	return verifyKeySignature(cred.PublicKey, a.key.clientData, a.key.signature)
}

// pendingCredential is a parsed new credential of a recovery; exactly
// one of passkey and key is set. A key's proof of possession is checked;
// the challenges of both are checked when they are registered.
type pendingCredential struct {
	nc      NewCredential
	passkey *protocol.ParsedCredentialCreationData
	key     *keyAttestation
}

// parseRecovery parses and shape-checks a RecoveryRequest.
func parseRecovery(b []byte) (*RecoveryRequest, []pendingCredential, *assertion, error) {
	if len(b) > maxRecoverySize {
		return nil, nil, nil, fmt.Errorf("%w: recovery request of %d bytes, cap %d", ErrTooLarge, len(b), maxRecoverySize)
	}
	var req RecoveryRequest
	if err := decodeStrict(b, &req); err != nil {
		return nil, nil, nil, fmt.Errorf("recovery request: %w", err)
	}
	switch n := len(req.Credentials); {
	case n == 0:
		return nil, nil, nil, fmt.Errorf("%w: recovery request with no new credential", ErrMalformed)
	case n > maxRecoveryCredentials:
		return nil, nil, nil, fmt.Errorf("%w: %d new credentials, cap %d", ErrTooLarge, n, maxRecoveryCredentials)
	}
	canLogIn := false
	var set []pendingCredential
	for i, c := range req.Credentials {
		switch c.Kind {
		case Passkey, Key:
			canLogIn = true
		case RecoveryKey:
		default:
			return nil, nil, nil, fmt.Errorf("%w: new credential %d of kind %q", ErrMalformed, i, truncate(string(c.Kind)))
		}
		if err := checkName(c.Name); err != nil {
			return nil, nil, nil, fmt.Errorf("new credential %d: %w", i, err)
		}
		p := pendingCredential{nc: c}
		var err error
		if c.Kind == Passkey {
			p.passkey, err = parsePasskeyAttestation(c.Attestation)
		} else {
			p.key, err = parseKeyAttestation(c.Attestation)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("new credential %d: %w", i, err)
		}
		set = append(set, p)
	}
	if !canLogIn {
		return nil, nil, nil, fmt.Errorf("%w: the new credential set has nothing to log in with", ErrMalformed)
	}
	a, err := parseAssertion(req.Assertion)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("recovery assertion: %w", err)
	}
	if a.key == nil {
		return nil, nil, nil, fmt.Errorf("%w: a recovery is signed by a recovery key, not a passkey", ErrWrongCredentialKind)
	}
	return &req, set, a, nil
}
