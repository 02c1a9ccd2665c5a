package policy

import (
	"context"
	"crypto/sha256"
	"encoding/json"
)

// DecideOperation is the operation name of an approval decision, as bound
// into the signed user action that authorises it.
const DecideOperation = "Policies:Approvals:Decide"

// UserAction is what a user signs to authorise one state-changing call: the
// operation, the resource acted on, and the SHA-256 of the exact payload.
// It mirrors what authn's challenges bind, without importing authn.
type UserAction struct {
	Operation   string
	Resource    string
	PayloadHash [32]byte
}

// ActionVerifier checks signed user actions. authn provides one; the policy
// package only carries the evidence, opaque, and asks the verifier.
//
// VerifyAction returns nil only if evidence proves that identity signed
// action with one of its own, valid credentials. It must be able to verify
// the same evidence again later (offline, by each signer and by auditors),
// so the evidence is the signed assertion, not a single-use token. It must
// be safe for concurrent use.
//
// With authn, custody passes authn.Evidence.MarshalBinary as the evidence
// and verifies it by decoding it, checking that its principal is identity
// and that its binding's operation, resource and payload hash are action's,
// and calling Evidence.Verify with the credential's public key.
type ActionVerifier interface {
	VerifyAction(ctx context.Context, identity string, action UserAction, evidence []byte) error
}

// DecisionPayload is the exact payload a user signs to decide on an
// approval: canonical JSON {"approvalId":…,"value":…,"reason":…}. Clients
// compute it (or receive it as the request body) and sign its SHA-256 in a
// UserAction from DecisionAction.
func DecisionPayload(approvalID string, vote Vote, reason string) []byte {
	// Marshalling strings cannot fail (invalid UTF-8 becomes U+FFFD).
	b, _ := json.Marshal(struct {
		ApprovalID string `json:"approvalId"`
		Value      Vote   `json:"value"`
		Reason     string `json:"reason"`
	}{approvalID, vote, reason})
	return b
}

// DecisionAction is the user action that authorises a decision on an
// approval.
func DecisionAction(approvalID string, vote Vote, reason string) UserAction {
	return UserAction{
		Operation:   DecideOperation,
		Resource:    "approvals/" + approvalID,
		PayloadHash: sha256.Sum256(DecisionPayload(approvalID, vote, reason)),
	}
}
