package authn

import (
	"fmt"

	"github.com/cairn-mpc/cairn/store"
)

// verified is a credential's successful answer to a challenge, with what
// it signed.
type verified struct {
	ident      *identityRecord
	cred       *credentialRecord
	clientData []byte
	authData   []byte // passkeys only
	signature  []byte
}

// verifyAssertion checks that a answers challenge ch: the credential
// exists, belongs to the challenge's principal (any active identity for a
// discoverable login), is not revoked, may log in or sign, and its owner
// is active; then the signature over the challenge verifies. A passkey's
// new counter is written in tx. The order of the checks fixes which
// sentinel a request that fails several gets.
func (s *Service) verifyAssertion(tx store.Tx, ch *challengeRecord, a *assertion) (*verified, error) {
	cred, err := loadCredential(tx, a.credentialID)
	if err != nil {
		return nil, err
	}
	if ch.Principal != "" && cred.Owner != ch.Principal {
		return nil, fmt.Errorf("%w: credential %s is not %s's", ErrCredentialNotOwned, Base64URL(cred.ID), ch.Principal)
	}
	if cred.RevokedAt != 0 {
		return nil, fmt.Errorf("%w: %s", ErrCredentialRevoked, Base64URL(cred.ID))
	}
	switch {
	case cred.Kind == Passkey && a.passkey != nil, cred.Kind == Key && a.key != nil:
	default:
		return nil, fmt.Errorf("%w: a %s credential cannot answer a %s challenge this way", ErrWrongCredentialKind, cred.Kind, ch.Ceremony)
	}
	ident, err := loadActiveIdentity(tx, cred.Owner)
	if err != nil {
		return nil, err
	}
	v := &verified{ident: ident, cred: cred}
	if a.passkey != nil {
		if err := s.verifyPasskey(tx, ident, cred, ch.Challenge, a.passkey); err != nil {
			return nil, err
		}
		v.clientData = a.passkey.Raw.AssertionResponse.ClientDataJSON
		v.authData = a.passkey.Raw.AssertionResponse.AuthenticatorData
		v.signature = a.passkey.Response.Signature
		return v, nil
	}
	if a.key.parsed.Type != KeyGet {
		return nil, fmt.Errorf("%w: client data type %q, want %q", ErrChallengeMismatch, a.key.parsed.Type, KeyGet)
	}
	if !sameChallenge(a.key.parsed.Challenge, ch.Challenge) {
		return nil, fmt.Errorf("%w: key credential signed another challenge", ErrChallengeMismatch)
	}
	if err := verifyKeySignature(cred.PublicKey, a.key.clientData, a.key.signature); err != nil {
		return nil, err
	}
	v.clientData, v.signature = a.key.clientData, a.key.signature
	return v, nil
}
