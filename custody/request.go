package custody

import (
	"math/big"
	"time"

	"github.com/cairn-mpc/cairn/chains"
)

// RequestKind says what a request asks for.
type RequestKind string

// The request kinds.
const (
	KindCreateWallet    RequestKind = "CreateWallet"
	KindTransfer        RequestKind = "Transfer"
	KindSignTransaction RequestKind = "SignTransaction"
	KindSignMessage     RequestKind = "SignMessage"
)

// Status is where a request stands. A request moves forward only:
//
//	Submitted → Pending → Approved → Signing → Signed → Broadcasted → Confirmed
//	              ↘ Rejected (blocked, denied, expired)         ↘ Failed
//
// Submitted and Approved are left at once on the normal path; a request
// found in them after a restart is taken up again (Resume). A request whose
// signing was interrupted (found in Signing) is not signed again, since a
// signature may already exist: it becomes Failed for an operator to look at.
//
// Signed and Broadcasted wait for the network: Poll sends the transaction
// again while the network does not know it. One the network refuses for
// good (its nonce or coins used by another transaction, say a caller-built
// one of the same wallet) stays where it is, retried and logged at every
// poll, until an operator looks at it: custody cannot tell such a refusal
// from a node that is down.
type Status string

// The statuses.
const (
	StatusSubmitted   Status = "Submitted"
	StatusPending     Status = "Pending"
	StatusApproved    Status = "Approved"
	StatusSigning     Status = "Signing"
	StatusSigned      Status = "Signed"
	StatusBroadcasted Status = "Broadcasted"
	StatusConfirmed   Status = "Confirmed"
	StatusCompleted   Status = "Completed" // a wallet created, a signature made without broadcast
	StatusRejected    Status = "Rejected"
	StatusFailed      Status = "Failed"
)

// Final reports whether s is a status a request never leaves.
func (s Status) Final() bool {
	switch s {
	case StatusConfirmed, StatusCompleted, StatusRejected, StatusFailed:
		return true
	}
	return false
}

// Request is one state-changing request and everything the path recorded
// about it. It holds nothing secret.
type Request struct {
	ID         string      `json:"id"`
	ExternalID string      `json:"externalId,omitempty"`
	Kind       RequestKind `json:"kind"`
	Initiator  string      `json:"initiator"`
	WalletID   string      `json:"walletId,omitempty"`
	Network    string      `json:"network"`
	Status     Status      `json:"status"`
	// Reasons say why a request was held, rejected or failed: the
	// triggered policies' reasons, a denial's reason, an error.
	Reasons []string `json:"reasons,omitempty"`
	// ApprovalID names the policy approval holding the request, if any.
	ApprovalID string `json:"approvalId,omitempty"`
	// Activity is what the chain adapter derived from the payload: what
	// policies judged.
	Activity *chains.Activity `json:"activity,omitempty"`
	// Body is the exact payload the initiator signed (the request as JSON).
	Body []byte `json:"body"`
	// Evidence is the initiator's signed user action (authn.Evidence,
	// binary).
	Evidence []byte `json:"evidence,omitempty"`
	// Unsigned is the chain's unsigned encoding of what is signed.
	Unsigned []byte `json:"unsigned,omitempty"`
	// Digests are what the wallet's key signs, in order.
	Digests []chains.Digest `json:"digests,omitempty"`
	// Signatures are the verified signatures, one per digest.
	Signatures [][]byte `json:"signatures,omitempty"`
	// Result is what the request produced: the signed transaction (raw),
	// or a message signature in the chain's format.
	Result []byte `json:"result,omitempty"`
	// TxID is the broadcast transaction's id.
	TxID string `json:"txId,omitempty"`
	// Block and Confirmations describe the including block once seen.
	Block         uint64    `json:"block,omitempty"`
	Confirmations uint64    `json:"confirmations,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`

	// bodyHash and tokenHash support idempotent retries; see Service.
	BodyHash  []byte `json:"bodyHash"`
	TokenHash []byte `json:"tokenHash,omitempty"`
}

// Amount returns the activity's amount, or nil when unknown.
func (r *Request) Amount() *big.Int {
	if r.Activity == nil || r.Activity.Amount == nil {
		return nil
	}
	return new(big.Int).Set(r.Activity.Amount)
}
