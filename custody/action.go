package custody

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/policy"
)

// Action is what a user signs to authorise one call: authn binds the
// operation, the resource and the SHA-256 of the exact payload into the
// challenge the user's credential signs (authn.Service.InitAction). Every
// request type below has an Action method that gives it; a client computes
// it the same way, signs it, and passes the resulting token with the call.
type Action struct {
	Operation string
	Resource  string
	Payload   []byte
}

// Limits on request fields, so that a request, its payload and its audit
// entry stay small.
const (
	maxName     = 256
	maxTags     = 32
	maxField    = 1024
	maxPayload  = 64 << 10
	maxMessages = 64 << 10
)

// CreateWalletRequest asks for a new wallet: a threshold key made by a DKG
// among the configured signers, and its address on Network.
type CreateWalletRequest struct {
	Network string   `json:"network"`
	Name    string   `json:"name"`
	Tags    []string `json:"tags,omitempty"`
	// Scheme chooses the key where the network takes several (Bitcoin:
	// chains.ECDSA for P2WPKH, the default, or chains.BIP340 for P2TR);
	// empty selects the network's default.
	Scheme chains.Scheme `json:"scheme,omitempty"`
	// ExternalID, if set, makes the call idempotent: the same id with the
	// same body returns the first request; with another body, ErrConflict.
	ExternalID string `json:"externalId,omitempty"`
}

// Action is what the initiator signs for r.
func (r CreateWalletRequest) Action() (Action, error) {
	return action(string(policy.OpWalletsCreate), "wallets", r)
}

func (r CreateWalletRequest) validate() error {
	if r.Network == "" || len(r.Network) > maxName {
		return fmt.Errorf("%w: network", ErrInvalid)
	}
	if r.Name == "" || len(r.Name) > maxName {
		return fmt.Errorf("%w: name must be 1 to %d bytes", ErrInvalid, maxName)
	}
	if len(r.Tags) > maxTags {
		return fmt.Errorf("%w: at most %d tags", ErrInvalid, maxTags)
	}
	for _, t := range r.Tags {
		if t == "" || len(t) > maxName {
			return fmt.Errorf("%w: tag %q", ErrInvalid, t)
		}
	}
	return checkExternalID(r.ExternalID)
}

// TransferRequest moves an asset out of a wallet.
type TransferRequest struct {
	WalletID string `json:"walletId"`
	// To is the recipient's address on the wallet's network.
	To string `json:"to"`
	// Asset is empty for the network's native asset, or a token the
	// network's adapter was configured with (symbol or contract/mint).
	Asset string `json:"asset,omitempty"`
	// Amount is in the asset's smallest unit (wei, satoshi, lamport).
	Amount     *big.Int `json:"amount"`
	Note       string   `json:"note,omitempty"`
	ExternalID string   `json:"externalId,omitempty"`
}

// Action is what the initiator signs for r.
func (r TransferRequest) Action() (Action, error) {
	return action(string(policy.OpWalletsTransfersCreate), walletResource(r.WalletID), r)
}

func (r TransferRequest) validate() error {
	if r.WalletID == "" || len(r.WalletID) > maxName {
		return fmt.Errorf("%w: wallet id", ErrInvalid)
	}
	if r.To == "" || len(r.To) > maxField {
		return fmt.Errorf("%w: recipient", ErrInvalid)
	}
	if len(r.Asset) > maxField || len(r.Note) > maxField {
		return fmt.Errorf("%w: asset or note too long", ErrInvalid)
	}
	if r.Amount == nil || r.Amount.Sign() <= 0 || r.Amount.BitLen() > 256 {
		return fmt.Errorf("%w: amount must be a positive integer of at most 256 bits", ErrInvalid)
	}
	return checkExternalID(r.ExternalID)
}

