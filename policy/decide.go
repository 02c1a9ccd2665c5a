package policy

import (
	"context"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/cairn-mpc/cairn/store"
)

// Bounds of a decision request, in bytes.
const (
	MaxReasonLength = 1024
	MaxEvidenceSize = 64 << 10
)

// DecideRequest is one user's decision on an approval.
type DecideRequest struct {
	ApprovalID string
	User       string
	Vote       Vote
	Reason     string
	// Evidence is User's signed user action over
	// DecisionAction(ApprovalID, Vote, Reason), checked by the engine's
	// ActionVerifier and stored with the decision.
	Evidence []byte
}

// Decide records a decision on a pending approval, following the rules on
// Approval, and returns the approval as it now is. The evidence is verified
// first (ErrEvidence). When the decision resolves the approval, its
// consequence is written in the same transaction: an approved Wallets:Sign
// activity enters the velocity history; an approved change is applied (or
// marked Failed if it no longer applies); a denied change is Rejected.
//
// An approval found past its AutoRejectTimeout is marked Expired (and its
// change Rejected), and Decide returns it with ErrApprovalExpired.
func (e *Engine) Decide(ctx context.Context, r DecideRequest) (Approval, error) {
	switch {
	case r.ApprovalID == "":
		return Approval{}, invalid("ApprovalID", "is empty")
	case r.User == "":
		return Approval{}, invalid("User", "is empty")
	case r.Vote != VoteApproved && r.Vote != VoteDenied:
		return Approval{}, invalid("Vote", "unknown vote %q", r.Vote)
	case len(r.Reason) > MaxReasonLength:
		return Approval{}, invalid("Reason", "is longer than %d bytes", MaxReasonLength)
	case !utf8.ValidString(r.Reason):
		return Approval{}, invalid("Reason", "is not valid UTF-8")
	case len(r.Evidence) > MaxEvidenceSize:
		return Approval{}, invalid("Evidence", "is larger than %d bytes", MaxEvidenceSize)
	case e.verifier == nil:
		return Approval{}, fmt.Errorf("%w: no ActionVerifier is configured", ErrEvidence)
	}
	if err := e.verifier.VerifyAction(ctx, r.User, DecisionAction(r.ApprovalID, r.Vote, r.Reason), r.Evidence); err != nil {
		return Approval{}, fmt.Errorf("%w: %q on approval %s: %w", ErrEvidence, r.User, r.ApprovalID, err)
	}
	var (
		out     Approval
		expired bool
	)
	err := e.update(ctx, "decide", func(tx store.Tx) error {
		a, err := getApproval(tx, r.ApprovalID)
		if err != nil {
			return err
		}
		now := e.clock()
		if a.overdue(now) {
			a.expire(now)
			expired = true
		} else {
			canDecide := false
			if a.needsDecidePermission() {
				if canDecide, err = allowed(tx, r.User, OpPoliciesApprovalsDecide); err != nil {
					return err
				}
			}
			d := ApprovalDecision{User: r.User, Vote: r.Vote, Reason: r.Reason, Time: now, Evidence: append([]byte(nil), r.Evidence...)}
			if err := a.decide(d, canDecide); err != nil {
				return err
			}
		}
		if err := e.resolve(tx, &a, now); err != nil {
			return err
		}
		out = a
		return putApproval(tx, &a)
	})
	if err != nil {
		return Approval{}, err
	}
	e.logApproval(&out, r.User)
	if expired {
		return out, fmt.Errorf("%w: approval %s at %v", ErrApprovalExpired, out.ID, out.ExpiresAt)
	}
	return out, nil
}

// resolve writes the consequence of a resolved approval; it does nothing
// for a pending one.
func (e *Engine) resolve(tx store.Tx, a *Approval, now time.Time) error {
	if a.Status == ApprovalPending {
		return nil
	}
	if a.ChangeID == "" {
		if a.Status == ApprovalApproved && a.Activity.Kind == WalletsSign {
			return recordHistory(tx, &a.Activity, now)
		}
		return nil
	}
	c, err := getChange(tx, a.ChangeID)
	if err != nil {
		return err
	}
	c.ResolvedAt = now
	switch a.Status {
	case ApprovalApproved:
		switch err := e.applyChange(tx, &c, now); {
		case err == nil:
			c.Status = ChangeApplied
		case isDomainError(err):
			c.Status, c.Reason = ChangeFailed, err.Error()
		default:
			return err
		}
	default:
		c.Status, c.Reason = ChangeRejected, "approval "+a.ID+" was "+string(a.Status)
	}
	return putChange(tx, &c)
}

// Approval returns the approval with id. A pending approval past its
// ExpiresAt is returned as Expired even before ExpireApprovals or Decide
// has stored that.
func (e *Engine) Approval(ctx context.Context, id string) (Approval, error) {
	var a Approval
	err := e.view(ctx, "read approval", func(tx store.Tx) (err error) {
		a, err = getApproval(tx, id)
		return err
	})
	if err != nil {
		return Approval{}, err
	}
	if now := e.clock(); a.overdue(now) {
		a.expire(now)
	}
	return a, nil
}

// PendingApprovals returns the approvals still pending, ordered by ID.
// Overdue ones are included (as Pending) until ExpireApprovals runs.
func (e *Engine) PendingApprovals(ctx context.Context) ([]Approval, error) {
	var out []Approval
	err := e.view(ctx, "list approvals", func(tx store.Tx) error {
		return tx.ForEach(pendingBucket, nil, func(k, _ []byte) error {
			a, err := getApproval(tx, string(k))
			if err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// ExpireApprovals marks every pending approval past its ExpiresAt as
// Expired (rejecting its change) and returns them. Run it periodically so
// expiries are stored, and reported, even if nobody decides.
func (e *Engine) ExpireApprovals(ctx context.Context) ([]Approval, error) {
	var out []Approval
	err := e.update(ctx, "expire approvals", func(tx store.Tx) error {
		out = out[:0]
		var ids []string
		if err := tx.ForEach(pendingBucket, nil, func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		}); err != nil {
			return err
		}
		now := e.clock()
		for _, id := range ids {
			a, err := getApproval(tx, id)
			if err != nil {
				return err
			}
			if !a.overdue(now) {
				continue
			}
			a.expire(now)
			if err := e.resolve(tx, &a, now); err != nil {
				return err
			}
			if err := putApproval(tx, &a); err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		e.logApproval(&out[i], "")
	}
	return out, nil
}

func (e *Engine) logApproval(a *Approval, user string) {
	e.log.Info("policy: approval", slog.String("approval", a.ID), slog.String("status", string(a.Status)),
		slog.String("user", user), slog.String("change", a.ChangeID))
}
