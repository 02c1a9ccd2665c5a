package policy

import (
	"fmt"
	"math/big"
	"slices"
)

// ActivityKind is the kind of thing a principal asks for. Policies apply to
// one kind.
type ActivityKind string

// The activity kinds.
const (
	// WalletsSign covers transfers, transaction signing and raw signature
	// requests. It is the only kind the transaction rules apply to, and the
	// only kind recorded in the velocity history.
	WalletsSign       ActivityKind = "Wallets:Sign"
	WalletsCreate     ActivityKind = "Wallets:Create"
	KeysExport        ActivityKind = "Keys:Export"
	KeysImport        ActivityKind = "Keys:Import"
	PermissionsAssign ActivityKind = "Permissions:Assign"
	PermissionsModify ActivityKind = "Permissions:Modify"
	PoliciesModify    ActivityKind = "Policies:Modify"
	AddressesModify   ActivityKind = "Addresses:Modify"
)

var activityKinds = []ActivityKind{
	WalletsSign, WalletsCreate, KeysExport, KeysImport,
	PermissionsAssign, PermissionsModify, PoliciesModify, AddressesModify,
}

// isChange reports whether k is the kind of a change request, which never
// concerns a wallet.
func (k ActivityKind) isChange() bool {
	return k == PoliciesModify || k == PermissionsModify || k == PermissionsAssign
}

// Valid reports whether k is one of the kinds above.
func (k ActivityKind) Valid() bool { return slices.Contains(activityKinds, k) }

// PayloadKind says what a Wallets:Sign activity asks to sign, and so how much
// of it the engine can know.
type PayloadKind string

const (
	// PayloadTransfer is a structured transfer: amount and recipient are
	// known.
	PayloadTransfer PayloadKind = "Transfer"
	// PayloadTransaction is a serialized transaction; amount and recipient
	// are known only if the caller parsed them.
	PayloadTransaction PayloadKind = "Transaction"
	// PayloadHash is a raw hash: nothing about value or recipient can be
	// known, whatever Amount and Recipient say, so value and recipient rules
	// trigger.
	PayloadHash PayloadKind = "Hash"
)

// Size limits of an activity, enforced by Evaluate and Submit. They bound
// what an Expression rule can be made to iterate over.
const (
	// MaxActivityField is the longest string field, in bytes.
	MaxActivityField = 1024
	// MaxWalletTags is the most wallet tags.
	MaxWalletTags = 64
)

// Activity is the normalised request the engine evaluates. It knows nothing
// of MPC or chains.
type Activity struct {
	// ID is the caller's identifier of the activity (a transfer id, a change
	// id). Optional; kept with approvals and history for audit. Recheck
	// recognises a recorded activity by it, so give each activity its own.
	ID string
	// Kind is required.
	Kind ActivityKind
	// Initiator is the identity asking; required.
	Initiator string
	// WalletID and WalletTags describe the wallet acted on. WalletID is
	// required for Wallets:Sign.
	WalletID   string
	WalletTags []string
	// Network is the chain's network name, e.g. "Ethereum".
	Network string
	// Asset names what moves, as the PriceSource knows it, e.g. "ETH".
	Asset string
	// Amount is in the asset's smallest unit (wei, satoshi, lamport). Nil
	// means unknown; it must not be negative.
	Amount *big.Int
	// Recipient is the destination address, compared exactly; "" means
	// unknown.
	Recipient string
	// Payload is what a Wallets:Sign activity signs.
	Payload PayloadKind
}

// amountKnown reports whether the amount can be trusted for value rules.
func (a *Activity) amountKnown() bool {
	return a.Payload != PayloadHash && a.Amount != nil
}

// recipientKnown reports whether the recipient can be trusted for the
// whitelist rule.
func (a *Activity) recipientKnown() bool {
	return a.Payload != PayloadHash && a.Recipient != ""
}

// validate checks what evaluation relies on.
func (a *Activity) validate() error {
	switch {
	case !a.Kind.Valid():
		return invalid("Activity.Kind", "unknown activity kind %q", a.Kind)
	case a.Initiator == "":
		return invalid("Activity.Initiator", "is empty")
	case a.Kind == WalletsSign && a.WalletID == "":
		return invalid("Activity.WalletID", "is empty for %s", WalletsSign)
	case a.Amount != nil && a.Amount.Sign() < 0:
		return invalid("Activity.Amount", "is negative")
	}
	if len(a.WalletTags) > MaxWalletTags {
		return invalid("Activity.WalletTags", "has %d tags, more than %d", len(a.WalletTags), MaxWalletTags)
	}
	for _, f := range [...]struct{ name, v string }{
		{"ID", a.ID}, {"Initiator", a.Initiator}, {"WalletID", a.WalletID},
		{"Network", a.Network}, {"Asset", a.Asset}, {"Recipient", a.Recipient},
	} {
		if len(f.v) > MaxActivityField {
			return invalid("Activity."+f.name, "is longer than %d bytes", MaxActivityField)
		}
	}
	for i, t := range a.WalletTags {
		if len(t) > MaxActivityField {
			return invalid(fmt.Sprintf("Activity.WalletTags[%d]", i), "is longer than %d bytes", MaxActivityField)
		}
	}
	switch a.Payload {
	case "", PayloadTransfer, PayloadTransaction, PayloadHash:
	default:
		return invalid("Activity.Payload", "unknown payload kind %q", a.Payload)
	}
	return nil
}

// clone returns a deep copy, so a stored or returned Activity shares nothing
// with the caller's.
func (a Activity) clone() Activity {
	a.WalletTags = slices.Clone(a.WalletTags)
	if a.Amount != nil {
		a.Amount = new(big.Int).Set(a.Amount)
	}
	return a
}
