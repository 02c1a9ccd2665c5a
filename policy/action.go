package policy

import (
	"fmt"
	"time"
)

// ActionKind names what a triggered policy does.
type ActionKind string

// The action kinds.
const (
	KindBlock           ActionKind = "Block"
	KindNoAction        ActionKind = "NoAction"
	KindRequestApproval ActionKind = "RequestApproval"
)

// Action is what a triggered policy does: Block, NoAction or
// RequestApproval. The interface is closed.
type Action interface {
	// ActionKind names the action.
	ActionKind() ActionKind
	validate() error
}

// Block rejects the activity. Any triggered Block makes the decision Block,
// whatever else triggered.
type Block struct{}

// NoAction only records the triggering in the decision's evaluations (for
// audit and events).
type NoAction struct{}

// RequestApproval holds the activity until every group has reached its
// quorum, and rejects it on the first denial or after AutoRejectTimeout.
type RequestApproval struct {
	// Groups is not empty; group names are distinct within the policy.
	Groups []ApprovalGroup
	// AutoRejectTimeout, if not zero, expires the approval that long after
	// it is opened; it must not be negative. With several policies the
	// shortest non-zero timeout applies.
	AutoRejectTimeout time.Duration
}

// ApprovalGroup is a set of users of whom Quorum must approve.
type ApprovalGroup struct {
	// Name is not empty.
	Name string
	// Quorum is at least 1 and, when Approvers is given, at most
	// len(Approvers).
	Quorum int
	// Approvers are user identities, without duplicates. Empty means any
	// identity holding the Policies:Approvals:Decide operation (checked when
	// it decides).
	Approvers []string
	// InitiatorCanApprove lets the activity's initiator approve it (and be
	// counted) in this group. An initiator may always deny.
	InitiatorCanApprove bool
}

// ActionKind implements Action.
func (Block) ActionKind() ActionKind { return KindBlock }

// ActionKind implements Action.
func (NoAction) ActionKind() ActionKind { return KindNoAction }

// ActionKind implements Action.
func (RequestApproval) ActionKind() ActionKind { return KindRequestApproval }

func (Block) validate() error    { return nil }
func (NoAction) validate() error { return nil }

func (r RequestApproval) validate() error {
	if len(r.Groups) == 0 {
		return invalid("Groups", "is empty: an approval needs at least one group")
	}
	if r.AutoRejectTimeout < 0 {
		return invalid("AutoRejectTimeout", "%v is negative", r.AutoRejectTimeout)
	}
	names := make(map[string]bool, len(r.Groups))
	for i, g := range r.Groups {
		field := fmt.Sprintf("Groups[%d]", i)
		if err := g.validate(); err != nil {
			return within(field, err)
		}
		if names[g.Name] {
			return invalid(field+".Name", "%q is used by another group", g.Name)
		}
		names[g.Name] = true
	}
	return nil
}

func (g ApprovalGroup) validate() error {
	if g.Name == "" {
		return invalid("Name", "is empty")
	}
	if g.Quorum < 1 {
		return invalid("Quorum", "%d is less than 1", g.Quorum)
	}
	seen := make(map[string]bool, len(g.Approvers))
	for i, a := range g.Approvers {
		if a == "" {
			return invalid(fmt.Sprintf("Approvers[%d]", i), "is empty")
		}
		if seen[a] {
			return invalid(fmt.Sprintf("Approvers[%d]", i), "%q is listed twice", a)
		}
		seen[a] = true
	}
	if len(g.Approvers) > 0 && g.Quorum > len(g.Approvers) {
		return invalid("Quorum", "%d is larger than the %d approvers", g.Quorum, len(g.Approvers))
	}
	return nil
}
