package evm_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/params"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/chaintest"
	"github.com/cairn-mpc/cairn/chains/evm"
)

// simNet is the simulated backend's network (chain id 1337).
var simNet = chains.Network{Name: "Simulated", Family: chains.EVM, ChainID: "1337", Native: chains.Asset{Symbol: "ETH", Decimals: 18}, Testnet: true}

func ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// wallet is a key that signs: a plain one, or a threshold one.
type wallet interface {
	chains.Signer
	Public() chains.PublicKey
}

// sim is a simulated chain with a funded wallet key and a funded deployer.
type sim struct {
	backend  *simulated.Backend
	client   simulated.Client
	wallet   wallet
	walletA  common.Address
	deployer *ecdsa.PrivateKey
}

// newSim starts a simulated chain funding a fresh plain key, or the given
// wallet.
func newSim(t *testing.T, w ...wallet) *sim {
	t.Helper()
	var wallet wallet = chaintest.NewECDSAKey()
	if len(w) > 0 {
		wallet = w[0]
	}
	addr, err := evm.AddressOf(wallet.Public())
	require.NoError(t, err)
	deployer, err := crypto.GenerateKey()
	require.NoError(t, err)
	backend := simulated.NewBackend(types.GenesisAlloc{
		addr: {Balance: ether(10)},
		crypto.PubkeyToAddress(deployer.PublicKey): {Balance: ether(10)},
	})
	t.Cleanup(func() { _ = backend.Close() })
	return &sim{backend: backend, client: backend.Client(), wallet: wallet, walletA: addr, deployer: deployer}
}

func (s *sim) balance(t *testing.T, a common.Address) *big.Int {
	t.Helper()
	b, err := s.client.BalanceAt(context.Background(), a, nil)
	require.NoError(t, err)
	return b
}

// deployToken deploys testdata/token/Token.bin with the whole supply held
// by holder, and returns the contract's address.
func (s *sim) deployToken(t *testing.T, holder common.Address, supply *big.Int) common.Address {
	t.Helper()
	ctx := context.Background()
	bin, err := os.ReadFile("testdata/token/Token.bin")
	require.NoError(t, err)
	code, err := hex.DecodeString(strings.TrimSpace(string(bin)))
	require.NoError(t, err)
	args := make([]byte, 64) // constructor(address holder, uint256 supply)
	copy(args[12:32], holder[:])
	supply.FillBytes(args[32:])
	from := crypto.PubkeyToAddress(s.deployer.PublicKey)
	nonce, err := s.client.PendingNonceAt(ctx, from)
	require.NoError(t, err)
	head, err := s.client.HeaderByNumber(ctx, nil)
	require.NoError(t, err)
	tx, err := types.SignNewTx(s.deployer, types.LatestSignerForChainID(big.NewInt(1337)), &types.DynamicFeeTx{
		ChainID: big.NewInt(1337), Nonce: nonce, GasTipCap: big.NewInt(params.GWei), GasFeeCap: new(big.Int).Add(new(big.Int).Lsh(head.BaseFee, 1), big.NewInt(params.GWei)),
		Gas: 2_000_000, Data: append(code, args...),
	})
	require.NoError(t, err)
	require.NoError(t, s.client.SendTransaction(ctx, tx))
	s.backend.Commit()
	r, err := s.client.TransactionReceipt(ctx, tx.Hash())
	require.NoError(t, err)
	require.Equal(t, types.ReceiptStatusSuccessful, r.Status)
	return r.ContractAddress
}

func (s *sim) tokenBalance(t *testing.T, token, holder common.Address) *big.Int {
	t.Helper()
	data := append(common.FromHex("0x70a08231"), common.LeftPadBytes(holder[:], 32)...)
	out, err := s.client.CallContract(context.Background(), ethereum.CallMsg{To: &token, Data: data}, nil)
	require.NoError(t, err)
	return new(big.Int).SetBytes(out)
}

// send signs u with the wallet key through the Signer interface, attaches,
// broadcasts, mines and waits for one confirmation.
func (s *sim) send(t *testing.T, chain *evm.Chain, u *chains.Unsigned) (*chains.Signed, *types.Receipt) {
	t.Helper()
	ctx := context.Background()
	sigs, err := chains.SignAll(ctx, s.wallet, u)
	require.NoError(t, err)
	signed, err := chain.Attach(u, sigs)
	require.NoError(t, err)
	require.NoError(t, chain.Broadcast(ctx, signed))
	st, err := chain.Status(ctx, signed.ID)
	require.NoError(t, err)
	assert.Equal(t, chains.Pending, st.State)
	require.NoError(t, chain.Broadcast(ctx, signed), "a second broadcast of the same transaction is harmless")
	s.backend.Commit()
	st, err = chains.Wait(ctx, chain, signed.ID, 1, time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, chains.Included, st.State)
	r, err := s.client.TransactionReceipt(ctx, common.HexToHash(signed.ID))
	require.NoError(t, err)
	require.Equal(t, types.ReceiptStatusSuccessful, r.Status)
	s.backend.Commit()
	st, err = chain.Status(ctx, signed.ID)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.Confirmations)
	return signed, r
}

