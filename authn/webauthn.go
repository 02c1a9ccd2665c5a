package authn

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/cairn-mpc/cairn/store"
)

// verifyPasskey checks a passkey assertion against the challenge it must
// answer and the credential it names, owned by the active identity id, and
// on success stores the credential's new counter and flags in tx.
//
// The checks go-webauthn makes are preceded by our own for the failures a
// caller must tell apart (ceremony, challenge, origin, RP ID, user
// handle), so each has its sentinel; go-webauthn then checks everything
// again, with the signature, user presence and verification, and flags.
func (s *Service) verifyPasskey(tx store.Tx, id *identityRecord, cred *credentialRecord, challenge []byte, p *protocol.ParsedCredentialAssertionData) error {
	cd := p.Response.CollectedClientData
	if cd.Type != protocol.AssertCeremony {
		return fmt.Errorf("%w: client data type %q, want %q", ErrChallengeMismatch, truncate(string(cd.Type)), protocol.AssertCeremony)
	}
	if !sameChallenge([]byte(cd.Challenge), []byte(b64.EncodeToString(challenge))) {
		return fmt.Errorf("%w: passkey signed another challenge", ErrChallengeMismatch)
	}
	if !protocol.IsOriginInHaystack(cd.Origin, s.cfg.RPOrigins) {
		return fmt.Errorf("%w: %q", ErrOrigin, truncate(cd.Origin))
	}
	rpIDHash := sha256.Sum256([]byte(s.cfg.RPID))
	if subtle.ConstantTimeCompare(p.Response.AuthenticatorData.RPIDHash, rpIDHash[:]) != 1 {
		return fmt.Errorf("%w: authenticator data is not scoped to %q", ErrRPID, s.cfg.RPID)
	}
	if h := p.Response.UserHandle; len(h) > 0 && subtle.ConstantTimeCompare(h, id.Handle) != 1 {
		return fmt.Errorf("%w: user handle is not %s's", ErrCredentialNotOwned, id.ID)
	}
	// go-webauthn looks the answering credential up among the user's; the
	// session allows only cred, so cred is all it needs.
	user, err := webAuthnUserOf(id, []*credentialRecord{cred})
	if err != nil {
		return err
	}
	session := webauthn.SessionData{
		Challenge:            b64.EncodeToString(challenge),
		RelyingPartyID:       s.cfg.RPID,
		UserID:               id.Handle,
		AllowedCredentialIDs: [][]byte{cred.ID},
		UserVerification:     s.cfg.UserVerification,
	}
	wc, err := s.wa.ValidateLogin(user, session, p)
	if err != nil {
		return webAuthnError(ErrInvalidAssertion, err)
	}
	if wc.Authenticator.CloneWarning {
		return fmt.Errorf("%w: credential %s reported %d after %d", ErrCounterRegression,
			Base64URL(cred.ID), p.Response.AuthenticatorData.Counter, storedCounter(cred))
	}
	raw, err := json.Marshal(wc)
	if err != nil {
		return fmt.Errorf("authn: encoding passkey: %w", err)
	}
	cred.WebAuthn = raw
	return put(tx, bucketCredentials, cred.ID, cred)
}

func storedCounter(cred *credentialRecord) uint32 {
	wc, err := cred.webAuthn()
	if err != nil || wc == nil {
		return 0
	}
	return wc.Authenticator.SignCount
}

// verifyPasskeyAttestation checks a passkey registration response against
// session, for the active identity id, and returns the credential to
// store.
func (s *Service) verifyPasskeyAttestation(tx store.Tx, id *identityRecord, session *webauthn.SessionData, p *protocol.ParsedCredentialCreationData) (*webauthn.Credential, error) {
	cd := p.Response.CollectedClientData
	if cd.Type != protocol.CreateCeremony {
		return nil, fmt.Errorf("%w: client data type %q, want %q", ErrChallengeMismatch, truncate(string(cd.Type)), protocol.CreateCeremony)
	}
	if !sameChallenge([]byte(cd.Challenge), []byte(session.Challenge)) {
		return nil, fmt.Errorf("%w: passkey signed another challenge", ErrChallengeMismatch)
	}
	if !protocol.IsOriginInHaystack(cd.Origin, s.cfg.RPOrigins) {
		return nil, fmt.Errorf("%w: %q", ErrOrigin, truncate(cd.Origin))
	}
	rpIDHash := sha256.Sum256([]byte(s.cfg.RPID))
	if subtle.ConstantTimeCompare(p.Response.AttestationObject.AuthData.RPIDHash, rpIDHash[:]) != 1 {
		return nil, fmt.Errorf("%w: authenticator data is not scoped to %q", ErrRPID, s.cfg.RPID)
	}
	user, err := newWebAuthnUser(tx, id)
	if err != nil {
		return nil, err
	}
	wc, err := s.wa.CreateCredential(user, *session, p)
	if err != nil {
		return nil, webAuthnError(ErrInvalidAttestation, err)
	}
	if len(wc.ID) == 0 || len(wc.ID) > maxCredentialIDSize {
		return nil, fmt.Errorf("%w: credential id of %d bytes", ErrInvalidAttestation, len(wc.ID))
	}
	return wc, nil
}

// webAuthnError maps a go-webauthn verification error to our sentinels:
// a bad signature to ErrBadSignature, anything else to fallback.
func webAuthnError(fallback, err error) error {
	var perr *protocol.Error
	if errors.As(err, &perr) && perr.Type == protocol.ErrAssertionSignature.Type {
		return fmt.Errorf("%w: %s", ErrBadSignature, webAuthnDetails(err))
	}
	return fmt.Errorf("%w: %s", fallback, webAuthnDetails(err))
}

// webAuthnDetails describes a go-webauthn error without its DevInfo, which
// may quote challenges.
func webAuthnDetails(err error) string {
	var perr *protocol.Error
	if !errors.As(err, &perr) {
		return err.Error()
	}
	if perr.Err != nil {
		var inner *protocol.Error
		if errors.As(perr.Err, &inner) {
			return perr.Details + ": " + inner.Details
		}
		return perr.Details + ": " + perr.Err.Error()
	}
	return perr.Details
}
