// Package custody is what an integrator embeds: wallets whose keys are
// threshold keys held by MPC signers, and the request path that every
// state-changing call walks, in this order:
//
//	user action (authn) → permission (policy RBAC) → chain payload and
//	normalised activity (chains) → policies → approvals → signers (mpc) →
//	broadcast → confirmation
//
// # Calls
//
// Every state-changing call carries the token of a user action: the
// caller's credential (a passkey, a key) signed the call's Action — its
// operation, its resource and the SHA-256 of the exact request body — and
// authn turned the assertion into a single-use token:
//
//	req := custody.TransferRequest{WalletID: w.ID, To: addr, Amount: amount}
//	act, _ := req.Action()
//	ch, _ := authnSvc.InitAction(ctx, user, act.Operation, act.Resource, act.Payload)
//	tok, _, _ := authnSvc.CompleteAction(ctx, ch.ID, assertion) // the client signed ch
//	r, err := svc.Transfer(ctx, tok, req)
//
// Reads (Wallet, Wallets, Request, Requests, AuditLog) change nothing and
// take no token: they are the embedding service's, which decides who may
// see what (authn sessions and policy.Engine.Check with Wallets:Read or
// Audit:Read serve for that).
//
// A Request records every step: Submitted, then Rejected (a Block policy,
// with the policies' reasons), Pending (an approval; Approve and Deny are
// themselves signed actions), or Approved; then Signing, Signed, Broadcasted
// and Confirmed (Run, or Poll, tracks the chain), or Failed. Each step is
// stored with its audit entry and its event in one store transaction, so a
// restart loses nothing: Resume (which Run calls) takes up every request
// that is not final. A request is signed at most once: Signing is stored
// before the signers are asked, and a request a crash left in Signing is
// failed, not signed again, since a second signature could be a second
// spend.
//
// ExternalID makes a call idempotent: the same id with the same body
// returns the first request (a retry with the same token spends nothing);
// another body is a *ConflictError. External ids are one namespace per
// request kind, shared by all users: a user allowed to make the call who
// signs the very same body under another user's external id is given that
// user's request.
//
// # Audit, events
//
// The audit log (package custody/audit) is append-only and hash-chained;
// each entry of a user's action holds the signed evidence, so
// VerifyAuditLog checks the chain and every signature offline. Events go to
// in-process subscribers and to webhooks signed with HMAC-SHA256, retried
// with back-off and persisted until delivered (package custody/events).
//
// # Signers check the evidence
//
// Every signing request carries a SigningEvidence: the initiator's signed
// action and the request body it covers, the unsigned transaction, and the
// approval's id. A signer configured with an EvidenceGate re-derives what it
// is asked to sign from that evidence, re-checks the policies and the
// approval against its own sources, and refuses otherwise, so a compromised
// coordinator alone obtains no signature.
//
// Package custody/custodytest builds all of this in memory for tests.
package custody
