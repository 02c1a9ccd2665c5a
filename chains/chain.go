package chains

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
)

// Chain is one network's adapter. Implementations are safe for concurrent
// use.
type Chain interface {
	// Network describes the network the adapter serves.
	Network() Network

	// Address returns the address that key controls on this network. The
	// key's scheme selects the address type where a chain has several
	// (Bitcoin: ECDSA is P2WPKH, BIP340 is P2TR). It fails with
	// ErrInvalidKey for a key this chain cannot use.
	Address(key PublicKey) (string, error)

	// ValidateAddress checks that addr is a well-formed address of this
	// network; it fails with an error matching ErrInvalidAddress.
	ValidateAddress(addr string) error

	// Transfer builds an unsigned transaction moving t.Amount of t.Asset
	// from the address of t.From to t.To, with nonce, fees or inputs taken
	// from the adapter's client. Every check on the intent (addresses,
	// amount, balance, asset) happens here.
	Transfer(ctx context.Context, t Transfer) (*Unsigned, error)

	// Decode derives the Activity and Digests of an unsigned transaction
	// from its payload alone, as signed by key. It needs no client. It
	// fails with ErrInvalidPayload for bytes that are not such a
	// transaction, and with ErrUnsupported for a valid transaction that is
	// not a transfer this adapter can describe.
	Decode(key PublicKey, payload []byte) (*Unsigned, error)

	// Attach checks one signature per digest of u (in order) against u.Key
	// and returns the signed transaction. It decodes u.Payload again and
	// fails with ErrMismatch if u.Digests are not the payload's.
	Attach(u *Unsigned, sigs [][]byte) (*Signed, error)

	// Broadcast sends a signed transaction through the adapter's client.
	// Sending the same transaction twice is not an error where the chain
	// can tell.
	Broadcast(ctx context.Context, tx *Signed) error

	// Status reports where a transaction stands.
	Status(ctx context.Context, id string) (Status, error)
}

// Messages is implemented by adapters of chains that have a message-signing
// format (EIP-191, EIP-712, …).
type Messages interface {
	// PrepareMessage returns the digest key must sign for data in the
	// named format. It fails with ErrUnsupported for an unknown format and
	// ErrInvalidPayload for data the format cannot hold.
	PrepareMessage(key PublicKey, format MessageFormat, data []byte) (*UnsignedMessage, error)
	// AttachMessage checks sig over m and returns it encoded as the chain's
	// wallets present it.
	AttachMessage(m *UnsignedMessage, sig []byte) ([]byte, error)
}

// Family names a kind of chain: one adapter package serves each.
type Family string

// The families with adapters.
const (
	EVM     Family = "evm"
	Bitcoin Family = "bitcoin"
	Solana  Family = "solana"
)

// Network describes one network.
type Network struct {
	// Name is unique in a Registry, e.g. "Ethereum", "Bitcoin Testnet".
	Name   string
	Family Family
	// ChainID identifies the network within its family: the EIP-155 chain
	// id in decimal for EVM networks, the chain's name for Bitcoin
	// ("mainnet", "testnet3", "signet", "regtest"), the cluster for Solana.
	ChainID string
	// Native is the asset fees are paid in.
	Native Asset
	// Testnet is true for networks whose coins have no value.
	Testnet bool
}

// Asset is a coin or token.
type Asset struct {
	// Symbol is the name a price source knows, e.g. "ETH", "USDC".
	Symbol string
	// Decimals is the number of decimal places of the smallest unit: 18 for
	// ether, 8 for bitcoin, 9 for SOL.
	Decimals uint8
	// ID is the token's address on its chain (ERC-20 contract, SPL mint),
	// or empty for the native asset.
	ID string
}

// IsNative reports whether a is a network's native asset.
func (a Asset) IsNative() bool { return a.ID == "" }

// Scheme names a signature scheme.
type Scheme string

// The schemes the adapters ask for. The names match the mpc package's.
const (
	// ECDSA over secp256k1: EVM, Bitcoin P2WPKH.
	ECDSA Scheme = "ecdsa-secp256k1"
	// BIP340 Schnorr over secp256k1: Bitcoin P2TR.
	BIP340 Scheme = "bip340"
	// Ed25519 (RFC 8032): Solana.
	Ed25519 Scheme = "ed25519"
)

// PublicKey is a wallet's public key.
type PublicKey struct {
	Scheme Scheme
	// Bytes is the key's encoding: for ECDSA 33-byte compressed SEC1 (65
	// bytes uncompressed is accepted), for BIP340 the 32-byte x-only key
	// (33-byte compressed is accepted), for Ed25519 32 bytes.
	Bytes []byte
}

// Equal reports whether k and o are the same key encoding under the same
// scheme.
func (k PublicKey) Equal(o PublicKey) bool {
	return k.Scheme == o.Scheme && bytes.Equal(k.Bytes, o.Bytes)
}

// Transfer is the intent to move an asset.
type Transfer struct {
	// From is the key of the wallet paying; its address is the sender.
	From PublicKey
	// To is the recipient's address.
	To string
	// Asset is empty for the network's native asset, or names a token the
	// adapter was configured with, by symbol or by ID (contract or mint
	// address). Anything else fails with ErrUnknownAsset.
	Asset string
	// Amount is in the asset's smallest unit and must be positive.
	Amount *big.Int
}

