package evm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/chaintest"
	"github.com/cairn-mpc/cairn/chains/evm"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	good := "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" // EIP-55's own example
	for _, ok := range []string{good, strings.ToLower(good), "0x" + strings.ToUpper(good[2:])} {
		a, err := evm.ParseAddress("Ethereum", ok)
		require.NoError(t, err, ok)
		assert.Equal(t, good, a.Hex())
	}
	for _, tc := range []struct{ name, addr, reason string }{
		{"bad checksum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "checksum"},
		{"short", good[:41], "length"},
		{"long", good + "0", "length"},
		{"no prefix", good[2:], "prefix"},
		{"not hex", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg", "hex"},
		{"zero", "0x0000000000000000000000000000000000000000", "zero"},
		{"empty", "", "prefix"},
	} {
		_, err := evm.ParseAddress("Ethereum", tc.addr)
		var ae *chains.AddressError
		require.ErrorAs(t, err, &ae, tc.name)
		assert.Contains(t, ae.Reason, tc.reason, tc.name)
		assert.ErrorIs(t, err, chains.ErrInvalidAddress, tc.name)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	s := newSim(t)
	ctx := context.Background()
	token := s.deployToken(t, s.walletA, big.NewInt(1000))
	chain, err := evm.New(evm.Config{Network: simNet, Client: s.client, Tokens: []chains.Asset{{Symbol: "CTT", Decimals: 6, ID: token.Hex()}}})
	require.NoError(t, err)
	to := "0x00000000000000000000000000000000C0FFEE03"
	from := s.wallet.Public()
	one := big.NewInt(1)

	t.Run("intent", func(t *testing.T) {
		overflow := new(big.Int).Lsh(big.NewInt(1), 256)
		for _, tc := range []struct {
			name string
			tr   chains.Transfer
			want error
		}{
			{"bad checksum", chains.Transfer{From: from, To: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", Amount: one}, chains.ErrInvalidAddress},
			{"short address", chains.Transfer{From: from, To: to[:40], Amount: one}, chains.ErrInvalidAddress},
			{"nil amount", chains.Transfer{From: from, To: to}, chains.ErrInvalidAmount},
			{"zero amount", chains.Transfer{From: from, To: to, Amount: new(big.Int)}, chains.ErrInvalidAmount},
			{"negative amount", chains.Transfer{From: from, To: to, Amount: big.NewInt(-5)}, chains.ErrInvalidAmount},
			{"amount over 256 bits", chains.Transfer{From: from, To: to, Amount: overflow}, chains.ErrInvalidAmount},
			{"above balance", chains.Transfer{From: from, To: to, Amount: ether(10)}, chains.ErrInsufficientFunds},
			{"token above balance", chains.Transfer{From: from, To: to, Asset: "CTT", Amount: big.NewInt(1001)}, chains.ErrInsufficientFunds},
			{"unknown token", chains.Transfer{From: from, To: to, Asset: "USDT", Amount: one}, chains.ErrUnknownAsset},
			{"unknown token address", chains.Transfer{From: from, To: to, Asset: "0x00000000000000000000000000000000000000aa", Amount: one}, chains.ErrUnknownAsset},
			{"ed25519 key", chains.Transfer{From: chaintest.NewEd25519Key().Public(), To: to, Amount: one}, chains.ErrInvalidKey},
			{"short key", chains.Transfer{From: chains.PublicKey{Scheme: chains.ECDSA, Bytes: make([]byte, 32)}, To: to, Amount: one}, chains.ErrInvalidKey},
			{"off-curve key", chains.Transfer{From: chains.PublicKey{Scheme: chains.ECDSA, Bytes: append([]byte{2}, make([]byte, 32)...)}, To: to, Amount: one}, chains.ErrInvalidKey},
		} {
			_, err := chain.Transfer(ctx, tc.tr)
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
		// The native balance must also cover the most the fee can be.
		bal := s.balance(t, s.walletA)
		_, err := chain.Transfer(ctx, chains.Transfer{From: from, To: to, Amount: bal})
		var ife *chains.InsufficientFundsError
		require.ErrorAs(t, err, &ife)
		assert.Equal(t, bal, ife.Have)
		assert.Positive(t, new(big.Int).Sub(ife.Need, bal).Sign())
	})

	t.Run("client on another chain", func(t *testing.T) {
		eth, err := evm.New(evm.Config{Network: evm.Ethereum, Client: s.client})
		require.NoError(t, err)
		_, err = eth.Transfer(ctx, chains.Transfer{From: from, To: to, Amount: one})
		assert.ErrorIs(t, err, chains.ErrMismatch)
		offline, err := evm.New(evm.Config{Network: evm.Ethereum})
		require.NoError(t, err)
		_, err = offline.Transfer(ctx, chains.Transfer{From: from, To: to, Amount: one})
		assert.ErrorIs(t, err, chains.ErrNoClient)
	})

	t.Run("signatures", func(t *testing.T) {
		u, err := chain.Transfer(ctx, chains.Transfer{From: from, To: to, Amount: one})
		require.NoError(t, err)
		good, err := s.wallet.Sign(ctx, u.Digests[0])
		require.NoError(t, err)
		other, err := chaintest.NewECDSAKey().Sign(ctx, u.Digests[0])
		require.NoError(t, err)
		schnorrSig, err := chaintest.NewSchnorrKey().Sign(ctx, chains.Digest{Scheme: chains.BIP340, Bytes: u.Digests[0].Bytes})
		require.NoError(t, err)
		tampered := append([]byte(nil), good...)
		tampered[5] ^= 0x80
		badV := append([]byte(nil), good...)
		badV[64] = 2
		zeroR := append(make([]byte, 32), good[32:]...)
		bigS := append(append(append([]byte(nil), good[:32]...), crypto.S256().Params().N.Bytes()...), good[64])

		for _, tc := range []struct {
			name string
			sigs [][]byte
		}{
			{"none", nil},
			{"two", [][]byte{good, good}},
			{"64 bytes", [][]byte{good[:64]}},
			{"66 bytes", [][]byte{append(append([]byte(nil), good...), 0)}},
			{"bip340 signature", [][]byte{schnorrSig}},
			{"recovery id 2", [][]byte{badV}},
			{"zero R", [][]byte{zeroR}},
			{"S = N", [][]byte{bigS}},
			{"another key", [][]byte{other}},
			{"tampered", [][]byte{tampered}},
		} {
			_, err := chain.Attach(u, tc.sigs)
			assert.ErrorIs(t, err, chains.ErrInvalidSignature, tc.name)
		}

		// A digest that is not the payload's.
		forged := *u
		forged.Digests = []chains.Digest{{Scheme: chains.ECDSA, Bytes: make([]byte, 32)}}
		_, err = chain.Attach(&forged, [][]byte{good})
		assert.ErrorIs(t, err, chains.ErrMismatch)

		// A high S is normalised, and V may be 27/28: both still attach,
		// to the same transaction.
		n := crypto.S256().Params().N
		hs := new(big.Int).Sub(n, new(big.Int).SetBytes(good[32:64]))
		high := append(append([]byte(nil), good[:32]...), hs.FillBytes(make([]byte, 32))...)
		high = append(high, (good[64]^1)+27)
		a, err := chain.Attach(u, [][]byte{good})
		require.NoError(t, err)
		b, err := chain.Attach(u, [][]byte{high})
		require.NoError(t, err)
		assert.Equal(t, a, b)

		// Nothing was sent by the refusals.
		st, err := chain.Status(ctx, a.ID)
		require.NoError(t, err)
		assert.Equal(t, chains.NotFound, st.State)
		nonce, err := s.client.PendingNonceAt(ctx, s.walletA)
		require.NoError(t, err)
		assert.Equal(t, uint64(0), nonce)
	})

	t.Run("payloads", func(t *testing.T) {
		toA := common.HexToAddress(to)
		enc := func(tx types.TxData) []byte {
			b, err := types.NewTx(tx).MarshalBinary()
			require.NoError(t, err)
			return b
		}
		call := append(common.FromHex("0x095ea7b3"), make([]byte, 64)...) // approve(address,uint256)
		xfer := append(common.FromHex("0xa9059cbb"), make([]byte, 64)...)
		xfer[4+31] = 1
		signed, err := types.SignNewTx(s.deployer, types.LatestSignerForChainID(big.NewInt(1337)), &types.DynamicFeeTx{ChainID: big.NewInt(1337), To: &toA, Gas: 21000, GasFeeCap: one, GasTipCap: one})
		require.NoError(t, err)
		signedRaw, err := signed.MarshalBinary()
		require.NoError(t, err)

		for _, tc := range []struct {
			name    string
			payload []byte
			want    error
		}{
			{"empty", nil, chains.ErrInvalidPayload},
			{"garbage", []byte{0x02, 0xff, 0x00}, chains.ErrInvalidPayload},
			{"already signed", signedRaw, chains.ErrInvalidPayload},
			{"other chain", enc(&types.DynamicFeeTx{ChainID: big.NewInt(1), To: &toA, Value: one, Gas: 21000, GasFeeCap: one, GasTipCap: one}), chains.ErrMismatch},
			{"contract creation", enc(&types.DynamicFeeTx{ChainID: big.NewInt(1337), Gas: 21000, GasFeeCap: one, GasTipCap: one}), chains.ErrUnsupported},
			{"contract call", enc(&types.DynamicFeeTx{ChainID: big.NewInt(1337), To: &token, Data: call, Gas: 60000, GasFeeCap: one, GasTipCap: one}), chains.ErrUnsupported},
			{"transfer on unknown token", enc(&types.DynamicFeeTx{ChainID: big.NewInt(1337), To: &toA, Data: xfer, Gas: 60000, GasFeeCap: one, GasTipCap: one}), chains.ErrUnknownAsset},
			{"token transfer with value", enc(&types.DynamicFeeTx{ChainID: big.NewInt(1337), To: &token, Data: xfer, Value: one, Gas: 60000, GasFeeCap: one, GasTipCap: one}), chains.ErrUnsupported},
			{"access-list transaction", enc(&types.AccessListTx{ChainID: big.NewInt(1337), To: &toA, Value: one, Gas: 21000, GasPrice: one}), chains.ErrUnsupported},
		} {
			_, err := chain.Decode(from, tc.payload)
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
	})
}

// TestStatusOfAnIncompleteReceipt: a node that answers with a receipt
// without a block number (a broken or hostile RPC endpoint) gets an error,
// not a nil dereference.
func TestStatusOfAnIncompleteReceipt(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		result := `"0x10"` // eth_blockNumber
		if req.Method == "eth_getTransactionReceipt" {
			result = `{"status":"0x1","cumulativeGasUsed":"0x5208","gasUsed":"0x5208","logs":[],` +
				`"logsBloom":"0x` + strings.Repeat("00", 256) + `","transactionHash":"0x` + strings.Repeat("11", 32) + `"}`
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, result)
	}))
	t.Cleanup(srv.Close)
	client, err := ethclient.Dial(srv.URL)
	require.NoError(t, err)
	t.Cleanup(client.Close)
	chain, err := evm.New(evm.Config{Network: evm.Ethereum, Client: client})
	require.NoError(t, err)
	_, err = chain.Status(context.Background(), "0x"+strings.Repeat("11", 32))
	assert.ErrorContains(t, err, "block number")
}
