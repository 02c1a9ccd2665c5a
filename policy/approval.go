package policy

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ApprovalStatus is the state of an approval.
type ApprovalStatus string

// The approval statuses. Only Pending changes; the others are final.
const (
	ApprovalPending  ApprovalStatus = "Pending"
	ApprovalApproved ApprovalStatus = "Approved"
	ApprovalDenied   ApprovalStatus = "Denied"
	ApprovalExpired  ApprovalStatus = "Expired"
)

// Vote is the value of an approval decision.
type Vote string

// The votes.
const (
	VoteApproved Vote = "Approved"
	VoteDenied   Vote = "Denied"
)

// RequiredGroup is one approval group of one triggered policy.
type RequiredGroup struct {
	PolicyID   string
	PolicyName string
	ApprovalGroup
}

// ApprovalDecision is one user's decision on an approval.
type ApprovalDecision struct {
	User   string
	Vote   Vote
	Reason string
	Time   time.Time
	// Evidence is the user's signed user action over
	// DecisionAction(approval ID, Vote, Reason), opaque to this package and
	// checked by the engine's ActionVerifier.
	Evidence []byte
	// Groups are the indexes into Approval.Groups in which the decision
	// counts: every group the user was eligible in when deciding (for an
	// approval by the initiator, only those that allow it).
	Groups []int
}

// Approval holds an activity until the triggered policies' groups approve
// it. The rules, in the order Decide applies them:
//   - a pending approval past ExpiresAt becomes Expired;
//   - each user decides once;
//   - only users eligible in at least one group may decide, except that the
//     initiator may always deny (which cancels the activity);
//   - one decision counts in every group the user is eligible in;
//   - the initiator's approval counts only in groups with
//     InitiatorCanApprove, and is refused if there is none;
//   - any denial makes it Denied at once;
//   - it is Approved when every group has reached its quorum.
type Approval struct {
	ID        string
	Initiator string
	// Activity is the activity held. For a change request its Kind is
	// Policies:Modify or Permissions:* and ChangeID names the change.
	Activity Activity
	Status   ApprovalStatus
	// Evaluations are every matching policy's results, with reasons.
	Evaluations []Evaluation
	// Groups are every group of every triggered RequestApproval policy.
	Groups    []RequiredGroup
	Decisions []ApprovalDecision
	CreatedAt time.Time
	// ExpiresAt is zero when no policy set an AutoRejectTimeout.
	ExpiresAt time.Time
	// ResolvedAt is when the status left Pending.
	ResolvedAt time.Time
	ChangeID   string
}

// Tally returns, per group, the number of approvals counted in it.
func (a *Approval) Tally() []int {
	n := make([]int, len(a.Groups))
	for _, d := range a.Decisions {
		if d.Vote != VoteApproved {
			continue
		}
		for _, g := range d.Groups {
			if g >= 0 && g < len(n) {
				n[g]++
			}
		}
	}
	return n
}

// quorumReached reports whether every group has its quorum.
func (a *Approval) quorumReached() bool {
	for i, n := range a.Tally() {
		if n < a.Groups[i].Quorum {
			return false
		}
	}
	return true
}

// overdue reports whether a pending approval has passed ExpiresAt.
func (a *Approval) overdue(now time.Time) bool {
	return a.Status == ApprovalPending && !a.ExpiresAt.IsZero() && !now.Before(a.ExpiresAt)
}

// expire marks an overdue approval Expired.
func (a *Approval) expire(now time.Time) {
	a.Status = ApprovalExpired
	a.ResolvedAt = now
}

// eligibleGroups returns the groups user belongs to. canDecide says whether
// the user holds the decide operation, which groups without an approver
// list require.
func (a *Approval) eligibleGroups(user string, canDecide bool) []int {
	var out []int
	for i, g := range a.Groups {
		if slices.Contains(g.Approvers, user) || (len(g.Approvers) == 0 && canDecide) {
			out = append(out, i)
		}
	}
	return out
}

// needsDecidePermission reports whether some group is open to anyone with
// the decide operation.
func (a *Approval) needsDecidePermission() bool {
	return slices.ContainsFunc(a.Groups, func(g RequiredGroup) bool { return len(g.Approvers) == 0 })
}

