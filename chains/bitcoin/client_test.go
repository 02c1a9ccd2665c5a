package bitcoin_test

import (
	"context"
	"math/big"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/bitcoin"
	"github.com/cairn-mpc/cairn/chains/chaintest"
)

// pool is a Client that keeps what it is sent; it stands in for a node's
// RPC, which this package does not wrap.
type pool struct {
	mu   sync.Mutex
	rate bitcoin.FeeRate
	txs  map[chainhash.Hash]*wire.MsgTx
}

func (p *pool) FeeRate(context.Context) (bitcoin.FeeRate, error) { return p.rate, nil }

func (p *pool) Broadcast(_ context.Context, tx *wire.MsgTx) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.txs[tx.TxHash()] = tx
	return nil
}

func (p *pool) TxStatus(_ context.Context, h chainhash.Hash) (chains.Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.txs[h]; ok {
		return chains.Status{State: chains.Pending}, nil
	}
	return chains.Status{State: chains.NotFound}, nil
}

func TestClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, cl := &coins{}, &pool{rate: 500, txs: map[chainhash.Hash]*wire.MsgTx{}}
	chain, err := bitcoin.New(bitcoin.Config{Network: bitcoin.Signet, UTXOs: src, Client: cl})
	require.NoError(t, err)
	key := chaintest.NewSchnorrKey()
	src.fund(t, chain, key.Public(), 100_000)
	to, err := chain.Address(chaintest.NewECDSAKey().Public())
	require.NoError(t, err)

	// The client's rate, raised to the minimum relay rate.
	u, err := chain.Transfer(ctx, chains.Transfer{From: key.Public(), To: to, Asset: "BTC", Amount: big.NewInt(25_000)})
	require.NoError(t, err)
	assert.Equal(t, big.NewInt(142), u.Activity.Fee, "10.5 vB of overhead, a 57.5 vB P2TR input, 31 vB P2WPKH and 43 vB P2TR outputs, at 1 sat/vB")
	sigs, err := chains.SignAll(ctx, key, u)
	require.NoError(t, err)
	signed, err := chain.Attach(u, sigs)
	require.NoError(t, err)

	st, err := chain.Status(ctx, signed.ID)
	require.NoError(t, err)
	assert.Equal(t, chains.NotFound, st.State)
	require.NoError(t, chain.Broadcast(ctx, signed))
	st, err = chain.Status(ctx, signed.ID)
	require.NoError(t, err)
	assert.Equal(t, chains.Pending, st.State)
	assert.Len(t, cl.txs, 1)

	_, err = chain.Status(ctx, "nothex")
	assert.Error(t, err)
	other := *signed
	other.Network = "Bitcoin"
	assert.ErrorIs(t, chain.Broadcast(ctx, &other), chains.ErrMismatch)
	bad := *signed
	bad.Raw = bad.Raw[:10]
	assert.ErrorIs(t, chain.Broadcast(ctx, &bad), chains.ErrInvalidPayload)
	offline, err := bitcoin.New(bitcoin.Config{Network: bitcoin.Signet})
	require.NoError(t, err)
	assert.ErrorIs(t, offline.Broadcast(ctx, signed), chains.ErrNoClient)
}
