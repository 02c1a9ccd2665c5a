package ecdsa

import (
	"errors"

	"github.com/cairn-mpc/cairn/mpc/round"
)

// Protocol is the protocol name in this package's *round.Error values.
const Protocol = "ecdsa"

// checkError is a sentinel that also wraps a round sentinel, so that
// errors.Is matches both the specific check and the shared cause.
type checkError struct {
	msg   string
	cause error
}

func (e *checkError) Error() string { return e.msg }
func (e *checkError) Unwrap() error { return e.cause }

var (
	// ErrInvalidRequest reports a configuration, request or presignature
	// that cannot start a session.
	ErrInvalidRequest = errors.New("ecdsa: invalid request")
	// ErrInvalidKeyShare reports a KeyShare whose parts do not fit together
	// or whose encoding does not decode.
	ErrInvalidKeyShare = errors.New("ecdsa: invalid key share")
	// ErrWrongSession reports a message bound to another session.
	ErrWrongSession error = &checkError{"ecdsa: message for another session", round.ErrMalformed}
	// ErrNotSigner reports a message from a party outside the session.
	ErrNotSigner error = &checkError{"ecdsa: sender is not a party of this session", round.ErrMalformed}
	// ErrDuplicateMessage reports a second message from one party for one
	// slot of a round.
	ErrDuplicateMessage = errors.New("ecdsa: second message from a party in one round")

	// ErrCommitment reports an instance key R_j that does not open the
	// commitment its sender broadcast in round 1 (DKLs23 Protocol 3.6, phase
	// 3 step 1; design §4 check 4). It also reports a zero-sharing seed that
	// does not open its commitment at key generation.
	ErrCommitment error = &checkError{"ecdsa: commitment does not open", round.ErrInvalidProof}
	// ErrConsistencyCheck reports a counterparty whose VOLE inputs do not
	// match the discrete logarithms of the R_j and pk_j it published: the
	// Γ-checks of DKLs23 Protocol 3.6, phase 3 step 3 (design §4 check 3).
	// The counterparty is banned for the key.
	ErrConsistencyCheck error = &checkError{"ecdsa: Γ-check failed: VOLE input does not match the published point", round.ErrInvalidProof}
	// ErrKeyMismatch reports additive public key shares whose sum is not
	// the session's public key (design §4 check 5): some signer shifted its
	// share. With two signers the other one is named; with more, the sum
	// alone cannot tell which signer did it and nobody is named.
	ErrKeyMismatch error = &checkError{"ecdsa: public key shares do not sum to the key", round.ErrInvalidShare}
	// ErrIdentityNonce reports R = Σ R_j = ∞ (design §4 check 4).
	ErrIdentityNonce error = &checkError{"ecdsa: the nonce point is the identity", round.ErrInvalidShare}
	// ErrBanned reports a counterparty that failed an OT-extension,
	// multiplication or Γ-check for this key earlier: its pairwise state is
	// unusable until a new setup, and no session with it is started.
	ErrBanned = errors.New("ecdsa: counterparty is banned for this key")
	// ErrInputMismatch reports a signer whose partial signature was made
	// for another message digest or presignature than ours: the callers
	// gave the signers different inputs, so nobody can be blamed.
	ErrInputMismatch = errors.New("ecdsa: signers disagree on the session's inputs")
	// ErrPresignatureUsed reports a second use of a single-use
	// presignature.
	ErrPresignatureUsed = errors.New("ecdsa: presignature already used")
)
