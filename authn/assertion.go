package authn

import (
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
)

// Size caps on what a client sends.
const (
	maxAssertionSize    = 16 << 10
	maxAttestationSize  = 64 << 10
	maxKeySignatureSize = 256
)

// KeyAssertion is how a key credential answers a login or action
// challenge, as JSON:
//
//	{"type":"key","id":"<credential id>","clientData":"<KeyClientData bytes>","signature":"<signature>"}
//
// every byte string unpadded base64url. Signature is over the exact
// ClientData bytes, as the credential's Algorithm says.
type KeyAssertion struct {
	Type       string    `json:"type"`
	ID         Base64URL `json:"id"`
	ClientData Base64URL `json:"clientData"`
	Signature  Base64URL `json:"signature"`
}

// KeyAssertionType is KeyAssertion.Type; a passkey answers with the
// WebAuthn PublicKeyCredential JSON, whose type is "public-key".
const KeyAssertionType = "key"

// assertion is a parsed answer to a login, action or recovery challenge:
// exactly one of passkey and key is set.
type assertion struct {
	credentialID []byte
	passkey      *protocol.ParsedCredentialAssertionData
	key          *keyAssertion
}

type keyAssertion struct {
	clientData []byte
	parsed     keyClientData
	signature  []byte
}

// parseAssertion parses a passkey's PublicKeyCredential JSON (type
// "public-key") or a KeyAssertion (type "key"). It checks shape and sizes
// only; nothing is verified. Every error wraps ErrMalformed or ErrTooLarge,
// and it never panics.
func parseAssertion(b []byte) (*assertion, error) {
	if len(b) > maxAssertionSize {
		return nil, fmt.Errorf("%w: assertion of %d bytes, cap %d", ErrTooLarge, len(b), maxAssertionSize)
	}
	var envelope struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &envelope); err != nil {
		return nil, fmt.Errorf("%w: assertion is not a JSON object: %v", ErrMalformed, err)
	}
	switch envelope.Type {
	case string(protocol.PublicKeyCredentialType):
		p, err := protocol.ParseCredentialRequestResponseBytes(b)
		if err != nil {
			return nil, fmt.Errorf("%w: passkey assertion: %s", ErrMalformed, webAuthnDetails(err))
		}
		if len(p.RawID) > maxCredentialIDSize {
			return nil, fmt.Errorf("%w: credential id of %d bytes", ErrTooLarge, len(p.RawID))
		}
		return &assertion{credentialID: p.RawID, passkey: p}, nil
	case KeyAssertionType:
		var ka KeyAssertion
		if err := decodeStrict(b, &ka); err != nil {
			return nil, fmt.Errorf("key assertion: %w", err)
		}
		if len(ka.ID) == 0 || len(ka.ID) > maxCredentialIDSize {
			return nil, fmt.Errorf("%w: key assertion: credential id of %d bytes", ErrMalformed, len(ka.ID))
		}
		if len(ka.Signature) == 0 || len(ka.Signature) > maxKeySignatureSize {
			return nil, fmt.Errorf("%w: key assertion: signature of %d bytes", ErrMalformed, len(ka.Signature))
		}
		cd, err := parseKeyClientData(ka.ClientData)
		if err != nil {
			return nil, fmt.Errorf("key assertion: %w", err)
		}
		return &assertion{credentialID: ka.ID, key: &keyAssertion{clientData: ka.ClientData, parsed: cd, signature: ka.Signature}}, nil
	default:
		return nil, fmt.Errorf("%w: assertion type %q, want %q or %q", ErrMalformed, truncate(envelope.Type), protocol.PublicKeyCredentialType, KeyAssertionType)
	}
}

// KeyAttestation registers a key credential, as JSON:
//
//	{"algorithm":"Ed25519","publicKey":"…","clientData":"…","signature":"…"}
//
// ClientData is KeyClientData(KeyCreate, challenge) and Signature is the
// new key's signature over it, proving possession of the private key.
type KeyAttestation struct {
	Algorithm  Algorithm `json:"algorithm"`
	PublicKey  Base64URL `json:"publicKey"`
	ClientData Base64URL `json:"clientData"`
	Signature  Base64URL `json:"signature"`
}

// keyAttestation is a parsed and self-verified KeyAttestation: the
// signature is known to verify under the enclosed key; the challenge is
// not yet checked.
type keyAttestation struct {
	publicKey PublicKey
	challenge []byte
}

// parseKeyAttestation parses a KeyAttestation, normalizes its key and
// checks its signature over its client data. Errors wrap ErrMalformed,
// ErrTooLarge or ErrInvalidAttestation.
func parseKeyAttestation(b []byte) (*keyAttestation, error) {
	if len(b) > maxAttestationSize {
		return nil, fmt.Errorf("%w: attestation of %d bytes, cap %d", ErrTooLarge, len(b), maxAttestationSize)
	}
	var ka KeyAttestation
	if err := decodeStrict(b, &ka); err != nil {
		return nil, fmt.Errorf("key attestation: %w", err)
	}
	if ka.Algorithm == WebAuthn {
		return nil, fmt.Errorf("%w: key attestation: a passkey registers with a WebAuthn attestation", ErrMalformed)
	}
	key, err := normalizeKey(ka.Algorithm, ka.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("key attestation: %w", err)
	}
	if len(ka.Signature) == 0 || len(ka.Signature) > maxKeySignatureSize {
		return nil, fmt.Errorf("%w: key attestation: signature of %d bytes", ErrMalformed, len(ka.Signature))
	}
	cd, err := parseKeyClientData(ka.ClientData)
	if err != nil {
		return nil, fmt.Errorf("key attestation: %w", err)
	}
	if cd.Type != KeyCreate {
		return nil, fmt.Errorf("%w: key attestation signs %q, want %q", ErrChallengeMismatch, cd.Type, KeyCreate)
	}
	pub := PublicKey{Algorithm: ka.Algorithm, Key: key}
	if err := verifyKeySignature(pub, ka.ClientData, ka.Signature); err != nil {
		return nil, fmt.Errorf("%w: proof of possession: %w", ErrInvalidAttestation, err)
	}
	return &keyAttestation{publicKey: pub, challenge: cd.Challenge}, nil
}

// parsePasskeyAttestation parses a passkey's registration response
// (navigator.credentials.create() as JSON); nothing is verified.
func parsePasskeyAttestation(b []byte) (*protocol.ParsedCredentialCreationData, error) {
	if len(b) > maxAttestationSize {
		return nil, fmt.Errorf("%w: attestation of %d bytes, cap %d", ErrTooLarge, len(b), maxAttestationSize)
	}
	p, err := protocol.ParseCredentialCreationResponseBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: passkey attestation: %s", ErrMalformed, webAuthnDetails(err))
	}
	return p, nil
}
