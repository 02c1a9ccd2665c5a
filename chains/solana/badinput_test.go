package solana_test

import (
	"bytes"
	"context"
	"math/big"
	"strings"
	"testing"

	sol "github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/programs/system"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/chaintest"
	"github.com/cairn-mpc/cairn/chains/solana"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	good := "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"
	_, err := solana.ParseAddress("Solana", good)
	require.NoError(t, err)
	for _, tc := range []struct{ addr, reason string }{
		{good[:len(good)-1] + "0", "base58"}, // 0 is not a base58 digit
		{"4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDBl", "base58"},
		{good[:30], "length"},
		{good + "4Nd1", "length"},
		{"", "length"},
	} {
		_, err := solana.ParseAddress("Solana", tc.addr)
		var ae *chains.AddressError
		if assert.ErrorAs(t, err, &ae, tc.addr) {
			assert.Contains(t, ae.Reason, tc.reason, tc.addr)
		}
		assert.ErrorIs(t, err, chains.ErrInvalidAddress)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newLedger()
	chain, err := solana.New(solana.Config{Network: solana.Mainnet, Client: l, Tokens: []chains.Asset{usdc}})
	require.NoError(t, err)
	key := chaintest.NewEd25519Key()
	from := account(t, key.Public())
	l.sol[from] = 2_000_000
	l.tokens[ata(t, from, mintUSDC)] = 500
	to := sol.NewWallet().PublicKey()
	l.sol[to] = 1
	pk := key.Public()
	one := big.NewInt(1000)

	t.Run("intent", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			tr   chains.Transfer
			o    solana.Options
			want error
		}{
			{"bad address", chains.Transfer{From: pk, To: "0OIl", Amount: one}, solana.Options{}, chains.ErrInvalidAddress},
			{"to itself", chains.Transfer{From: pk, To: from.String(), Amount: one}, solana.Options{}, chains.ErrInvalidAddress},
			{"nil amount", chains.Transfer{From: pk, To: to.String()}, solana.Options{}, chains.ErrInvalidAmount},
			{"zero", chains.Transfer{From: pk, To: to.String(), Amount: new(big.Int)}, solana.Options{}, chains.ErrInvalidAmount},
			{"negative", chains.Transfer{From: pk, To: to.String(), Amount: big.NewInt(-1)}, solana.Options{}, chains.ErrInvalidAmount},
			{"over 64 bits", chains.Transfer{From: pk, To: to.String(), Amount: new(big.Int).Lsh(big.NewInt(1), 64)}, solana.Options{}, chains.ErrInvalidAmount},
			{"above balance", chains.Transfer{From: pk, To: to.String(), Amount: big.NewInt(2_000_000)}, solana.Options{}, chains.ErrInsufficientFunds},
			{"leaves less than rent", chains.Transfer{From: pk, To: to.String(), Amount: big.NewInt(1_200_000)}, solana.Options{}, chains.ErrInsufficientFunds},
			{"opens an account below rent", chains.Transfer{From: pk, To: sol.NewWallet().PublicKey().String(), Amount: big.NewInt(1000)}, solana.Options{}, chains.ErrInvalidAmount},
			{"tokens above balance", chains.Transfer{From: pk, To: to.String(), Asset: "USDC", Amount: big.NewInt(501)}, solana.Options{CreateRecipientAccount: true}, chains.ErrInsufficientFunds},
			{"unknown token", chains.Transfer{From: pk, To: to.String(), Asset: "BONK", Amount: one}, solana.Options{}, chains.ErrUnknownAsset},
			{"unknown mint", chains.Transfer{From: pk, To: to.String(), Asset: sol.NewWallet().PublicKey().String(), Amount: one}, solana.Options{}, chains.ErrUnknownAsset},
			{"ecdsa key", chains.Transfer{From: chaintest.NewECDSAKey().Public(), To: to.String(), Amount: one}, solana.Options{}, chains.ErrInvalidKey},
			{"short key", chains.Transfer{From: chains.PublicKey{Scheme: chains.Ed25519, Bytes: pk.Bytes[:31]}, To: to.String(), Amount: one}, solana.Options{}, chains.ErrInvalidKey},
		} {
			_, err := chain.BuildTransfer(ctx, tc.tr, tc.o)
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
		_, err := chain.BuildTransfer(ctx, chains.Transfer{From: pk, To: to.String(), Amount: one}, solana.Options{ComputeUnitPrice: 1})
		assert.Error(t, err, "a price without a limit")
		offline, err := solana.New(solana.Config{Network: solana.Mainnet})
		require.NoError(t, err)
		_, err = offline.Transfer(ctx, chains.Transfer{From: pk, To: to.String(), Amount: one})
		assert.ErrorIs(t, err, chains.ErrNoClient)
	})

	t.Run("signatures", func(t *testing.T) {
		u, err := chain.Transfer(ctx, chains.Transfer{From: pk, To: to.String(), Amount: one})
		require.NoError(t, err)
		good, err := key.Sign(ctx, u.Digests[0])
		require.NoError(t, err)
		other, err := chaintest.NewEd25519Key().Sign(ctx, u.Digests[0])
		require.NoError(t, err)
		ecdsaSig, err := chaintest.NewECDSAKey().Sign(ctx, chains.Digest{Scheme: chains.ECDSA, Bytes: make([]byte, 32)})
		require.NoError(t, err)
		tampered := bytes.Clone(good)
		tampered[0] ^= 1
		for name, sigs := range map[string][][]byte{
			"none": nil, "two": {good, good}, "short": {good[:63]}, "long": {append(bytes.Clone(good), 0)},
			"another key": {other}, "tampered": {tampered}, "ecdsa": {ecdsaSig},
		} {
			_, err := chain.Attach(u, sigs)
			assert.ErrorIs(t, err, chains.ErrInvalidSignature, name)
		}
		forged := *u
		forged.Digests = []chains.Digest{{Scheme: chains.Ed25519, Bytes: []byte("something else")}}
		_, err = chain.Attach(&forged, [][]byte{good})
		assert.ErrorIs(t, err, chains.ErrMismatch)
		assert.Empty(t, l.sent, "nothing was sent")
	})

	t.Run("payloads", func(t *testing.T) {
		other := sol.NewWallet().PublicKey()
		bh := sol.Hash{9}
		msg := func(ixs ...sol.Instruction) []byte {
			tx, err := sol.NewTransaction(ixs, bh, sol.TransactionPayer(ixs[0].Accounts()[0].PublicKey))
			require.NoError(t, err)
			b, err := tx.Message.MarshalBinary()
			require.NoError(t, err)
			return b
		}
		xfer := func(from, to sol.PublicKey) sol.Instruction {
			return system.NewTransferInstruction(5_000_000, from, to).Build()
		}
		good := msg(xfer(from, to))
		versioned := bytes.Clone(good)
		versioned[0] |= 0x80
		for _, tc := range []struct {
			name    string
			payload []byte
			want    error
		}{
			{"empty", nil, chains.ErrInvalidPayload},
			{"garbage", []byte{1, 0, 1, 5}, chains.ErrInvalidPayload},
			{"trailing bytes", append(bytes.Clone(good), 0), chains.ErrInvalidPayload},
			{"versioned", versioned, chains.ErrUnsupported},
			{"another payer", msg(xfer(other, to)), chains.ErrUnsupported},
			{"two signers", msg(xfer(from, to), xfer(other, to)), chains.ErrUnsupported},
			{"two transfers", msg(xfer(from, to), xfer(from, other)), chains.ErrUnsupported},
			{"not a transfer", msg(system.NewAssignInstruction(other, from).Build()), chains.ErrUnsupported},
			{"too long", bytes.Repeat([]byte{1}, 1300), chains.ErrInvalidPayload},
		} {
			_, err := chain.Decode(pk, tc.payload)
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
		_, err := chain.Decode(pk, good)
		assert.NoError(t, err)
	})
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T", "11111111111111111111111111111111", "1", "", strings.Repeat("z", 44)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pk, err := solana.ParseAddress("Solana", s)
		if err == nil && pk.String() != s {
			t.Fatalf("%q parsed to %s", s, pk)
		}
	})
}

