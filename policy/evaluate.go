package policy

import (
	"context"
	"log/slog"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// Evaluate evaluates a against every active policy of its kind whose filters
// match, and returns the decision without changing anything: an approval in
// the decision is a preview, and the activity is not recorded in the
// velocity history. Use it to preview; use Submit on the request path, and
// Recheck to check again an activity already submitted.
//
// Evaluation is deterministic for a given store state, clock and price
// source. An error means no decision: the caller must not proceed.
func (e *Engine) Evaluate(ctx context.Context, a Activity) (Decision, error) {
	if err := a.validate(); err != nil {
		return Decision{}, err
	}
	a = a.clone()
	var d Decision
	err := e.view(ctx, "evaluate", func(tx store.Tx) (err error) {
		d, err = e.evaluate(ctx, tx, &a, e.clock(), nil)
		return err
	})
	if err != nil {
		return Decision{}, err
	}
	return d, nil
}

// Submit evaluates a like Evaluate and commits the outcome in the same store
// transaction, so concurrent submissions cannot overrun a velocity limit:
//   - OutcomeAllow: a Wallets:Sign activity is appended to its wallet's
//     velocity history (the caller is expected to proceed with it);
//   - OutcomeRequireApproval: the approval is stored, Pending, and
//     Decision.Approval carries its ID; the activity enters the history
//     when (if) it is approved;
//   - OutcomeBlock: nothing is stored.
func (e *Engine) Submit(ctx context.Context, a Activity) (Decision, error) {
	if err := a.validate(); err != nil {
		return Decision{}, err
	}
	a = a.clone()
	var d Decision
	err := e.update(ctx, "submit", func(tx store.Tx) (err error) {
		now := e.clock()
		if d, err = e.evaluate(ctx, tx, &a, now, nil); err != nil {
			return err
		}
		switch d.Outcome {
		case OutcomeAllow:
			if a.Kind == WalletsSign {
				return recordHistory(tx, &a, now)
			}
		case OutcomeRequireApproval:
			d.Approval.ID = newID("ap")
			return putApproval(tx, d.Approval)
		}
		return nil
	})
	if err != nil {
		return Decision{}, err
	}
	e.logDecision(&a, &d)
	return d, nil
}

// evaluate is the evaluation proper, inside the caller's transaction. own,
// if not nil, is a's own history entry, which the velocity windows leave
// out (Recheck).
func (e *Engine) evaluate(ctx context.Context, tx store.Tx, a *Activity, now time.Time, own *historyEntry) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	snap, err := e.snapshot(tx)
	if err != nil {
		return Decision{}, err
	}
	s := evalState{ctx: ctx, tx: tx, activity: a, now: now, prices: e.prices, own: own}
	candidates := snap.byKind[a.Kind]
	// Match filters first, to size Evaluations exactly.
	matches, matched := make([]bool, len(candidates)), 0
	for i, p := range candidates {
		if matches[i] = p.Filters.match(a); matches[i] {
			matched++
		}
	}
	d := Decision{Outcome: OutcomeAllow, Evaluations: make([]Evaluation, 0, matched)}
	var (
		blocked, approve bool
		groups           []RequiredGroup
		timeout          time.Duration
	)
	for i, p := range candidates {
		if !matches[i] {
			continue
		}
		triggered, reason, err := p.eval.evaluate(&s)
		if err != nil {
			return Decision{}, err
		}
		d.Evaluations = append(d.Evaluations, Evaluation{
			PolicyID: p.ID, PolicyName: p.Name, Rule: p.Rule.RuleKind(),
			Action: p.Action.ActionKind(), Triggered: triggered, Reason: reason,
		})
		if !triggered {
			continue
		}
		switch act := p.Action.(type) {
		case Block:
			blocked = true
		case RequestApproval:
			approve = true
			for _, g := range act.clone().Groups {
				groups = append(groups, RequiredGroup{PolicyID: p.ID, PolicyName: p.Name, ApprovalGroup: g})
			}
			if act.AutoRejectTimeout > 0 && (timeout == 0 || act.AutoRejectTimeout < timeout) {
				timeout = act.AutoRejectTimeout
			}
		}
	}
	switch {
	case blocked:
		d.Outcome = OutcomeBlock
	case approve:
		d.Outcome = OutcomeRequireApproval
		ap := &Approval{
			Initiator:   a.Initiator,
			Activity:    a.clone(),
			Status:      ApprovalPending,
			Evaluations: append([]Evaluation(nil), d.Evaluations...),
			Groups:      groups,
			CreatedAt:   now,
		}
		if timeout > 0 {
			ap.ExpiresAt = now.Add(timeout)
		}
		d.Approval = ap
	}
	return d, nil
}

// logDecision records a submitted decision: Block and RequireApproval at
// Info, Allow at Debug.
func (e *Engine) logDecision(a *Activity, d *Decision) {
	attrs := []any{
		slog.String("kind", string(a.Kind)), slog.String("activity", a.ID),
		slog.String("initiator", a.Initiator), slog.String("outcome", string(d.Outcome)),
	}
	for _, ev := range d.Evaluations {
		if ev.Triggered {
			attrs = append(attrs, slog.Group("triggered",
				slog.String("policy", ev.PolicyID), slog.String("action", string(ev.Action)),
				slog.String("reason", ev.Reason)))
		}
	}
	if d.Approval != nil {
		attrs = append(attrs, slog.String("approval", d.Approval.ID))
	}
	level := slog.LevelInfo
	if d.Outcome == OutcomeAllow {
		level = slog.LevelDebug
	}
	e.log.Log(context.Background(), level, "policy: decision", attrs...)
}
