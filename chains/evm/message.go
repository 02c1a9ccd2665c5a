package evm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/cairn-mpc/cairn/chains"
)

// The message formats of chains.Messages on EVM networks.
const (
	// PersonalMessage is EIP-191 version 0x45 (personal_sign): the data is
	// the message as bytes.
	PersonalMessage chains.MessageFormat = "eip191"
	// TypedData is EIP-712 (eth_signTypedData_v4): the data is the JSON of
	// the typed data (types, primaryType, domain, message).
	TypedData chains.MessageFormat = "eip712"
)

// secp256k1N and secp256k1HalfN bound signature scalars.
var (
	secp256k1N     = crypto.S256().Params().N
	secp256k1HalfN = new(big.Int).Rsh(secp256k1N, 1)
)

// NormalizeSignature checks a 65-byte R‖S‖V signature and returns it with
// V as the recovery id (0 or 1) and S in the lower half of the group order
// (flipping V when S is replaced by N−S), as Ethereum transactions require.
// It fails with chains.ErrInvalidSignature for any other length, a V other
// than 0, 1, 27 or 28, or R or S out of range.
func NormalizeSignature(sig []byte) ([]byte, error) {
	if len(sig) != crypto.SignatureLength {
		return nil, fmt.Errorf("%w: %d bytes, want %d (R‖S‖V)", chains.ErrInvalidSignature, len(sig), crypto.SignatureLength)
	}
	v := sig[64]
	if v == 27 || v == 28 {
		v -= 27
	}
	if v > 1 {
		return nil, fmt.Errorf("%w: recovery id %d", chains.ErrInvalidSignature, sig[64])
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64])
	if r.Sign() == 0 || s.Sign() == 0 || r.Cmp(secp256k1N) >= 0 || s.Cmp(secp256k1N) >= 0 {
		return nil, fmt.Errorf("%w: R or S out of range", chains.ErrInvalidSignature)
	}
	out := make([]byte, 65)
	copy(out, sig[:32])
	if s.Cmp(secp256k1HalfN) > 0 {
		s.Sub(secp256k1N, s)
		v ^= 1
	}
	s.FillBytes(out[32:64])
	out[64] = v
	return out, nil
}

// PersonalMessageHash is the EIP-191 (version 0x45) hash of msg:
// keccak256("\x19Ethereum Signed Message:\n" ‖ len(msg) ‖ msg).
func PersonalMessageHash(msg []byte) []byte { return accounts.TextHash(msg) }

// MaxTypedData bounds the JSON TypedDataHash accepts.
const MaxTypedData = 1 << 20

// TypedDataHash parses EIP-712 typed data from JSON (at most MaxTypedData
// bytes, no unknown fields) and returns its hash,
// keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(message)).
func TypedDataHash(data []byte) ([]byte, *apitypes.TypedData, error) {
	if len(data) > MaxTypedData {
		return nil, nil, fmt.Errorf("%w: EIP-712 JSON of %d bytes, limit %d", chains.ErrInvalidPayload, len(data), MaxTypedData)
	}
	var td apitypes.TypedData
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&td); err != nil {
		return nil, nil, fmt.Errorf("%w: EIP-712 JSON: %v", chains.ErrInvalidPayload, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: EIP-712 JSON: trailing data", chains.ErrInvalidPayload)
	}
	if _, ok := td.Types["EIP712Domain"]; !ok {
		return nil, nil, fmt.Errorf("%w: EIP-712 types lack EIP712Domain", chains.ErrInvalidPayload)
	}
	h, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: EIP-712: %v", chains.ErrInvalidPayload, err)
	}
	return h, &td, nil
}

// PrepareMessage implements chains.Messages for PersonalMessage and
// TypedData. Typed data whose domain names a chain id must name this
// network's.
func (c *Chain) PrepareMessage(key chains.PublicKey, format chains.MessageFormat, data []byte) (*chains.UnsignedMessage, error) {
	if _, err := AddressOf(key); err != nil {
		return nil, err
	}
	var h []byte
	switch format {
	case PersonalMessage:
		h = PersonalMessageHash(data)
	case TypedData:
		var td *apitypes.TypedData
		var err error
		if h, td, err = TypedDataHash(data); err != nil {
			return nil, err
		}
		if id := td.Domain.ChainId; id != nil && (*big.Int)(id).Cmp(c.chainID) != 0 {
			return nil, fmt.Errorf("%w: typed data for chain %v, adapter for %v (%s)", chains.ErrMismatch, (*big.Int)(id), c.chainID, c.net.Name)
		}
	default:
		return nil, fmt.Errorf("%w: message format %q", chains.ErrUnsupported, format)
	}
	return &chains.UnsignedMessage{
		Network: c.net.Name,
		Key:     chains.PublicKey{Scheme: key.Scheme, Bytes: bytes.Clone(key.Bytes)},
		Format:  format,
		Data:    bytes.Clone(data),
		Digest:  chains.Digest{Scheme: chains.ECDSA, Bytes: h},
	}, nil
}

// AttachMessage implements chains.Messages: it checks that sig (65 bytes
// R‖S‖V) recovers to the key's address over m, derived again from m.Data,
// and returns it as wallets do, low S and V of 27 or 28.
func (c *Chain) AttachMessage(m *chains.UnsignedMessage, sig []byte) ([]byte, error) {
	want, err := c.PrepareMessage(m.Key, m.Format, m.Data)
	if err != nil {
		return nil, err
	}
	if err := chains.CheckDigests([]chains.Digest{m.Digest}, []chains.Digest{want.Digest}); err != nil {
		return nil, err
	}
	norm, err := NormalizeSignature(sig)
	if err != nil {
		return nil, err
	}
	got, err := RecoverAddress(want.Digest.Bytes, norm)
	if err != nil {
		return nil, err
	}
	if wallet, _ := AddressOf(m.Key); got != wallet { // PrepareMessage has checked the key
		return nil, fmt.Errorf("%w: signature recovers to %s, not the wallet's %s", chains.ErrInvalidSignature, got, wallet)
	}
	norm[64] += 27
	return norm, nil
}

// RecoverAddress returns the address that signed hash with a 65-byte
// R‖S‖V signature (V 0/1 or 27/28), as ecrecover would.
func RecoverAddress(hash, sig []byte) (common.Address, error) {
	norm, err := NormalizeSignature(sig)
	if err != nil {
		return common.Address{}, err
	}
	pub, err := crypto.SigToPub(hash, norm)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", chains.ErrInvalidSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}