// FuzzDecode feeds untrusted messages to Decode and, when one decodes,
// checks Attach refuses a junk signature.
func FuzzDecode(f *testing.F) {
	key := chaintest.NewEd25519Key().Public()
	chain, err := solana.New(solana.Config{Network: solana.Mainnet, Tokens: []chains.Asset{usdc}})
	if err != nil {
		f.Fatal(err)
	}
	to := sol.PublicKeyFromBytes(bytes.Repeat([]byte{7}, 32))
	for _, tc := range []struct {
		asset string
		o     solana.Options
	}{
		{"", solana.Options{RecentBlockhash: sol.Hash{1}}},
		{"USDC", solana.Options{RecentBlockhash: sol.Hash{2}, ComputeUnitLimit: 30_000, ComputeUnitPrice: 7}},
	} {
		u, err := chain.BuildTransfer(context.Background(), chains.Transfer{From: key, To: to.String(), Asset: tc.asset, Amount: big.NewInt(12345)}, tc.o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(u.Payload)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		u, err := chain.Decode(key, payload)
		if err != nil {
			return
		}
		if u.Activity.Amount == nil || u.Activity.Fee.Sign() <= 0 {
			t.Fatalf("decoded %+v", u.Activity)
		}
		if _, err := chain.Attach(u, [][]byte{make([]byte, 64)}); err == nil {
			t.Fatal("a zero signature attached")
		}
	})
}
