package chains

import (
	"errors"
	"fmt"
	"math/big"
)

// Errors adapters return, matched with errors.Is. Each is wrapped with the
// detail of the case.
var (
	// ErrInvalidAddress: a malformed address, a wrong checksum, length or
	// network. Returned as an *AddressError.
	ErrInvalidAddress = errors.New("chains: invalid address")
	// ErrInvalidAmount: an amount that is missing, not positive, or too
	// large for the chain to carry.
	ErrInvalidAmount = errors.New("chains: invalid amount")
	// ErrInsufficientFunds: the wallet cannot pay the amount and the fee.
	// Returned as an *InsufficientFundsError.
	ErrInsufficientFunds = errors.New("chains: insufficient funds")
	// ErrUnknownAsset: a token the adapter was not configured with.
	ErrUnknownAsset = errors.New("chains: unknown asset")
	// ErrInvalidKey: a public key of a scheme or encoding the chain cannot
	// use.
	ErrInvalidKey = errors.New("chains: invalid public key")
	// ErrInvalidSignature: a signature of the wrong length or kind, or one
	// that does not verify under the wallet's key.
	ErrInvalidSignature = errors.New("chains: invalid signature")
	// ErrInvalidPayload: bytes that do not decode as an unsigned
	// transaction or message of the chain.
	ErrInvalidPayload = errors.New("chains: invalid payload")
	// ErrMismatch: digests, key or network that are not those of the
	// payload, or a client on another network than the adapter's.
	ErrMismatch = errors.New("chains: mismatch")
	// ErrUnsupported: something valid on the chain that the adapter does
	// not handle (a contract call, several recipients, a message format).
	ErrUnsupported = errors.New("chains: unsupported")
	// ErrUnknownNetwork: no adapter for the network's name.
	ErrUnknownNetwork = errors.New("chains: unknown network")
	// ErrFailed: a transaction was included but failed.
	ErrFailed = errors.New("chains: transaction failed")
	// ErrNoClient: the adapter was built without the client the call
	// needs.
	ErrNoClient = errors.New("chains: no client")
)

// AddressError describes an address that was refused.
type AddressError struct {
	Network string
	Address string
	Reason  string // e.g. "bad checksum", "wrong network", "wrong length"
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("chains: invalid %s address %q: %s", e.Network, e.Address, e.Reason)
}

// Unwrap makes an AddressError match ErrInvalidAddress.
func (e *AddressError) Unwrap() error { return ErrInvalidAddress }

// InsufficientFundsError says what a transfer needed and what the wallet
// holds, in Asset's smallest unit.
type InsufficientFundsError struct {
	Asset string
	Need  *big.Int
	Have  *big.Int
}

func (e *InsufficientFundsError) Error() string {
	return fmt.Sprintf("chains: insufficient funds: need %v %s, have %v", e.Need, e.Asset, e.Have)
}

// Unwrap makes an InsufficientFundsError match ErrInsufficientFunds.
func (e *InsufficientFundsError) Unwrap() error { return ErrInsufficientFunds }