// SignTransactionRequest signs a transaction the caller built: its payload
// is the chain's own unsigned encoding (an EIP-2718 transaction with an
// empty signature, a BIP174 PSBT, a Solana message). The adapter decodes it
// to learn what it does, so policies judge the transaction itself, never a
// description of it.
type SignTransactionRequest struct {
	WalletID string `json:"walletId"`
	Payload  []byte `json:"payload"`
	// Broadcast sends the signed transaction and tracks it; otherwise the
	// request ends Signed, with the transaction in its result.
	Broadcast  bool   `json:"broadcast,omitempty"`
	Note       string `json:"note,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
}

// Action is what the initiator signs for r.
func (r SignTransactionRequest) Action() (Action, error) {
	return action(string(policy.OpWalletsSignaturesCreate), walletResource(r.WalletID), r)
}

func (r SignTransactionRequest) validate() error {
	if r.WalletID == "" || len(r.WalletID) > maxName {
		return fmt.Errorf("%w: wallet id", ErrInvalid)
	}
	if len(r.Payload) == 0 || len(r.Payload) > maxPayload {
		return fmt.Errorf("%w: payload must be 1 to %d bytes", ErrInvalid, maxPayload)
	}
	if len(r.Note) > maxField {
		return fmt.Errorf("%w: note too long", ErrInvalid)
	}
	return checkExternalID(r.ExternalID)
}

// Message formats for SignMessageRequest beyond the adapters' own
// (evm.PersonalMessage "eip191", evm.TypedData "eip712").
const (
	// FormatHash signs Data, a 32-byte digest (or an Ed25519 message), as
	// it is. Policies cannot know what it moves: value rules fail closed.
	FormatHash chains.MessageFormat = "hash"
)

// SignMessageRequest asks for a signature over a message or a raw hash.
type SignMessageRequest struct {
	WalletID   string               `json:"walletId"`
	Format     chains.MessageFormat `json:"format"`
	Data       []byte               `json:"data"`
	Note       string               `json:"note,omitempty"`
	ExternalID string               `json:"externalId,omitempty"`
}

// Action is what the initiator signs for r.
func (r SignMessageRequest) Action() (Action, error) {
	return action(string(policy.OpWalletsSignaturesCreate), walletResource(r.WalletID), r)
}

func (r SignMessageRequest) validate() error {
	if r.WalletID == "" || len(r.WalletID) > maxName {
		return fmt.Errorf("%w: wallet id", ErrInvalid)
	}
	if r.Format == "" || len(r.Format) > maxName {
		return fmt.Errorf("%w: format", ErrInvalid)
	}
	if len(r.Data) == 0 || len(r.Data) > maxMessages {
		return fmt.Errorf("%w: data must be 1 to %d bytes", ErrInvalid, maxMessages)
	}
	if len(r.Note) > maxField {
		return fmt.Errorf("%w: note too long", ErrInvalid)
	}
	return checkExternalID(r.ExternalID)
}

// DecisionRequest approves or denies a pending request's approval.
type DecisionRequest struct {
	ApprovalID string
	Reason     string
}

// Action is what the approver signs to vote on r: policy.DecisionAction's
// binding, so the evidence the policy engine stores verifies on its own.
func (r DecisionRequest) Action(vote policy.Vote) Action {
	return Action{
		Operation: policy.DecideOperation,
		Resource:  "approvals/" + r.ApprovalID,
		Payload:   policy.DecisionPayload(r.ApprovalID, vote, r.Reason),
	}
}

func walletResource(id string) string { return "wallets/" + id }

// action encodes body as the payload: JSON of the struct, which
// encoding/json writes deterministically (fields in declaration order).
func action(op, resource string, body any) (Action, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return Action{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return Action{Operation: op, Resource: resource, Payload: b}, nil
}

func checkExternalID(id string) error {
	if len(id) > maxName || strings.ContainsAny(id, "\x00") {
		return fmt.Errorf("%w: external id", ErrInvalid)
	}
	return nil
}
