package bitcoin

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/big"
	"slices"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/cairn-mpc/cairn/chains"
)

// Options adjust how a transfer is built; the zero value asks the client
// for the fee rate.
type Options struct {
	// FeeRate, if non-zero, is used instead of the client's estimate. It
	// may not be below MinRelayFeeRate.
	FeeRate FeeRate
}

// sequenceRBF signals BIP125 replaceability, so a stuck transfer can be
// bumped.
const sequenceRBF = wire.MaxTxInSequenceNum - 2

// Transfer implements chains.Chain with the zero Options.
func (c *Chain) Transfer(ctx context.Context, t chains.Transfer) (*chains.Unsigned, error) {
	return c.BuildTransfer(ctx, t, Options{})
}

// BuildTransfer builds an unsigned transfer as a PSBT: it selects coins
// from the UTXO source (largest first) to pay t.Amount and the fee at the
// fee rate, and returns any change above the dust limit to the wallet's
// own address. Change that would be dust goes to the fee instead.
func (c *Chain) BuildTransfer(ctx context.Context, t chains.Transfer, o Options) (*chains.Unsigned, error) {
	k, err := parseKey(t.From, c.params)
	if err != nil {
		return nil, err
	}
	to, err := ParseAddress(c.net.Name, c.params, t.To)
	if err != nil {
		return nil, err
	}
	if t.Asset != "" && t.Asset != c.net.Native.Symbol {
		return nil, fmt.Errorf("%w: %q: Bitcoin moves BTC only", chains.ErrUnknownAsset, t.Asset)
	}
	if err := chains.CheckAmount(t.Amount); err != nil {
		return nil, err
	}
	if !t.Amount.IsInt64() || t.Amount.Int64() > btcutil.MaxSatoshi {
		return nil, fmt.Errorf("%w: %v satoshis is more than there will ever be", chains.ErrInvalidAmount, t.Amount)
	}
	amount := t.Amount.Int64()
	toScript, err := txscript.PayToAddrScript(to)
	if err != nil {
		return nil, &chains.AddressError{Network: c.net.Name, Address: t.To, Reason: err.Error()}
	}
	pay := wire.NewTxOut(amount, toScript)
	if amount < dustLimit(pay) {
		return nil, fmt.Errorf("%w: %d satoshis is below the dust limit of %d for this output", chains.ErrInvalidAmount, amount, dustLimit(pay))
	}

	rate := o.FeeRate
	if rate == 0 {
		if c.client == nil {
			return nil, fmt.Errorf("bitcoin: no fee rate given: %w", chains.ErrNoClient)
		}
		if rate, err = c.client.FeeRate(ctx); err != nil {
			return nil, fmt.Errorf("bitcoin: fee rate: %w", err)
		}
		rate = max(rate, MinRelayFeeRate)
	}
	if rate < MinRelayFeeRate {
		return nil, fmt.Errorf("bitcoin: fee rate %d sat/kvB is below the minimum relay fee rate %d", rate, MinRelayFeeRate)
	}

	if c.utxos == nil {
		return nil, fmt.Errorf("bitcoin: no UTXO source: %w", chains.ErrNoClient)
	}
	coins, err := c.utxos.UTXOs(ctx, k.address.EncodeAddress())
	if err != nil {
		return nil, fmt.Errorf("bitcoin: listing coins of %s: %w", k.address.EncodeAddress(), err)
	}
	var have int64
	for _, u := range coins {
		if !bytes.Equal(u.PkScript, k.script) {
			return nil, fmt.Errorf("%w: the UTXO source offered %v, which is not the wallet's", chains.ErrMismatch, u.OutPoint)
		}
		if u.Value <= 0 || u.Value > btcutil.MaxSatoshi || have > btcutil.MaxSatoshi-u.Value {
			return nil, fmt.Errorf("%w: the UTXO source offered %v with %d satoshis", chains.ErrMismatch, u.OutPoint, u.Value)
		}
		have += u.Value
	}
	coins = slices.Clone(coins)
	slices.SortFunc(coins, func(a, b UTXO) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		if c := bytes.Compare(a.OutPoint.Hash[:], b.OutPoint.Hash[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.OutPoint.Index, b.OutPoint.Index)
	})

	change := wire.NewTxOut(0, k.script)
	var sum int64
	for n := 1; n <= len(coins); n++ {
		sum += coins[n-1].Value
		picked := coins[:n]
		withChange := feeFor(k, picked, []*wire.TxOut{pay, change}, rate)
		if left := sum - amount - withChange; left >= 0 && left >= dustLimit(change) {
			change.Value = left
			return c.finish(k, picked, []*wire.TxOut{pay, change}, t.From)
		}
		if sum-amount >= feeFor(k, picked, []*wire.TxOut{pay}, rate) {
			return c.finish(k, picked, []*wire.TxOut{pay}, t.From)
		}
	}
	need := amount + feeFor(k, coins, []*wire.TxOut{pay}, rate)
	return nil, &chains.InsufficientFundsError{Asset: c.net.Native.Symbol, Need: big.NewInt(need), Have: big.NewInt(have)}
}

