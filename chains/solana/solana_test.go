package solana_test

import (
	"context"
	"crypto/sha256"
	"math/big"
	"sync"
	"testing"

	bin "github.com/gagliardetto/binary"
	sol "github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/programs/system"
	"github.com/gagliardetto/solana-go/programs/token"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/chaintest"
	"github.com/cairn-mpc/cairn/chains/solana"
)

// ledger is a Client holding balances in memory. It takes a transaction
// only if solana-go verifies its signatures; it executes nothing.
type ledger struct {
	mu     sync.Mutex
	sol    map[sol.PublicKey]uint64
	tokens map[sol.PublicKey]uint64
	sent   map[sol.Signature][]byte
}

func newLedger() *ledger {
	return &ledger{sol: map[sol.PublicKey]uint64{}, tokens: map[sol.PublicKey]uint64{}, sent: map[sol.Signature][]byte{}}
}

func (l *ledger) LatestBlockhash(context.Context) (sol.Hash, error) {
	return sol.Hash(sha256.Sum256([]byte("a recent block"))), nil
}

func (l *ledger) Balance(_ context.Context, a sol.PublicKey) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sol[a], nil
}

func (l *ledger) TokenBalance(_ context.Context, a sol.PublicKey) (uint64, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.tokens[a]
	return v, ok, nil
}

func (l *ledger) SendTransaction(_ context.Context, raw []byte) error {
	tx, err := sol.TransactionFromBytes(raw)
	if err != nil {
		return err
	}
	if err := tx.VerifySignatures(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent[tx.Signatures[0]] = raw
	return nil
}

func (l *ledger) SignatureStatus(_ context.Context, sig sol.Signature) (chains.Status, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.sent[sig]; ok {
		return chains.Status{State: chains.Pending}, nil
	}
	return chains.Status{State: chains.NotFound}, nil
}

func account(t *testing.T, key chains.PublicKey) sol.PublicKey {
	t.Helper()
	return sol.PublicKeyFromBytes(key.Bytes)
}

func ata(t *testing.T, owner, mint sol.PublicKey) sol.PublicKey {
	t.Helper()
	a, _, err := sol.FindAssociatedTokenAddress(owner, mint)
	require.NoError(t, err)
	return a
}

// mintUSDC is a made-up mint, configured as a 6-decimal token.
var mintUSDC = func() sol.PublicKey {
	h := sha256.Sum256([]byte("usdc mint"))
	return sol.PublicKeyFromBytes(h[:])
}()

var usdc = chains.Asset{Symbol: "USDC", Decimals: 6, ID: mintUSDC.String()}

// signAndCheck signs u, attaches, and checks with solana-go that the
// transaction verifies and survives a serialize/parse round trip.
func signAndCheck(t *testing.T, chain *solana.Chain, u *chains.Unsigned, signer chains.Signer) (*chains.Signed, *sol.Transaction) {
	t.Helper()
	sigs, err := chains.SignAll(context.Background(), signer, u)
	require.NoError(t, err)
	signed, err := chain.Attach(u, sigs)
	require.NoError(t, err)
	tx, err := sol.TransactionFromBytes(signed.Raw)
	require.NoError(t, err)
	require.NoError(t, tx.VerifySignatures())
	again, err := tx.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, signed.Raw, again, "serialize/parse round trip")
	assert.Equal(t, tx.Signatures[0].String(), signed.ID)
	msg, err := tx.Message.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, u.Payload, msg)
	return signed, tx
}

func TestSOLTransfer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newLedger()
	chain, err := solana.New(solana.Config{Network: solana.Devnet, Client: l})
	require.NoError(t, err)
	key := chaintest.NewEd25519Key()
	from := account(t, key.Public())
	l.sol[from] = 5_000_000_000
	to := sol.NewWallet().PublicKey()

	u, err := chain.BuildTransfer(ctx, chains.Transfer{From: key.Public(), To: to.String(), Amount: big.NewInt(1_500_000_000)},
		solana.Options{ComputeUnitPrice: 10_000, ComputeUnitLimit: 450})
	require.NoError(t, err)
	assert.Equal(t, chains.Activity{
		Kind: chains.KindTransfer, Network: "Solana Devnet", From: from.String(), Recipient: to.String(),
		Asset: solana.Devnet.Native, Amount: big.NewInt(1_500_000_000), Fee: big.NewInt(5000 + 5),
	}, u.Activity)
	require.Equal(t, []chains.Digest{{Scheme: chains.Ed25519, Bytes: u.Payload}}, u.Digests)

	signed, tx := signAndCheck(t, chain, u, key)
	// solana-go's own decoder reads the transfer we encoded.
	require.Len(t, tx.Message.Instructions, 3)
	last := tx.Message.Instructions[2]
	accts, err := last.ResolveInstructionAccounts(&tx.Message)
	require.NoError(t, err)
	ix, err := system.DecodeInstruction(accts, last.Data)
	require.NoError(t, err)
	tr, ok := ix.Impl.(*system.Transfer)
	require.True(t, ok)
	assert.Equal(t, uint64(1_500_000_000), *tr.Lamports)
	assert.Equal(t, from, tr.GetFundingAccount().PublicKey)
	assert.Equal(t, to, tr.GetRecipientAccount().PublicKey)

	st, err := chain.Status(ctx, signed.ID)
	require.NoError(t, err)
	assert.Equal(t, chains.NotFound, st.State)
	require.NoError(t, chain.Broadcast(ctx, signed))
	st, err = chain.Status(ctx, signed.ID)
	require.NoError(t, err)
	assert.Equal(t, chains.Pending, st.State)
}

