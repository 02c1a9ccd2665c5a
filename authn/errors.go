package authn

import "errors"

// Every refusal wraps exactly one of these sentinels (test with errors.Is),
// with %w and a detail that names the identity, credential or field at
// fault. Details never contain tokens, challenges or signatures.
var (
	// ErrMalformed reports input that does not parse: bad JSON, bad
	// base64url, a missing or unknown field, non-canonical client data.
	ErrMalformed = errors.New("authn: malformed input")
	// ErrTooLarge reports input over one of the documented size caps.
	ErrTooLarge = errors.New("authn: input too large")
	// ErrInvalidArgument reports a call the caller got wrong (an empty
	// name, an unknown kind), as opposed to bad peer input.
	ErrInvalidArgument = errors.New("authn: invalid argument")

	// ErrUnknownIdentity reports an identity id that does not exist.
	ErrUnknownIdentity = errors.New("authn: unknown identity")
	// ErrIdentityDeactivated reports an identity that has been deactivated.
	ErrIdentityDeactivated = errors.New("authn: identity deactivated")
	// ErrUnknownCredential reports a credential id that does not exist.
	ErrUnknownCredential = errors.New("authn: unknown credential")
	// ErrCredentialRevoked reports a credential that was revoked, directly
	// or by a recovery.
	ErrCredentialRevoked = errors.New("authn: credential revoked")
	// ErrCredentialNotOwned reports a credential, or a WebAuthn user handle,
	// that belongs to another identity than the one the challenge is for.
	ErrCredentialNotOwned = errors.New("authn: credential belongs to another identity")
	// ErrCredentialExists reports a registration of a credential id (or key
	// credential public key) that is already registered.
	ErrCredentialExists = errors.New("authn: credential already registered")
	// ErrWrongCredentialKind reports a credential used for what its kind
	// does not allow: a recovery key to log in or sign an action, a login
	// key to recover, a passkey for a service account.
	ErrWrongCredentialKind = errors.New("authn: credential kind not allowed here")
	// ErrNoCredential reports an identity without a usable credential for
	// the ceremony asked for.
	ErrNoCredential = errors.New("authn: no usable credential")

	// ErrUnknownChallenge reports a challenge id that does not exist, was
	// already used, or belongs to another ceremony.
	ErrUnknownChallenge = errors.New("authn: unknown challenge")
	// ErrChallengeExpired reports a challenge answered after its expiry.
	ErrChallengeExpired = errors.New("authn: challenge expired")
	// ErrChallengeMismatch reports a response that signs another challenge,
	// or another ceremony type, than the one it is presented for.
	ErrChallengeMismatch = errors.New("authn: response does not answer this challenge")
	// ErrOrigin reports WebAuthn client data from an origin that is not
	// configured.
	ErrOrigin = errors.New("authn: origin not allowed")
	// ErrRPID reports authenticator data scoped to another relying party id.
	ErrRPID = errors.New("authn: relying party id mismatch")
	// ErrBadSignature reports a signature that does not verify.
	ErrBadSignature = errors.New("authn: signature does not verify")
	// ErrCounterRegression reports a WebAuthn signature counter that did not
	// increase although the authenticator reports counters: a possible
	// clone. The credential's stored counter is left unchanged.
	ErrCounterRegression = errors.New("authn: authenticator counter did not increase")
	// ErrInvalidAssertion reports any other failure to verify a WebAuthn
	// assertion (user presence or verification missing, flags, extensions).
	ErrInvalidAssertion = errors.New("authn: invalid assertion")
	// ErrInvalidAttestation reports a registration whose attestation does not
	// verify.
	ErrInvalidAttestation = errors.New("authn: invalid attestation")

	// ErrInvalidToken reports a session or action token that is unknown,
	// revoked, or of the wrong kind.
	ErrInvalidToken = errors.New("authn: invalid token")
	// ErrTokenExpired reports a session or action token past its expiry.
	ErrTokenExpired = errors.New("authn: token expired")
	// ErrActionReplayed reports an action token that was already consumed.
	ErrActionReplayed = errors.New("authn: action token already used")
	// ErrActionMismatch reports an action token presented with another
	// operation, resource or payload than the one it was signed for.
	ErrActionMismatch = errors.New("authn: action token signed for another request")
	// ErrPermissionExceeded reports a service-account token asked for
	// permissions its account does not hold.
	ErrPermissionExceeded = errors.New("authn: permissions exceed the account's")
	// ErrNoRecoveryKey reports a recovery for an identity without one.
	ErrNoRecoveryKey = errors.New("authn: no recovery key")
)
