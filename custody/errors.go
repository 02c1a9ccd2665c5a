package custody

import (
	"errors"
	"fmt"
)

// Errors the service returns, matched with errors.Is. Each is wrapped with
// the detail of the case; errors from authn (a bad or replayed user action),
// policy (permission denied, an ineligible approver, a closed approval) and
// chains (an invalid address or amount) are wrapped as they are, so their
// sentinels match too.
var (
	// ErrInvalid: a malformed request (a missing field, an amount that is
	// not positive, a payload too large).
	ErrInvalid = errors.New("custody: invalid request")
	// ErrUnknownWallet: no wallet with that id.
	ErrUnknownWallet = errors.New("custody: unknown wallet")
	// ErrNotFound: no request, or no record, with that id.
	ErrNotFound = errors.New("custody: not found")
	// ErrConflict: an external id already used for a request with
	// another body. Returned as a *ConflictError.
	ErrConflict = errors.New("custody: external id already used with another body")
	// ErrUnauthenticated: the user action did not verify. The authn error
	// is wrapped beside it.
	ErrUnauthenticated = errors.New("custody: user action refused")
	// ErrForbidden: the principal lacks the permission. The policy
	// *PermissionError is wrapped beside it.
	ErrForbidden = errors.New("custody: permission denied")
	// ErrState: the request is not in a state that allows the call.
	ErrState = errors.New("custody: request not in a state that allows this")
	// ErrEvidence: a signer's evidence gate refused the evidence.
	ErrEvidence = errors.New("custody: signing evidence refused")
)

// ConflictError says which request already holds an external id.
type ConflictError struct {
	ExternalID string
	RequestID  string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("custody: external id %q already names request %s with another body", e.ExternalID, e.RequestID)
}

// Unwrap makes a ConflictError match ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }
