package policy

// Outcome is the verdict of an evaluation.
type Outcome string

// The outcomes.
const (
	// OutcomeAllow: no policy blocked or asked for approval. With no
	// policy at all, everything is allowed. For deny-by-default, add an
	// AlwaysTrigger or Expression policy with action Block for the kind,
	// whose filters or expression leave out the cases to allow: a triggered
	// Block cannot be overridden by another policy.
	OutcomeAllow Outcome = "Allow"
	// OutcomeBlock: at least one triggered policy's action is Block.
	OutcomeBlock Outcome = "Block"
	// OutcomeRequireApproval: no Block triggered, and at least one
	// RequestApproval did; Decision.Approval holds every triggered group.
	OutcomeRequireApproval Outcome = "RequireApproval"
)

// Evaluation is the result of one policy that matched the activity (kind and
// filters), triggered or not.
type Evaluation struct {
	PolicyID   string
	PolicyName string
	Rule       RuleKind
	Action     ActionKind
	Triggered  bool
	// Reason says why, e.g. "Number of transactions (3) in the last 1 hour
	// is above limit (2)".
	Reason string
}

// Decision is the engine's answer for one activity.
type Decision struct {
	Outcome Outcome
	// Evaluations holds every matching policy's result, ordered by policy
	// ID.
	Evaluations []Evaluation
	// Approval is set when Outcome is OutcomeRequireApproval. From Evaluate it is a
	// preview (no ID, not stored); from Submit it is the stored approval.
	Approval *Approval
}

// Blocking returns the triggered Block evaluations.
func (d *Decision) Blocking() []Evaluation {
	var out []Evaluation
	for _, e := range d.Evaluations {
		if e.Triggered && e.Action == KindBlock {
			out = append(out, e)
		}
	}
	return out
}
