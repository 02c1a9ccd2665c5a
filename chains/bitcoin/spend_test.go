package bitcoin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"math/big"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/bitcoin"
	"github.com/cairn-mpc/cairn/chains/chaintest"
)

// coins is an in-memory UTXO source.
type coins struct {
	mu     sync.Mutex
	byAddr map[string][]bitcoin.UTXO
}

func (c *coins) UTXOs(_ context.Context, addr string) ([]bitcoin.UTXO, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bitcoin.UTXO(nil), c.byAddr[addr]...), nil
}

// fund gives addr (whose script is script) one coin per value, each in a
// fresh random outpoint.
func (c *coins) fund(t *testing.T, chain *bitcoin.Chain, key chains.PublicKey, values ...int64) []bitcoin.UTXO {
	t.Helper()
	addr, err := chain.Address(key)
	require.NoError(t, err)
	a, err := bitcoin.ParseAddress("", chain.Params(), addr)
	require.NoError(t, err)
	script, err := txscript.PayToAddrScript(a)
	require.NoError(t, err)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byAddr == nil {
		c.byAddr = map[string][]bitcoin.UTXO{}
	}
	var out []bitcoin.UTXO
	for _, v := range values {
		var h chainhash.Hash
		_, _ = rand.Read(h[:])
		u := bitcoin.UTXO{OutPoint: wire.OutPoint{Hash: h, Index: uint32(len(c.byAddr[addr]))}, Value: v, PkScript: script}
		c.byAddr[addr] = append(c.byAddr[addr], u)
		out = append(out, u)
	}
	return out
}

// execute runs every input of tx through btcd's script engine, given the
// coins it spends.
func execute(t *testing.T, tx *wire.MsgTx, spent []bitcoin.UTXO) error {
	t.Helper()
	prevs := txscript.NewMultiPrevOutFetcher(nil)
	for _, u := range spent {
		prevs.AddPrevOut(u.OutPoint, wire.NewTxOut(u.Value, u.PkScript))
	}
	hashes := txscript.NewTxSigHashes(tx, prevs)
	for i, in := range tx.TxIn {
		prev := prevs.FetchPrevOutput(in.PreviousOutPoint)
		require.NotNil(t, prev, "input %d spends an unknown coin", i)
		vm, err := txscript.NewEngine(prev.PkScript, tx, i, txscript.StandardVerifyFlags, nil, hashes, prev.Value, prevs)
		require.NoError(t, err)
		if err := vm.Execute(); err != nil {
			return err
		}
	}
	return nil
}

func parseTx(t *testing.T, raw []byte) *wire.MsgTx {
	t.Helper()
	tx := new(wire.MsgTx)
	require.NoError(t, tx.Deserialize(bytes.NewReader(raw)))
	return tx
}

func vsize(tx *wire.MsgTx) int64 {
	return (int64(tx.SerializeSizeStripped())*3 + int64(tx.SerializeSize()) + 3) / 4
}

// spendTest builds, signs and verifies a transfer from key, then shows a
// tampered signature fails both Attach and the script engine.
func spendTest(t *testing.T, key chains.PublicKey, signer chains.Signer) {
	ctx := context.Background()
	src := &coins{}
	chain, err := bitcoin.New(bitcoin.Config{Network: bitcoin.Regtest, UTXOs: src})
	require.NoError(t, err)
	src.fund(t, chain, key, 40_000, 70_000, 9_000)
	from, err := chain.Address(key)
	require.NoError(t, err)
	to, err := chain.Address(chaintest.NewSchnorrKey().Public())
	require.NoError(t, err)

	const rate = 2500
	u, err := chain.BuildTransfer(ctx, chains.Transfer{From: key, To: to, Amount: big.NewInt(100_000)}, bitcoin.Options{FeeRate: rate})
	require.NoError(t, err)
	assert.Equal(t, from, u.Activity.From)
	assert.Equal(t, to, u.Activity.Recipient)
	assert.Equal(t, big.NewInt(100_000), u.Activity.Amount)
	assert.Equal(t, "BTC", u.Activity.Asset.Symbol)
	require.Len(t, u.Digests, 2, "largest coins first: 70k and 40k")

	sigs, err := chains.SignAll(ctx, signer, u)
	require.NoError(t, err)
	signed, err := chain.Attach(u, sigs)
	require.NoError(t, err)
	tx := parseTx(t, signed.Raw)
	assert.Equal(t, tx.TxHash().String(), signed.ID)
	all, err := src.UTXOs(ctx, from)
	require.NoError(t, err)
	require.NoError(t, execute(t, tx, all), "btcd's script engine accepts every input")

	// The fee is what the activity says, and at least the rate asked.
	var in, out int64
	for _, txin := range tx.TxIn {
		for _, c := range all {
			if c.OutPoint == txin.PreviousOutPoint {
				in += c.Value
			}
		}
	}
	for _, o := range tx.TxOut {
		out += o.Value
	}
	assert.Equal(t, u.Activity.Fee, big.NewInt(in-out))
	assert.GreaterOrEqual(t, in-out, vsize(tx)*rate/1000)
	assert.Less(t, in-out, (vsize(tx)+5)*rate/1000, "the size estimate is tight")
	require.Len(t, tx.TxOut, 2, "payment and change")
	assert.Equal(t, int64(100_000), tx.TxOut[0].Value)

	// A tampered signature: Attach refuses it, and so would the engine.
	for i := range sigs {
		bad := bytes.Clone(sigs[i])
		bad[7] ^= 0x01
		tampered := append([][]byte(nil), sigs...)
		tampered[i] = bad
		_, err := chain.Attach(u, tampered)
		assert.ErrorIs(t, err, chains.ErrInvalidSignature)
	}
	forged := tx.Copy()
	w := bytes.Clone(forged.TxIn[1].Witness[0])
	w[len(w)/2] ^= 0x01
	forged.TxIn[1].Witness[0] = w
	assert.Error(t, execute(t, forged, all), "the engine refuses a tampered witness")

	// PSBT out: the finalized PSBT extracts to the same transaction.
	out2, err := chain.AttachPSBT(u, sigs)
	require.NoError(t, err)
	p, err := psbt.NewFromRawBytes(bytes.NewReader(out2), false)
	require.NoError(t, err)
	assert.True(t, p.IsComplete())
	extracted, err := psbt.Extract(p)
	require.NoError(t, err)
	assert.Equal(t, tx.TxHash(), extracted.TxHash())
	assert.Equal(t, tx.WitnessHash(), extracted.WitnessHash())
}

func TestP2WPKHSpend(t *testing.T) {
	t.Parallel()
	key := chaintest.NewECDSAKey()
	spendTest(t, key.Public(), key)
}

func TestP2TRSpendPlainKey(t *testing.T) {
	t.Parallel()
	key := chaintest.NewSchnorrKey()
	spendTest(t, key.Public(), key)
}
