package evm

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/cairn-mpc/cairn/chains"
)

// ParseAddress parses a 0x-prefixed hex address. An address in mixed case
// must carry a valid EIP-55 checksum; one in a single case has none to
// check. The zero address is refused: nothing sent there can be spent.
// Errors are *chains.AddressError; network names the network in them.
func ParseAddress(network, s string) (common.Address, error) {
	bad := func(reason string) (common.Address, error) {
		return common.Address{}, &chains.AddressError{Network: network, Address: s, Reason: reason}
	}
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return bad("missing 0x prefix")
	}
	h := s[2:]
	if len(h) != 2*common.AddressLength {
		return bad(fmt.Sprintf("wrong length: %d hex digits, want %d", len(h), 2*common.AddressLength))
	}
	raw, err := hex.DecodeString(h)
	if err != nil {
		return bad("not hexadecimal")
	}
	a := common.BytesToAddress(raw)
	if h != strings.ToLower(h) && h != strings.ToUpper(h) && a.Hex()[2:] != h {
		return bad("bad EIP-55 checksum")
	}
	if a == (common.Address{}) {
		return bad("zero address")
	}
	return a, nil
}

// AddressOf returns the address of an ECDSA public key (33-byte compressed
// or 65-byte uncompressed SEC1).
func AddressOf(key chains.PublicKey) (common.Address, error) {
	if key.Scheme != chains.ECDSA {
		return common.Address{}, fmt.Errorf("%w: EVM needs an %s key, not %q", chains.ErrInvalidKey, chains.ECDSA, key.Scheme)
	}
	switch len(key.Bytes) {
	case 33:
		pub, err := crypto.DecompressPubkey(key.Bytes)
		if err != nil {
			return common.Address{}, fmt.Errorf("%w: %v", chains.ErrInvalidKey, err)
		}
		return crypto.PubkeyToAddress(*pub), nil
	case 65:
		pub, err := crypto.UnmarshalPubkey(key.Bytes)
		if err != nil {
			return common.Address{}, fmt.Errorf("%w: %v", chains.ErrInvalidKey, err)
		}
		return crypto.PubkeyToAddress(*pub), nil
	}
	return common.Address{}, fmt.Errorf("%w: %d-byte secp256k1 key, want 33 or 65", chains.ErrInvalidKey, len(key.Bytes))
}