// ActivityKind says what an Activity does.
type ActivityKind string

// The kinds of activity adapters describe.
const (
	KindTransfer ActivityKind = "transfer"
	KindMessage  ActivityKind = "message"
)

// Activity is what a policy engine needs to judge a transaction, derived
// from the transaction itself.
type Activity struct {
	Kind    ActivityKind
	Network string
	// From is the paying address.
	From string
	// Recipient is the address the asset goes to, in the chain's canonical
	// form (EIP-55 for EVM, lower-case bech32 for Bitcoin, base58 for
	// Solana): the wallet owner, not a token account or contract.
	Recipient string
	Asset     Asset
	// Amount is in Asset's smallest unit.
	Amount *big.Int
	// Fee is the most the network fee can come to, in the native asset's
	// smallest unit: gas limit × fee cap on EVM, the exact fee on Bitcoin,
	// the signature fee on Solana.
	Fee *big.Int
}

// Digest is one thing to sign.
type Digest struct {
	Scheme Scheme
	// Bytes is the 32-byte hash for ECDSA and BIP340, the message itself
	// for Ed25519.
	Bytes []byte
	// Taproot, for BIP340, asks for a signature under the BIP341 output key
	// tweaked from the wallet's key (nil: the key itself).
	Taproot *Taproot
}

// Taproot describes a BIP341 key-path tweak.
type Taproot struct {
	// MerkleRoot is the 32-byte script tree root, or empty for an output
	// with no script path (BIP86).
	MerkleRoot []byte
}

// Equal reports whether d and o ask for the same signature.
func (d Digest) Equal(o Digest) bool {
	if d.Scheme != o.Scheme || !bytes.Equal(d.Bytes, o.Bytes) || (d.Taproot == nil) != (o.Taproot == nil) {
		return false
	}
	return d.Taproot == nil || bytes.Equal(d.Taproot.MerkleRoot, o.Taproot.MerkleRoot)
}

// Unsigned is a transaction waiting for signatures.
type Unsigned struct {
	Network string
	// Key is the wallet key that must sign every digest.
	Key PublicKey
	// Payload is the chain's own encoding of the unsigned transaction: an
	// EIP-2718 transaction with an empty signature (EVM), a BIP174 PSBT
	// (Bitcoin), a transaction message (Solana).
	Payload  []byte
	Activity Activity
	// Digests are what Key must sign, in the order Attach takes the
	// signatures.
	Digests []Digest
}

// Signed is a transaction ready to broadcast.
type Signed struct {
	Network string
	// ID is the transaction's id as explorers show it: the 0x-prefixed hash
	// (EVM), the txid (Bitcoin), the first signature in base58 (Solana).
	ID string
	// Raw is the transaction as the network takes it.
	Raw []byte
}

// MessageFormat names a message-signing format.
type MessageFormat string

// UnsignedMessage is a message waiting for its signature.
type UnsignedMessage struct {
	Network string
	Key     PublicKey
	Format  MessageFormat
	// Data is the message as the caller gave it.
	Data   []byte
	Digest Digest
}

// State is where a transaction stands.
type State int

// The states of a transaction.
const (
	// NotFound: the network does not know the transaction (not yet seen,
	// or dropped).
	NotFound State = iota
	// Pending: seen but not in a block.
	Pending
	// Included: in a block and successful (see Confirmations).
	Included
	// Failed: in a block but it failed (an EVM revert, a Solana
	// instruction error); fees were still paid.
	Failed
)

func (s State) String() string {
	switch s {
	case NotFound:
		return "not found"
	case Pending:
		return "pending"
	case Included:
		return "included"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Status is a transaction's state.
type Status struct {
	State State
	// Confirmations counts the blocks from the one including the
	// transaction to the tip, that one included; zero unless Included or
	// Failed.
	Confirmations uint64
	// Block is the including block's height, if any.
	Block uint64
}

// Signer signs digests with one key. A threshold key's coordinator and, in
// tests, a plain key both implement it.
type Signer interface {
	// Sign returns the signature of d in the form its Scheme asks for (see
	// the package doc).
	Sign(ctx context.Context, d Digest) ([]byte, error)
}

// SignAll has s sign every digest of u, in order.
func SignAll(ctx context.Context, s Signer, u *Unsigned) ([][]byte, error) {
	sigs := make([][]byte, len(u.Digests))
	for i, d := range u.Digests {
		sig, err := s.Sign(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("chains: signing digest %d of %d: %w", i+1, len(u.Digests), err)
		}
		sigs[i] = sig
	}
	return sigs, nil
}

// CheckDigests reports ErrMismatch unless got and want ask for the same
// signatures in the same order. Adapters call it in Attach.
func CheckDigests(got, want []Digest) error {
	if len(got) != len(want) {
		return fmt.Errorf("%w: %d digests, the payload has %d", ErrMismatch, len(got), len(want))
	}
	for i := range got {
		if !got[i].Equal(want[i]) {
			return fmt.Errorf("%w: digest %d differs from the payload's", ErrMismatch, i+1)
		}
	}
	return nil
}

// CheckAmount reports ErrInvalidAmount unless a is positive.
func CheckAmount(a *big.Int) error {
	if a == nil || a.Sign() <= 0 {
		return fmt.Errorf("%w: %v is not positive", ErrInvalidAmount, a)
	}
	return nil
}
