package custody

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/custody/audit"
	"github.com/cairn-mpc/cairn/custody/events"
	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store"
)

// submission is one state-changing call entering the path.
type submission struct {
	kind       RequestKind
	action     Action
	op         policy.Operation
	externalID string
	// prepare checks the body against the world (the wallet, the chain)
	// and builds the request; its errors are the caller's bad input.
	prepare func(ctx context.Context, principal string) (*Request, error)
}

// submit walks a request through the path: user action → permission →
// payload and activity → stored → policy → (approval | signing → broadcast).
func (s *Service) submit(ctx context.Context, tok authn.Token, sub submission) (*Request, error) {
	bodyHash := hashOf(sub.action.Payload)
	tokenHash := hashOf([]byte(tok))
	if sub.externalID != "" {
		// A retry of the very call (same token, same body) is answered
		// without spending anything; possession of the token is the
		// authentication.
		if r, err := s.byExternalID(ctx, sub.kind, sub.externalID); err == nil &&
			subtle.ConstantTimeCompare(r.TokenHash, tokenHash) == 1 && bytes.Equal(r.BodyHash, bodyHash) {
			return r, nil
		}
	}
	v, err := s.authorize(ctx, tok, sub.action, sub.op)
	if err != nil {
		return nil, err
	}
	if sub.externalID != "" {
		if r, err := s.byExternalID(ctx, sub.kind, sub.externalID); err == nil {
			if !bytes.Equal(r.BodyHash, bodyHash) {
				return nil, &ConflictError{ExternalID: sub.externalID, RequestID: r.ID}
			}
			return r, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	r, err := sub.prepare(ctx, v.principal)
	if err != nil {
		s.auditRefusal(ctx, v.principal, sub.action, v.evidence, err)
		return nil, err
	}
	now := s.now().UTC()
	r.ID = s.newID("req")
	r.Kind, r.ExternalID, r.Initiator = sub.kind, sub.externalID, v.principal
	r.Body, r.Evidence, r.BodyHash, r.TokenHash = sub.action.Payload, v.evidence, bodyHash, tokenHash
	r.Status, r.CreatedAt, r.UpdatedAt = StatusSubmitted, now, now
	// Claimed before it is stored, so Run cannot take it up meanwhile.
	release, err := s.acquire(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	if err := s.create(ctx, r, v.evidence); err != nil {
		release()
		var dup duplicateError
		if errors.As(err, &dup) {
			// A concurrent call with the same body won: answer as a
			// retry would, once the winner has gone as far as it can.
			return s.settled(ctx, dup.id)
		}
		return nil, err
	}
	defer release()
	s.log.Info("custody: request submitted", "request", r.ID, "kind", r.Kind, "initiator", r.Initiator)
	return s.advance(ctx, r)
}

// duplicateError is create's answer to a request whose external id a
// concurrent request with the same body took first.
type duplicateError struct{ id string }

func (e duplicateError) Error() string { return "custody: external id taken by request " + e.id }

// settled returns request id once no one drives it.
func (s *Service) settled(ctx context.Context, id string) (*Request, error) {
	release, err := s.acquire(ctx, id)
	if err != nil {
		return nil, err
	}
	defer release()
	return s.Request(ctx, id)
}

// create stores a new request as its first step, with its indexes; a
// concurrent request with the same external id loses with ErrConflict, or
// with a duplicateError naming the winner, for the same body.
func (s *Service) create(ctx context.Context, r *Request, evidence []byte) error {
	return s.step(ctx, r, transition{
		status: StatusSubmitted, kind: "request.submitted", actor: r.Initiator, evidence: [][]byte{evidence}, event: "request.submitted",
		details: map[string]any{"kind": r.Kind, "walletId": r.WalletID, "network": r.Network, "activity": r.Activity},
		write: func(tx store.Tx) error {
			if r.ExternalID != "" {
				key := externalKey(r.Kind, r.ExternalID)
				if id, err := tx.Get(bucketExternal, key); err == nil {
					var first Request
					if err := getJSON(tx, bucketRequests, string(id), &first); err != nil {
						return err
					}
					if bytes.Equal(first.BodyHash, r.BodyHash) {
						return duplicateError{id: first.ID}
					}
					return &ConflictError{ExternalID: r.ExternalID, RequestID: first.ID}
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if err := tx.Put(bucketExternal, key, []byte(r.ID)); err != nil {
					return err
				}
			}
			return tx.Put(bucketOpen, []byte(r.ID), []byte{})
		},
	}, nil)
}

func externalKey(kind RequestKind, id string) []byte { return []byte(string(kind) + "\x00" + id) }

func (s *Service) byExternalID(ctx context.Context, kind RequestKind, ext string) (*Request, error) {
	var r Request
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		id, err := tx.Get(bucketExternal, externalKey(kind, ext))
		if err != nil {
			return err
		}
		return getJSON(tx, bucketRequests, string(id), &r)
	})
	if err != nil {
		return nil, notFound(err, ErrNotFound, ext)
	}
	return &r, nil
}

// transition is one step's outcome, stored with its audit entry and event
// in one transaction.
type transition struct {
	status   Status
	reasons  []string
	kind     string // audit kind, e.g. "request.pending"
	actor    string // default "system"
	evidence [][]byte
	details  map[string]any
	event    string // event type; "" for none
	// write, if set, stores what else the step produced, in its
	// transaction.
	write func(store.Tx) error
}

// step applies t to r and stores it; r is updated in place only once the
// transaction committed.
func (s *Service) step(ctx context.Context, r *Request, t transition, mutate func(*Request)) error {
	next := *r
	next.Status, next.UpdatedAt = t.status, s.now().UTC()
	if t.reasons != nil {
		next.Reasons = t.reasons
	}
	if mutate != nil {
		mutate(&next)
	}
	actor := t.actor
	if actor == "" {
		actor = "system"
	}
	if t.details == nil {
		t.details = map[string]any{}
	}
	t.details["status"] = next.Status
	if len(next.Reasons) > 0 {
		t.details["reasons"] = next.Reasons
	}
	details, err := json.Marshal(t.details)
	if err != nil {
		return err
	}
	var ev *events.Event
	if t.event != "" {
		data, err := json.Marshal(publicView(&next))
		if err != nil {
			return err
		}
		ev = &events.Event{ID: next.ID + "/" + string(next.Status), Type: t.event, Time: next.UpdatedAt, Subject: next.ID, Data: data}
	}
	err = s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if err := putJSON(tx, bucketRequests, next.ID, &next); err != nil {
			return err
		}
		if next.Status.Final() {
			if err := tx.Delete(bucketOpen, []byte(next.ID)); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if next.ApprovalID != "" && r.ApprovalID == "" {
			if err := tx.Put(bucketApprovals, []byte(next.ApprovalID), []byte(next.ID)); err != nil {
				return err
			}
		}
		if t.write != nil {
			if err := t.write(tx); err != nil {
				return err
			}
		}
		if _, err := s.audit.Append(ctx, tx, audit.Record{Kind: t.kind, Actor: actor, Subject: next.ID, Details: details, Evidence: t.evidence}); err != nil {
			return err
		}
		if ev != nil {
			return s.events.Enqueue(ctx, tx, *ev)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("custody: storing request %s as %s: %w", r.ID, t.status, err)
	}
	*r = next
	if ev != nil {
		s.events.Publish(*ev)
	}
	s.log.Info("custody: request", "request", r.ID, "status", r.Status)
	return nil
}

// publicView is a request as events carry it: without the initiator's
// evidence and the token hash.
func publicView(r *Request) *Request {
	v := *r
	v.Evidence, v.TokenHash = nil, nil
	return &v
}

// advance drives r as far as it can go now. The caller has claimed r.
func (s *Service) advance(ctx context.Context, r *Request) (*Request, error) {
	for {
		var err error
		switch r.Status {
		case StatusSubmitted:
			var a policy.Activity
			if a, err = s.activityOf(ctx, r); err == nil {
				err = s.evaluate(ctx, r, a)
			}
		case StatusApproved:
			err = s.executeInTurn(ctx, r)
		case StatusSigning:
			// Only a restart finds a request here: a signature may exist
			// already, and a second one could be a second spend.
			err = s.step(ctx, r, transition{
				status: StatusFailed, kind: "request.failed", event: "request.failed",
				reasons: []string{"signing was interrupted; it is not retried, since a signature may already exist"},
			}, nil)
		case StatusSigned:
			err = s.broadcast(ctx, r)
		default: // Pending, Broadcasted and the final statuses wait for the world.
			return r, nil
		}
		if err != nil {
			return r, err
		}
	}
}

// executeInTurn executes r; a transfer takes its wallet's turn from the
// moment its transaction is built until it is broadcast, so that two
// transfers of one wallet are never built on the same nonce or coins.
func (s *Service) executeInTurn(ctx context.Context, r *Request) error {
	if r.Kind != KindTransfer {
		return s.execute(ctx, r)
	}
	release, err := s.acquire(ctx, "wallet\x00"+r.WalletID)
	if err != nil {
		return err
	}
	defer release()
	if err := s.execute(ctx, r); err != nil || r.Status != StatusSigned {
		return err
	}
	return s.broadcast(ctx, r)
}

// evaluate submits the activity to the policy engine and stores the
// outcome: Rejected with the reasons, Pending on an approval, or Approved.
func (s *Service) evaluate(ctx context.Context, r *Request, a policy.Activity) error {
	d, err := s.cfg.Policies.Submit(ctx, a)
	if err != nil {
		return fmt.Errorf("custody: policy evaluation of %s: %w", r.ID, err)
	}
	var reasons []string
	for _, e := range d.Evaluations {
		if e.Triggered {
			reasons = append(reasons, e.PolicyName+": "+e.Reason)
		}
	}
	details := map[string]any{"outcome": d.Outcome, "evaluations": d.Evaluations}
	switch d.Outcome {
	case policy.OutcomeBlock:
		return s.step(ctx, r, transition{status: StatusRejected, reasons: reasons, kind: "policy.blocked", details: details, event: "request.rejected"}, nil)
	case policy.OutcomeRequireApproval:
		id := d.Approval.ID
		details["approvalId"] = id
		return s.step(ctx, r, transition{status: StatusPending, reasons: reasons, kind: "policy.approval_required", details: details, event: "request.pending"},
			func(n *Request) { n.ApprovalID = id })
	case policy.OutcomeAllow:
		return s.step(ctx, r, transition{status: StatusApproved, kind: "policy.allowed", details: details, event: "request.approved"}, nil)
	}
	return fmt.Errorf("custody: policy outcome %q", d.Outcome)
}
