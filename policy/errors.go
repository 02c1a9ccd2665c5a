package policy

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error the package returns for one of these
// conditions matches it with errors.Is; the typed errors below carry the
// details and are reached with errors.As.
var (
	// ErrInvalid is matched by every *ValidationError: a policy, rule,
	// action, filter, permission or activity that fails validation. Nothing
	// is written when it is returned.
	ErrInvalid = errors.New("policy: invalid")
	// ErrNotFound is returned for a policy, approval, change, permission or
	// assignment that does not exist.
	ErrNotFound = errors.New("policy: not found")
	// ErrArchived is returned when updating or archiving an archived policy
	// or permission.
	ErrArchived = errors.New("policy: archived")
	// ErrBlocked is matched by *BlockedError: a policy blocked a change
	// request.
	ErrBlocked = errors.New("policy: blocked by policy")
	// ErrNoPrice is returned by a PriceSource that has no price for an asset
	// in a currency.
	ErrNoPrice = errors.New("policy: no price")

	// ErrNotEligible: the user is in no approval group of the approval (and
	// is not its initiator denying it).
	ErrNotEligible = errors.New("policy: user is not an eligible approver")
	// ErrAlreadyDecided: the user has already decided on this approval.
	ErrAlreadyDecided = errors.New("policy: user has already decided")
	// ErrInitiatorCannotApprove: the initiator tried to approve their own
	// activity and no group they are in allows it.
	ErrInitiatorCannotApprove = errors.New("policy: initiator may not approve their own activity")
	// ErrApprovalClosed: the approval is no longer pending.
	ErrApprovalClosed = errors.New("policy: approval is not pending")
	// ErrApprovalExpired: the approval passed its AutoRejectTimeout; it has
	// been marked Expired.
	ErrApprovalExpired = errors.New("policy: approval expired")
	// ErrEvidence: a decision's signed user action is missing or does not
	// verify, or no ActionVerifier is configured.
	ErrEvidence = errors.New("policy: decision evidence does not verify")

	// ErrPermissionDenied is matched by *PermissionError.
	ErrPermissionDenied = errors.New("policy: permission denied")
	// ErrImmutable: an attempt to change or archive the built-in admin
	// permission, or to revoke it from the first user.
	ErrImmutable = errors.New("policy: immutable")
	// ErrBootstrapped: Bootstrap was called on an engine that already has
	// its admin.
	ErrBootstrapped = errors.New("policy: already bootstrapped")
)

// ValidationError reports the first invalid field of a policy, rule, action,
// filter, permission or activity. It matches ErrInvalid.
type ValidationError struct {
	// Field is the path of the offending field, e.g. "Rule.Timeframe" or
	// "Action.Groups[1].Quorum".
	Field string
	// Reason says what is wrong, for a human.
	Reason string
}

func (e *ValidationError) Error() string {
	return "policy: invalid " + e.Field + ": " + e.Reason
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// within prefixes the field of a *ValidationError with parent, so nested
// validators can report full paths. An empty field is the parent itself.
func within(parent string, err error) error {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	field := parent
	if ve.Field != "" {
		field += "." + ve.Field
	}
	return &ValidationError{Field: field, Reason: ve.Reason}
}

// BlockedError is returned when a change request is blocked by policy. It
// matches ErrBlocked.
type BlockedError struct {
	// Evaluations are the triggered Block evaluations, with their reasons.
	Evaluations []Evaluation
}

func (e *BlockedError) Error() string {
	parts := make([]string, 0, len(e.Evaluations))
	for _, ev := range e.Evaluations {
		parts = append(parts, fmt.Sprintf("%s (%s): %s", ev.PolicyName, ev.PolicyID, ev.Reason))
	}
	return "policy: blocked by policy: " + strings.Join(parts, "; ")
}

// Is reports whether target is ErrBlocked.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// PermissionError is the refusal of Engine.Check. It names the identity and
// the operation, and matches ErrPermissionDenied.
type PermissionError struct {
	Identity  string
	Operation Operation
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("policy: permission denied: %q may not perform %q", e.Identity, e.Operation)
}

// Is reports whether target is ErrPermissionDenied.
func (e *PermissionError) Is(target error) bool { return target == ErrPermissionDenied }

// errStop ends a store ForEach early; it never leaves the package.
var errStop = errors.New("policy: stop iteration")
