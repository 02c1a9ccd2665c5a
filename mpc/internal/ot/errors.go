package ot

import (
	"errors"

	"github.com/cairn-mpc/cairn/mpc/round"
)

// checkError is a sentinel that also wraps a round sentinel, so that
// errors.Is matches both the specific check and the round's cause.
type checkError struct {
	msg   string
	cause error
}

func (e *checkError) Error() string { return e.msg }
func (e *checkError) Unwrap() error { return e.cause }

var (
	// ErrConsistency reports an extension message that fails the
	// consistency check: the receiver used different choice bits in
	// different rows, the selective-failure probe on the sender's Δ that the
	// check exists to catch. The Sender is unusable from then on, and the
	// caller must ban the counterparty for the key (a fresh base-OT setup is
	// the only way back). It wraps round.ErrInvalidProof.
	ErrConsistency error = &checkError{"ot: extension consistency check failed", round.ErrInvalidProof}

	// ErrBaseVerification reports a base-OT peer that failed the verification
	// phase of Verified Simplest OT (a wrong challenge response from the
	// receiver, or openings that do not match the challenge from the
	// sender). The setup must be abandoned and the peer named. It wraps
	// round.ErrInvalidProof.
	ErrBaseVerification error = &checkError{"ot: base OT verification failed", round.ErrInvalidProof}

	// ErrWrongSession reports a message bound to another session than the
	// one it was handed to: a replay. It wraps round.ErrMalformed; the state
	// is unchanged.
	ErrWrongSession error = &checkError{"ot: message for another session", round.ErrMalformed}

	// ErrUnusable reports a use of a Sender after a failed consistency
	// check, or of a base-OT party after it aborted.
	ErrUnusable = errors.New("ot: state is unusable after a failed check")

	// ErrOrder reports a step called out of order or twice.
	ErrOrder = errors.New("ot: protocol step out of order")
)