// decide applies d (whose evidence the caller has verified) to a pending,
// not overdue approval, following the rules on Approval.
func (a *Approval) decide(d ApprovalDecision, canDecide bool) error {
	if a.Status != ApprovalPending {
		return fmt.Errorf("%w: approval %s is %s", ErrApprovalClosed, a.ID, a.Status)
	}
	if slices.ContainsFunc(a.Decisions, func(o ApprovalDecision) bool { return o.User == d.User }) {
		return fmt.Errorf("%w: %q on approval %s", ErrAlreadyDecided, d.User, a.ID)
	}
	groups := a.eligibleGroups(d.User, canDecide)
	initiator := d.User == a.Initiator
	switch d.Vote {
	case VoteDenied:
		if len(groups) == 0 && !initiator {
			return fmt.Errorf("%w: %q on approval %s", ErrNotEligible, d.User, a.ID)
		}
	case VoteApproved:
		if len(groups) == 0 {
			return fmt.Errorf("%w: %q on approval %s", ErrNotEligible, d.User, a.ID)
		}
		if initiator {
			groups = slices.DeleteFunc(groups, func(i int) bool { return !a.Groups[i].InitiatorCanApprove })
			if len(groups) == 0 {
				return fmt.Errorf("%w: %q on approval %s", ErrInitiatorCannotApprove, d.User, a.ID)
			}
		}
	default:
		return invalid("Vote", "unknown vote %q", d.Vote)
	}
	d.Groups = groups
	a.Decisions = append(a.Decisions, d)
	switch {
	case d.Vote == VoteDenied:
		a.Status, a.ResolvedAt = ApprovalDenied, d.Time
	case a.quorumReached():
		a.Status, a.ResolvedAt = ApprovalApproved, d.Time
	}
	return nil
}

// Verify re-checks an approved approval, as a signer does before it takes
// part: every decision's evidence verifies with v, no one denied, each user
// decided once, each counted group lists the user (groups open to anyone
// with the decide operation are taken as recorded), the initiator is counted
// only where allowed, and every group has its quorum. It trusts the group
// definitions in a; obtain a from a source you trust for them.
func (a *Approval) Verify(ctx context.Context, v ActionVerifier) error {
	if a.Status != ApprovalApproved {
		return fmt.Errorf("%w: approval %s is %s", ErrApprovalClosed, a.ID, a.Status)
	}
	if v == nil {
		return fmt.Errorf("%w: no verifier", ErrEvidence)
	}
	seen := make(map[string]bool, len(a.Decisions))
	for _, d := range a.Decisions {
		if seen[d.User] {
			return fmt.Errorf("%w: %q on approval %s", ErrAlreadyDecided, d.User, a.ID)
		}
		seen[d.User] = true
		if d.Vote != VoteApproved {
			return fmt.Errorf("policy: approval %s has a %s decision by %q", a.ID, d.Vote, d.User)
		}
		for j, g := range d.Groups {
			if slices.Contains(d.Groups[:j], g) {
				return fmt.Errorf("%w: decision by %q counts twice in group %d", ErrNotEligible, d.User, g)
			}
			if g < 0 || g >= len(a.Groups) {
				return fmt.Errorf("%w: decision by %q counts in group %d of %d", ErrNotEligible, d.User, g, len(a.Groups))
			}
			grp := a.Groups[g]
			if len(grp.Approvers) > 0 && !slices.Contains(grp.Approvers, d.User) {
				return fmt.Errorf("%w: %q is not an approver of group %q", ErrNotEligible, d.User, grp.Name)
			}
			if d.User == a.Initiator && !grp.InitiatorCanApprove {
				return fmt.Errorf("%w: counted in group %q", ErrInitiatorCannotApprove, grp.Name)
			}
		}
		if err := v.VerifyAction(ctx, d.User, DecisionAction(a.ID, d.Vote, d.Reason), d.Evidence); err != nil {
			return fmt.Errorf("%w: decision by %q on approval %s: %w", ErrEvidence, d.User, a.ID, err)
		}
	}
	if !a.quorumReached() {
		return fmt.Errorf("policy: approval %s has not reached quorum in every group", a.ID)
	}
	return nil
}

// clone returns a deep copy.
func (a Approval) clone() Approval {
	a.Activity = a.Activity.clone()
	a.Evaluations = slices.Clone(a.Evaluations)
	a.Groups = slices.Clone(a.Groups)
	for i := range a.Groups {
		a.Groups[i].Approvers = slices.Clone(a.Groups[i].Approvers)
	}
	a.Decisions = slices.Clone(a.Decisions)
	for i := range a.Decisions {
		a.Decisions[i].Evidence = slices.Clone(a.Decisions[i].Evidence)
		a.Decisions[i].Groups = slices.Clone(a.Decisions[i].Groups)
	}
	return a
}