// finish writes the PSBT and decodes it, so that what Transfer returns is
// exactly what Decode makes of the payload.
func (c *Chain) finish(k *walletKey, coins []UTXO, outs []*wire.TxOut, key chains.PublicKey) (*chains.Unsigned, error) {
	tx := wire.NewMsgTx(2)
	for _, u := range coins {
		in := wire.NewTxIn(&u.OutPoint, nil, nil)
		in.Sequence = sequenceRBF
		tx.AddTxIn(in)
	}
	for _, o := range outs {
		tx.AddTxOut(o)
	}
	p, err := psbt.NewFromUnsignedTx(tx)
	if err != nil {
		return nil, fmt.Errorf("bitcoin: PSBT: %w", err)
	}
	for i, u := range coins {
		in := &p.Inputs[i]
		in.WitnessUtxo = wire.NewTxOut(u.Value, u.PkScript)
		if k.scheme == chains.BIP340 {
			in.SighashType = txscript.SigHashDefault
			in.TaprootInternalKey = schnorr.SerializePubKey(k.pub)
		} else {
			in.SighashType = txscript.SigHashAll
		}
	}
	var buf bytes.Buffer
	if err := p.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("bitcoin: PSBT: %w", err)
	}
	return c.Decode(key, buf.Bytes())
}

// feeFor is the fee at rate of a transaction spending coins to outs, sized
// with the largest witnesses the wallet's signatures can make.
func feeFor(k *walletKey, coins []UTXO, outs []*wire.TxOut, rate FeeRate) int64 {
	tx := wire.NewMsgTx(2)
	for _, u := range coins {
		in := wire.NewTxIn(&u.OutPoint, nil, dummyWitness(k.scheme))
		tx.AddTxIn(in)
	}
	for _, o := range outs {
		tx.AddTxOut(o)
	}
	weight := int64(tx.SerializeSizeStripped())*3 + int64(tx.SerializeSize())
	vsize := (weight + 3) / 4
	return (vsize*int64(rate) + 999) / 1000
}

// dummyWitness is the largest witness a key-path spend of the scheme has:
// a 72-byte DER signature with its sighash byte and a compressed key for
// P2WPKH, a 64-byte signature for P2TR with the default sighash.
func dummyWitness(s chains.Scheme) wire.TxWitness {
	if s == chains.BIP340 {
		return wire.TxWitness{make([]byte, 64)}
	}
	return wire.TxWitness{make([]byte, 73), make([]byte, 33)}
}

// dustLimit is the smallest value an output may carry and still be relayed
// at the default dust relay fee (3000 sat/kvB), as Bitcoin Core computes
// it: 294 satoshis for P2WPKH, 330 for P2TR, 546 for P2PKH.
func dustLimit(out *wire.TxOut) int64 {
	size := int64(out.SerializeSize())
	if txscript.IsWitnessProgram(out.PkScript) {
		size += 32 + 4 + 1 + 107/4 + 4
	} else {
		size += 32 + 4 + 1 + 107 + 4
	}
	return size * 3
}
