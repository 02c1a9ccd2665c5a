package solana_test

import (
	"context"
	"crypto/ed25519"
	"math/big"
	"testing"
	"time"

	sol "github.com/gagliardetto/solana-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/solana"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/mpctest"
)

// thresholdKey signs through a coordinator with a threshold key.
type thresholdKey struct {
	coord *mpc.Coordinator
	id    string
}

func (k thresholdKey) Sign(ctx context.Context, d chains.Digest) ([]byte, error) {
	sig, err := k.coord.Sign(ctx, mpc.SignRequest{KeyID: k.id, Message: d.Bytes})
	if err != nil {
		return nil, err
	}
	return sig.Bytes, nil
}

// TestThresholdKey pays SOL and a token from the key of a 3-of-5 FROST
// (Ed25519) cluster; solana-go verifies the transactions.
func TestThresholdKey(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a DKG and signing ceremonies")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := mpctest.New(t, 5)
	info, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 3, Signers: c.Nodes()})
	require.NoError(t, err)
	key := chains.PublicKey{Scheme: chains.Ed25519, Bytes: info.PublicKey}
	signer := thresholdKey{coord: c.Coordinator, id: info.ID}

	l := newLedger()
	chain, err := solana.New(solana.Config{Network: solana.Devnet, Client: l, Tokens: []chains.Asset{usdc}})
	require.NoError(t, err)
	from := account(t, key)
	l.sol[from] = 3_000_000_000
	l.tokens[ata(t, from, mintUSDC)] = 1_000_000
	to := sol.NewWallet().PublicKey()

	for _, tr := range []chains.Transfer{
		{From: key, To: to.String(), Amount: big.NewInt(1_000_000_000)},
		{From: key, To: to.String(), Asset: "USDC", Amount: big.NewInt(400_000)},
	} {
		u, err := chain.BuildTransfer(ctx, tr, solana.Options{CreateRecipientAccount: true})
		require.NoError(t, err)
		signed, tx := signAndCheck(t, chain, u, signer)
		assert.True(t, ed25519.Verify(info.PublicKey, u.Payload, tx.Signatures[0][:]))
		require.NoError(t, chain.Broadcast(ctx, signed))
	}
	assert.Len(t, l.sent, 2)
}