func TestTokenTransfer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newLedger()
	chain, err := solana.New(solana.Config{Network: solana.Mainnet, Client: l, Tokens: []chains.Asset{usdc}})
	require.NoError(t, err)
	key := chaintest.NewEd25519Key()
	from := account(t, key.Public())
	l.sol[from] = 10_000_000
	l.tokens[ata(t, from, mintUSDC)] = 70_000_000
	to := sol.NewWallet().PublicKey()
	tr := chains.Transfer{From: key.Public(), To: to.String(), Asset: "USDC", Amount: big.NewInt(25_000_000)}

	// The recipient has no USDC account: refused unless asked to create.
	_, err = chain.Transfer(ctx, tr)
	assert.ErrorIs(t, err, chains.ErrUnsupported)
	u, err := chain.BuildTransfer(ctx, tr, solana.Options{CreateRecipientAccount: true})
	require.NoError(t, err)
	assert.Equal(t, usdc, u.Activity.Asset)
	assert.Equal(t, to.String(), u.Activity.Recipient, "the owner, not the token account")
	assert.Equal(t, big.NewInt(25_000_000), u.Activity.Amount)
	assert.Equal(t, big.NewInt(5000), u.Activity.Fee)

	_, tx := signAndCheck(t, chain, u, key)
	require.Len(t, tx.Message.Instructions, 2)
	create := tx.Message.Instructions[0]
	prog, err := tx.Message.Program(create.ProgramIDIndex)
	require.NoError(t, err)
	assert.Equal(t, sol.SPLAssociatedTokenAccountProgramID, prog)
	assert.Equal(t, []byte{1}, []byte(create.Data), "CreateIdempotent")
	xfer := tx.Message.Instructions[1]
	accts, err := xfer.ResolveInstructionAccounts(&tx.Message)
	require.NoError(t, err)
	ix, err := token.DecodeInstruction(accts, xfer.Data)
	require.NoError(t, err)
	tc, ok := ix.Impl.(*token.TransferChecked)
	require.True(t, ok)
	assert.Equal(t, uint64(25_000_000), *tc.Amount)
	assert.Equal(t, uint8(6), *tc.Decimals)
	assert.Equal(t, ata(t, from, mintUSDC), tc.GetSourceAccount().PublicKey)
	assert.Equal(t, ata(t, to, mintUSDC), tc.GetDestinationAccount().PublicKey)
	assert.Equal(t, mintUSDC, tc.GetMintAccount().PublicKey)
	assert.Equal(t, from, tc.GetOwnerAccount().PublicKey)

	// Once the recipient has an account, no asking is needed; by mint
	// address as well as by symbol.
	l.tokens[ata(t, to, mintUSDC)] = 0
	tr.Asset = mintUSDC.String()
	u2, err := chain.Transfer(ctx, tr)
	require.NoError(t, err)
	assert.Equal(t, u.Payload, u2.Payload)
}

// TestDecodeOfForeignMessage decodes a SOL transfer built with
// solana-go's own instruction builder, byte-identical to the adapter's.
func TestDecodeOfForeignMessage(t *testing.T) {
	t.Parallel()
	chain, err := solana.New(solana.Config{Network: solana.Testnet})
	require.NoError(t, err)
	key := chaintest.NewEd25519Key()
	from := account(t, key.Public())
	to := sol.NewWallet().PublicKey()
	bh := sol.Hash{1, 2, 3}
	tx, err := sol.NewTransaction([]sol.Instruction{system.NewTransferInstruction(42_000_000, from, to).Build()}, bh, sol.TransactionPayer(from))
	require.NoError(t, err)
	msg, err := tx.Message.MarshalBinary()
	require.NoError(t, err)
	u, err := chain.Decode(key.Public(), msg)
	require.NoError(t, err)
	assert.Equal(t, big.NewInt(42_000_000), u.Activity.Amount)
	assert.Equal(t, big.NewInt(5000), u.Activity.Fee)

	ours, err := chain.BuildTransfer(context.Background(), chains.Transfer{From: key.Public(), To: to.String(), Amount: big.NewInt(42_000_000)}, solana.Options{RecentBlockhash: bh})
	require.NoError(t, err)
	assert.Equal(t, msg, ours.Payload)

	// bin is solana-go's codec: a message it decodes is one we decode.
	var m sol.Message
	require.NoError(t, m.UnmarshalWithDecoder(bin.NewBinDecoder(ours.Payload)))
}
