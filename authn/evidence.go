package authn

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/cairn-mpc/cairn/internal/wire"
)

// Evidence is a verified user action as the audit log and the signers
// keep it: who signed what, with which credential, and the signed bytes,
// so that anyone holding the credential's public key can check it offline
// with Verify, without trusting this package's store.
type Evidence struct {
	Principal      string         `json:"principal"`
	CredentialID   Base64URL      `json:"credentialId"`
	CredentialKind CredentialKind `json:"credentialKind"`
	// PublicKey is the key the service verified with. An offline verifier
	// should pass the key from a credential record it trusts to Verify;
	// checking against this one proves only self-consistency.
	PublicKey PublicKey `json:"publicKey"`
	Binding   Binding   `json:"binding"`
	// ClientData is the exact signed client data: WebAuthn clientDataJSON
	// for a passkey, KeyClientData for a key credential.
	ClientData Base64URL `json:"clientData"`
	// AuthenticatorData is a passkey's authenticator data; empty for key
	// credentials.
	AuthenticatorData Base64URL `json:"authenticatorData,omitempty"`
	Signature         Base64URL `json:"signature"`
	VerifiedAt        time.Time `json:"verifiedAt"`
}

// Verify checks e offline against pub, the public key of credential
// e.CredentialID: the client data answers e.Binding.Challenge() for the
// right ceremony, a passkey's authenticator data is scoped to
// e.Binding.RPID with the user present, and the signature verifies. It
// does not check expiry or single use (that happened once, online, in
// VerifyAction); to check what was signed, use e.Binding.Matches.
//
// Errors wrap ErrBadSignature, ErrChallengeMismatch, ErrRPID,
// ErrInvalidAssertion or ErrMalformed.
func (e *Evidence) Verify(pub PublicKey) error {
	if e.Binding.Principal != e.Principal {
		return fmt.Errorf("%w: binding is for %q, evidence for %q", ErrChallengeMismatch, truncate(e.Binding.Principal), truncate(e.Principal))
	}
	if len(e.Signature) > maxAssertionSize || len(e.AuthenticatorData) > maxAssertionSize {
		return fmt.Errorf("%w: evidence field over %d bytes", ErrTooLarge, maxAssertionSize)
	}
	if err := e.Binding.check(); err != nil {
		return err
	}
	challenge := e.Binding.Challenge()
	switch {
	case e.CredentialKind == Passkey && pub.Algorithm == WebAuthn:
		return verifyWebAuthnEvidence(pub, challenge, e.Binding.RPID, e.ClientData, e.AuthenticatorData, e.Signature)
	case e.CredentialKind == Key && pub.Algorithm != WebAuthn:
		cd, err := parseKeyClientData(e.ClientData)
		if err != nil {
			return err
		}
		if cd.Type != KeyGet || !sameChallenge(cd.Challenge, challenge) {
			return fmt.Errorf("%w: client data does not answer the binding", ErrChallengeMismatch)
		}
		return verifyKeySignature(pub, e.ClientData, e.Signature)
	default:
		return fmt.Errorf("%w: a %s key cannot verify %s evidence", ErrWrongCredentialKind, pub.Algorithm, e.CredentialKind)
	}
}

// verifyWebAuthnEvidence is the offline half of a WebAuthn assertion
// check: what the signature covers and that it verifies.
func verifyWebAuthnEvidence(pub PublicKey, challenge []byte, rpID string, clientData, authData, sig []byte) error {
	cd, err := parseWebAuthnClientData(clientData)
	if err != nil {
		return err
	}
	if cd.Type != protocol.AssertCeremony || !sameChallenge([]byte(cd.Challenge), []byte(b64.EncodeToString(challenge))) {
		return fmt.Errorf("%w: client data does not answer the binding", ErrChallengeMismatch)
	}
	var ad protocol.AuthenticatorData
	if err := ad.Unmarshal(authData); err != nil {
		return fmt.Errorf("%w: authenticator data: %s", ErrMalformed, webAuthnDetails(err))
	}
	rpIDHash := sha256.Sum256([]byte(rpID))
	if subtle.ConstantTimeCompare(ad.RPIDHash, rpIDHash[:]) != 1 {
		return fmt.Errorf("%w: authenticator data is not scoped to %q", ErrRPID, rpID)
	}
	if !ad.Flags.HasUserPresent() {
		return fmt.Errorf("%w: user not present", ErrInvalidAssertion)
	}
	key, err := webauthncose.ParsePublicKey(pub.Key)
	if err != nil {
		return fmt.Errorf("%w: COSE key: %v", ErrMalformed, err)
	}
	cdHash := sha256.Sum256(clientData)
	ok, err := webauthncose.VerifySignature(key, slices.Concat(authData, cdHash[:]), sig)
	if err != nil || !ok {
		return fmt.Errorf("%w: passkey assertion", ErrBadSignature)
	}
	return nil
}

