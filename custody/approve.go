package custody

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/custody/audit"
	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store"
)

// Decided is the outcome of a decision: the approval as it now stands and,
// when it holds a request (not a policy or permission change), that request
// as far as it went.
type Decided struct {
	Approval policy.Approval
	Request  *Request
}

// Approve records an approval of d.ApprovalID by the user whose token
// signs d.Action(policy.VoteApproved). When that completes the approval, the
// request it held is signed and broadcast before Approve returns.
func (s *Service) Approve(ctx context.Context, tok authn.Token, d DecisionRequest) (*Decided, error) {
	return s.decide(ctx, tok, d, policy.VoteApproved)
}

// Deny records a denial: the request becomes Rejected at once.
func (s *Service) Deny(ctx context.Context, tok authn.Token, d DecisionRequest) (*Decided, error) {
	return s.decide(ctx, tok, d, policy.VoteDenied)
}

func (s *Service) decide(ctx context.Context, tok authn.Token, d DecisionRequest, vote policy.Vote) (*Decided, error) {
	if d.ApprovalID == "" || len(d.ApprovalID) > maxName || len(d.Reason) > policy.MaxReasonLength {
		return nil, fmt.Errorf("%w: approval id or reason", ErrInvalid)
	}
	act := d.Action(vote)
	// Who may decide is the approval's business (its groups, or the decide
	// operation for open groups): policy.Engine.Decide checks it, so the
	// permission step here is the user action alone.
	v, err := s.authenticate(ctx, tok, act)
	if err != nil {
		return nil, err
	}
	a, err := s.cfg.Policies.Decide(ctx, policy.DecideRequest{ApprovalID: d.ApprovalID, User: v.principal, Vote: vote, Reason: d.Reason, Evidence: v.evidence})
	if err != nil {
		s.auditRefusal(ctx, v.principal, act, v.evidence, err)
		if errors.Is(err, policy.ErrApprovalExpired) {
			if _, serr := s.settle(ctx, a); serr != nil {
				return nil, errors.Join(err, serr)
			}
		}
		return nil, err
	}
	details, _ := json.Marshal(map[string]any{"approvalId": a.ID, "vote": vote, "reason": d.Reason, "status": a.Status})
	if _, err := s.audit.AppendNow(ctx, audit.Record{Kind: "approval.decided", Actor: v.principal, Subject: a.ID, Details: details, Evidence: [][]byte{v.evidence}}); err != nil {
		return nil, err
	}
	r, err := s.settle(ctx, a)
	return &Decided{Approval: a, Request: r}, err
}

// settle brings the request an approval holds in line with it: Approved
// requests go on (signed and broadcast now), denied and expired ones are
// Rejected. It returns nil, nil for an approval that holds no request.
func (s *Service) settle(ctx context.Context, a policy.Approval) (*Request, error) {
	id, err := s.requestOfApproval(ctx, a.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	release, err := s.acquire(ctx, id)
	if err != nil {
		return nil, err
	}
	defer release()
	r, err := s.Request(ctx, id)
	if err != nil || r.Status != StatusPending {
		return r, err
	}
	return s.settleClaimed(ctx, r, a)
}

func (s *Service) settleClaimed(ctx context.Context, r *Request, a policy.Approval) (*Request, error) {
	details := map[string]any{"approvalId": a.ID, "approval": a.Status}
	var err error
	switch a.Status {
	case policy.ApprovalApproved:
		err = s.step(ctx, r, transition{status: StatusApproved, kind: "request.approved", event: "request.approved", details: details}, nil)
	case policy.ApprovalDenied:
		reasons := []string{"denied"}
		for _, d := range a.Decisions {
			if d.Vote == policy.VoteDenied {
				reasons = []string{fmt.Sprintf("denied by %s: %s", d.User, d.Reason)}
			}
		}
		return r, s.step(ctx, r, transition{status: StatusRejected, reasons: reasons, kind: "request.rejected", event: "request.rejected", details: details}, nil)
	case policy.ApprovalExpired:
		return r, s.step(ctx, r, transition{status: StatusRejected, reasons: []string{"approval expired"}, kind: "request.rejected", event: "request.rejected", details: details}, nil)
	default:
		return r, nil
	}
	if err != nil {
		return r, err
	}
	return s.advance(ctx, r)
}

func (s *Service) requestOfApproval(ctx context.Context, approvalID string) (string, error) {
	var id string
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(bucketApprovals, []byte(approvalID))
		id = string(b)
		return err
	})
	if err != nil {
		return "", notFound(err, ErrNotFound, approvalID)
	}
	return id, nil
}

// Poll does once what Run does every PollInterval: it expires overdue
// approvals, settles pending requests whose approval was decided (a decision
// recorded just before a crash), takes up requests a restart interrupted,
// re-broadcasts signed transactions and broadcast ones the network does not
// know (dropped from its pool), and checks broadcast ones for confirmation.
func (s *Service) Poll(ctx context.Context) error {
	if _, err := s.cfg.Policies.ExpireApprovals(ctx); err != nil {
		return fmt.Errorf("custody: expiring approvals: %w", err)
	}
	return s.Resume(ctx)
}

// Resume takes up every request that is not final. It is what Run does at
// start.
func (s *Service) Resume(ctx context.Context) error {
	ids, err := s.openRequests(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := s.resumeOne(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) resumeOne(ctx context.Context, id string) error {
	release, err := s.acquire(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	r, err := s.Request(ctx, id)
	if err != nil {
		return err
	}
	switch r.Status {
	case StatusPending:
		a, err := s.cfg.Policies.Approval(ctx, r.ApprovalID)
		if err != nil {
			return err
		}
		_, err = s.settleClaimed(ctx, r, a)
		return err
	case StatusBroadcasted:
		return s.track(ctx, r)
	}
	_, err = s.advance(ctx, r)
	return err
}

// track checks a broadcast transaction once.
func (s *Service) track(ctx context.Context, r *Request) error {
	chain, err := s.cfg.Chains.Chain(r.Network)
	if err != nil {
		return err
	}
	st, err := chain.Status(ctx, r.TxID)
	if err != nil {
		return fmt.Errorf("custody: status of %s: %w", r.TxID, err)
	}
	if st.State == chains.NotFound {
		// Dropped from the pool, or never received: sending the same
		// transaction again is harmless, and nothing else would.
		if err := chain.Broadcast(ctx, &chains.Signed{Network: r.Network, ID: r.TxID, Raw: r.Result}); err != nil {
			return fmt.Errorf("custody: broadcasting %s again: %w", r.ID, err)
		}
		return nil
	}
	details := map[string]any{"txId": r.TxID, "block": st.Block, "confirmations": st.Confirmations}
	set := func(n *Request) { n.Block, n.Confirmations = st.Block, st.Confirmations }
	switch {
	case st.State == chains.Included && st.Confirmations >= s.cfg.Confirmations:
		return s.step(ctx, r, transition{status: StatusConfirmed, kind: "request.confirmed", event: "request.confirmed", details: details}, set)
	case st.State == chains.Failed:
		return s.step(ctx, r, transition{status: StatusFailed, kind: "request.failed", event: "request.failed", details: details,
			reasons: []string{"the transaction was included but failed"}}, set)
	}
	return nil
}