func TestSimulatedNativeTransfer(t *testing.T) {
	t.Parallel()
	nativeTransfers(t, newSim(t))
}

// nativeTransfers sends ether from the wallet in an EIP-1559 and a legacy
// transaction, and checks the balances moved by the amount and the fee.
func nativeTransfers(t *testing.T, s *sim) {
	chain, err := evm.New(evm.Config{Network: simNet, Client: s.client})
	require.NoError(t, err)
	ctx := context.Background()
	to := common.HexToAddress("0x00000000000000000000000000000000c0ffee01")

	for _, legacy := range []bool{false, true} {
		before, toBefore := s.balance(t, s.walletA), s.balance(t, to)
		amount := big.NewInt(1_234_567_890_123_456_789)
		u, err := chain.BuildTransfer(ctx, chains.Transfer{From: s.wallet.Public(), To: to.Hex(), Amount: amount}, evm.Options{Legacy: legacy})
		require.NoError(t, err)
		assert.Equal(t, chains.Activity{
			Kind: chains.KindTransfer, Network: "Simulated", From: s.walletA.Hex(), Recipient: to.Hex(),
			Asset: simNet.Native, Amount: amount, Fee: u.Activity.Fee,
		}, u.Activity)
		tx := new(types.Transaction)
		require.NoError(t, tx.UnmarshalBinary(u.Payload))
		if legacy {
			assert.Equal(t, uint8(types.LegacyTxType), tx.Type())
		} else {
			assert.Equal(t, uint8(types.DynamicFeeTxType), tx.Type())
		}
		assert.Equal(t, uint64(21000), tx.Gas())

		_, r := s.send(t, chain, u)
		paid := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
		assert.LessOrEqual(t, paid.Cmp(u.Activity.Fee), 0, "the fee paid is within the activity's fee")
		assert.Equal(t, new(big.Int).Sub(before, new(big.Int).Add(amount, paid)), s.balance(t, s.walletA))
		assert.Equal(t, new(big.Int).Add(toBefore, amount), s.balance(t, to))
	}
}

func TestSimulatedTokenTransfer(t *testing.T) {
	t.Parallel()
	tokenTransfers(t, newSim(t))
}

// tokenTransfers deploys the test token holding the whole supply for the
// wallet, sends some of it twice, and checks the balances.
func tokenTransfers(t *testing.T, s *sim) {
	ctx := context.Background()
	supply := big.NewInt(1_000_000_000_000) // 1,000,000 CTT at 6 decimals
	token := s.deployToken(t, s.walletA, supply)
	ctt := chains.Asset{Symbol: "CTT", Decimals: 6, ID: token.Hex()}
	chain, err := evm.New(evm.Config{Network: simNet, Client: s.client, Tokens: []chains.Asset{ctt}})
	require.NoError(t, err)
	to := common.HexToAddress("0x00000000000000000000000000000000c0ffee02")
	amount := big.NewInt(250_000_000)

	// By symbol and by contract address alike.
	for _, name := range []string{"CTT", strings.ToLower(token.Hex())} {
		before := s.tokenBalance(t, token, s.walletA)
		ethBefore := s.balance(t, s.walletA)
		u, err := chain.Transfer(ctx, chains.Transfer{From: s.wallet.Public(), To: to.Hex(), Asset: name, Amount: amount})
		require.NoError(t, err)
		assert.Equal(t, ctt, u.Activity.Asset)
		assert.Equal(t, to.Hex(), u.Activity.Recipient, "the recipient is the token's receiver, not the contract")
		assert.Equal(t, amount, u.Activity.Amount)
		_, r := s.send(t, chain, u)
		require.Len(t, r.Logs, 1, "one Transfer event")
		assert.Equal(t, new(big.Int).Sub(before, amount), s.tokenBalance(t, token, s.walletA))
		paid := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
		assert.Equal(t, new(big.Int).Sub(ethBefore, paid), s.balance(t, s.walletA))
	}
	assert.Equal(t, new(big.Int).Mul(amount, big.NewInt(2)), s.tokenBalance(t, token, to))

	// More than the balance, in tokens.
	_, err = chain.Transfer(ctx, chains.Transfer{From: s.wallet.Public(), To: to.Hex(), Asset: "CTT", Amount: supply})
	var ife *chains.InsufficientFundsError
	require.ErrorAs(t, err, &ife)
	assert.Equal(t, "CTT", ife.Asset)
	assert.ErrorIs(t, err, chains.ErrInsufficientFunds)
}