// parseWebAuthnClientData decodes WebAuthn clientDataJSON, capped in size.
// Unknown members are allowed, as the WebAuthn specification requires.
func parseWebAuthnClientData(b []byte) (*protocol.CollectedClientData, error) {
	if len(b) > maxClientDataSize {
		return nil, fmt.Errorf("%w: client data of %d bytes, cap %d", ErrTooLarge, len(b), maxClientDataSize)
	}
	var cd protocol.CollectedClientData
	if err := json.Unmarshal(b, &cd); err != nil {
		return nil, fmt.Errorf("%w: client data: %v", ErrMalformed, err)
	}
	return &cd, nil
}

// evidenceEncoding is Evidence as MarshalBinary writes it.
type evidenceEncoding struct {
	Principal         string         `cbor:"1,keyasint"`
	CredentialID      []byte         `cbor:"2,keyasint"`
	CredentialKind    CredentialKind `cbor:"3,keyasint"`
	PublicKey         PublicKey      `cbor:"4,keyasint"`
	Binding           bindingRecord  `cbor:"5,keyasint"`
	ClientData        []byte         `cbor:"6,keyasint"`
	AuthenticatorData []byte         `cbor:"7,keyasint"`
	Signature         []byte         `cbor:"8,keyasint"`
	VerifiedAt        int64          `cbor:"9,keyasint"`
}

// MarshalBinary encodes e deterministically (versioned CBOR, see
// internal/wire), for the audit log and for signing requests.
func (e *Evidence) MarshalBinary() ([]byte, error) {
	return wire.Marshal(evidenceEncoding{
		Principal: e.Principal, CredentialID: e.CredentialID, CredentialKind: e.CredentialKind,
		PublicKey: e.PublicKey, Binding: *recordBinding(e.Binding),
		ClientData: e.ClientData, AuthenticatorData: e.AuthenticatorData, Signature: e.Signature,
		VerifiedAt: e.VerifiedAt.UnixNano(),
	})
}

// UnmarshalBinary decodes what MarshalBinary wrote. Decoding is strict
// and bounded; errors wrap ErrMalformed. It verifies nothing: call Verify.
func (e *Evidence) UnmarshalBinary(b []byte) error {
	var enc evidenceEncoding
	if err := wire.Unmarshal(b, &enc); err != nil {
		return fmt.Errorf("%w: evidence: %v", ErrMalformed, err)
	}
	*e = Evidence{
		Principal: enc.Principal, CredentialID: enc.CredentialID, CredentialKind: enc.CredentialKind,
		PublicKey: enc.PublicKey, Binding: enc.Binding.binding(),
		ClientData: enc.ClientData, AuthenticatorData: enc.AuthenticatorData, Signature: enc.Signature,
		VerifiedAt: fromNanos(enc.VerifiedAt),
	}
	return nil
}

// newEvidence records what v signed for binding b.
func newEvidence(v *verified, b Binding, at time.Time) *Evidence {
	return &Evidence{
		Principal:         v.ident.ID,
		CredentialID:      bytes.Clone(v.cred.ID),
		CredentialKind:    v.cred.Kind,
		PublicKey:         PublicKey{Algorithm: v.cred.PublicKey.Algorithm, Key: bytes.Clone(v.cred.PublicKey.Key)},
		Binding:           b,
		ClientData:        bytes.Clone(v.clientData),
		AuthenticatorData: bytes.Clone(v.authData),
		Signature:         bytes.Clone(v.signature),
		VerifiedAt:        at.UTC(),
	}
}
