package solana

import (
	"crypto/ed25519"
	"fmt"

	"github.com/gagliardetto/solana-go"
	"github.com/mr-tron/base58"

	"github.com/cairn-mpc/cairn/chains"
)

// ParseAddress decodes a base58 account address: 32 bytes. Solana
// addresses carry no checksum and no network. Errors are
// *chains.AddressError; network names the network in them.
func ParseAddress(network, s string) (solana.PublicKey, error) {
	bad := func(reason string) (solana.PublicKey, error) {
		return solana.PublicKey{}, &chains.AddressError{Network: network, Address: s, Reason: reason}
	}
	if s == "" || len(s) > 44 {
		return bad("wrong length")
	}
	b, err := base58.Decode(s)
	if err != nil {
		return bad("not base58")
	}
	if len(b) != solana.PublicKeyLength {
		return bad(fmt.Sprintf("wrong length: %d bytes, want %d", len(b), solana.PublicKeyLength))
	}
	pk := solana.PublicKeyFromBytes(b)
	if pk.String() != s {
		return bad("not in canonical base58")
	}
	return pk, nil
}

// walletKey returns the account of an Ed25519 key.
func walletKey(key chains.PublicKey) (solana.PublicKey, error) {
	if key.Scheme != chains.Ed25519 {
		return solana.PublicKey{}, fmt.Errorf("%w: Solana needs an %s key, not %q", chains.ErrInvalidKey, chains.Ed25519, key.Scheme)
	}
	if len(key.Bytes) != ed25519.PublicKeySize {
		return solana.PublicKey{}, fmt.Errorf("%w: Ed25519 key of %d bytes", chains.ErrInvalidKey, len(key.Bytes))
	}
	pk := solana.PublicKeyFromBytes(key.Bytes)
	if !pk.IsOnCurve() {
		return solana.PublicKey{}, fmt.Errorf("%w: not a point on Ed25519", chains.ErrInvalidKey)
	}
	return pk, nil
}
