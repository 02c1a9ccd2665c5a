package evm_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/chaintest"
	"github.com/cairn-mpc/cairn/chains/evm"
)

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func dec(t *testing.T, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 10)
	require.True(t, ok, s)
	return n
}

// TestEIP155Vector builds the EIP's example transaction through the
// adapter, offline, and checks the signing hash, the deterministic
// (RFC 6979) signature and the signed encoding against the EIP.
func TestEIP155Vector(t *testing.T) {
	t.Parallel()
	var v struct {
		ChainID                  uint64
		Nonce                    uint64
		GasPrice                 string
		Gas                      uint64
		To, Value, PrivateKey    string
		SigningData, SigningHash string
		V                        uint64
		R, S                     string
		SignedTx                 string
	}
	readJSON(t, "testdata/eip155.json", &v)
	net, err := evm.NetworkByChainID(v.ChainID)
	require.NoError(t, err)
	chain, err := evm.New(evm.Config{Network: net})
	require.NoError(t, err)
	key := chaintest.ECDSAKeyFromBytes(unhex(t, v.PrivateKey))

	u, err := chain.BuildTransfer(context.Background(), chains.Transfer{From: key.Public(), To: v.To, Amount: dec(t, v.Value)},
		evm.Options{Legacy: true, Nonce: &v.Nonce, GasLimit: v.Gas, GasPrice: dec(t, v.GasPrice), SkipBalanceCheck: true})
	require.NoError(t, err)
	require.Len(t, u.Digests, 1)
	assert.Equal(t, v.SigningHash, hex.EncodeToString(u.Digests[0].Bytes))
	assert.Equal(t, v.SigningHash, hex.EncodeToString(crypto.Keccak256(unhex(t, v.SigningData))))
	assert.Equal(t, "Ethereum", u.Activity.Network)
	assert.Equal(t, "ETH", u.Activity.Asset.Symbol)
	assert.Equal(t, dec(t, v.Value), u.Activity.Amount)
	assert.Equal(t, new(big.Int).Mul(dec(t, v.GasPrice), big.NewInt(int64(v.Gas))), u.Activity.Fee)

	// The vector's own (r, s, v) attaches to the same bytes.
	sig := make([]byte, 65)
	dec(t, v.R).FillBytes(sig[:32])
	dec(t, v.S).FillBytes(sig[32:64])
	sig[64] = byte(v.V - (2*v.ChainID + 35))
	signed, err := chain.Attach(u, [][]byte{sig})
	require.NoError(t, err)
	assert.Equal(t, v.SignedTx, hex.EncodeToString(signed.Raw))
	assert.Equal(t, crypto.Keccak256Hash(signed.Raw).Hex(), signed.ID)

	// So does a signature made through the Signer interface.
	sigs, err := chains.SignAll(context.Background(), key, u)
	require.NoError(t, err)
	assert.Equal(t, sig, sigs[0])
	signed, err = chain.Attach(u, sigs)
	require.NoError(t, err)
	assert.Equal(t, v.SignedTx, hex.EncodeToString(signed.Raw))
}

// TestEIP712Vector checks the EIP's typed-data example: hash, the key's
// address, and its signature, both attached as given and made again.
func TestEIP712Vector(t *testing.T) {
	t.Parallel()
	var v struct {
		PrivateKeyPreimage string
		Address, Hash      string
		V                  byte
		R, S               string
		TypedData          json.RawMessage
	}
	readJSON(t, "testdata/eip712.json", &v)
	chain, err := evm.New(evm.Config{Network: evm.Ethereum})
	require.NoError(t, err)
	key := chaintest.ECDSAKeyFromBytes(crypto.Keccak256([]byte(v.PrivateKeyPreimage)))
	addr, err := chain.Address(key.Public())
	require.NoError(t, err)
	assert.Equal(t, v.Address, "0x"+hex.EncodeToString(unhex(t, addr[2:])))

	m, err := chain.PrepareMessage(key.Public(), evm.TypedData, v.TypedData)
	require.NoError(t, err)
	assert.Equal(t, v.Hash, hex.EncodeToString(m.Digest.Bytes))

	want := append(append(unhex(t, v.R), unhex(t, v.S)...), v.V)
	got, err := chain.AttachMessage(m, want)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	sig, err := key.Sign(context.Background(), m.Digest)
	require.NoError(t, err)
	got, err = chain.AttachMessage(m, sig)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// The same typed data is refused on another chain: its domain names
	// chain 1.
	base, err := evm.New(evm.Config{Network: evm.Base})
	require.NoError(t, err)
	_, err = base.PrepareMessage(key.Public(), evm.TypedData, v.TypedData)
	assert.ErrorIs(t, err, chains.ErrMismatch)
}

func TestPersonalMessage(t *testing.T) {
	t.Parallel()
	chain, err := evm.New(evm.Config{Network: evm.Sepolia})
	require.NoError(t, err)
	key := chaintest.NewECDSAKey()
	msg := []byte("Sign in to Cairn\nnonce: 42")
	m, err := chain.PrepareMessage(key.Public(), evm.PersonalMessage, msg)
	require.NoError(t, err)
	assert.Equal(t, accounts.TextHash(msg), m.Digest.Bytes, "EIP-191 hash as go-ethereum computes it")

	sig, err := chains.SignAll(context.Background(), key, &chains.Unsigned{Digests: []chains.Digest{m.Digest}})
	require.NoError(t, err)
	out, err := chain.AttachMessage(m, sig[0])
	require.NoError(t, err)
	assert.Contains(t, []byte{27, 28}, out[64])
	addr, err := evm.RecoverAddress(m.Digest.Bytes, out)
	require.NoError(t, err)
	want, _ := chain.Address(key.Public())
	assert.Equal(t, want, addr.Hex())

	// Another key's signature, a tampered one, or one of the wrong
	// length are refused.
	other, err := chaintest.NewECDSAKey().Sign(context.Background(), m.Digest)
	require.NoError(t, err)
	_, err = chain.AttachMessage(m, other)
	assert.ErrorIs(t, err, chains.ErrInvalidSignature)
	bad := append([]byte(nil), sig[0]...)
	bad[10] ^= 1
	_, err = chain.AttachMessage(m, bad)
	assert.ErrorIs(t, err, chains.ErrInvalidSignature)
	_, err = chain.AttachMessage(m, sig[0][:64])
	assert.ErrorIs(t, err, chains.ErrInvalidSignature)
	// A digest that is not the message's.
	m2 := *m
	m2.Data = []byte("something else")
	_, err = chain.AttachMessage(&m2, sig[0])
	assert.ErrorIs(t, err, chains.ErrMismatch)
	_, err = chain.PrepareMessage(key.Public(), "eth_sign", msg)
	assert.ErrorIs(t, err, chains.ErrUnsupported)
	_, err = chain.PrepareMessage(key.Public(), evm.TypedData, []byte(`{"types":{}}`))
	assert.ErrorIs(t, err, chains.ErrInvalidPayload)
}
