package evm

import (
	"bytes"
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-mpc/cairn/chains"
)

// Options adjust how a transfer is built; the zero value asks the client
// for everything and builds an EIP-1559 transaction.
type Options struct {
	// Legacy builds an EIP-155 (type 0) transaction instead of EIP-1559.
	Legacy bool
	// Nonce, if set, is used instead of the client's pending nonce.
	Nonce *uint64
	// GasLimit, if non-zero, is used instead of the client's estimate.
	GasLimit uint64
	// GasPrice (legacy) overrides the client's suggested gas price.
	GasPrice *big.Int
	// GasTipCap and GasFeeCap (EIP-1559) override the client's suggested
	// tip and the fee cap of twice the latest base fee plus the tip.
	GasTipCap, GasFeeCap *big.Int
	// SkipBalanceCheck builds the transaction without asking the client
	// for balances (an offline build); the node will refuse it if funds
	// are short.
	SkipBalanceCheck bool
}

// transferSelector is the ERC-20 transfer(address,uint256) selector.
var transferSelector = []byte{0xa9, 0x05, 0x9c, 0xbb}

// balanceOfSelector is the ERC-20 balanceOf(address) selector.
var balanceOfSelector = []byte{0x70, 0xa0, 0x82, 0x31}

// gasMargin is the percentage added to a gas estimate for a call into a
// contract, whose cost may move between estimate and inclusion.
const gasMargin = 20

// Transfer implements chains.Chain with the zero Options.
func (c *Chain) Transfer(ctx context.Context, t chains.Transfer) (*chains.Unsigned, error) {
	return c.BuildTransfer(ctx, t, Options{})
}

// BuildTransfer builds an unsigned native or ERC-20 transfer. It checks the
// intent, then (unless o says otherwise) asks the client for the chain id,
// nonce, gas and fees, and checks the balance covers the amount and the
// most the fee can be.
func (c *Chain) BuildTransfer(ctx context.Context, t chains.Transfer, o Options) (*chains.Unsigned, error) {
	from, err := AddressOf(t.From)
	if err != nil {
		return nil, err
	}
	to, err := ParseAddress(c.net.Name, t.To)
	if err != nil {
		return nil, err
	}
	if err := chains.CheckAmount(t.Amount); err != nil {
		return nil, err
	}
	if t.Amount.BitLen() > 256 {
		return nil, fmt.Errorf("%w: %v does not fit in 256 bits", chains.ErrInvalidAmount, t.Amount)
	}
	asset, err := c.asset(t.Asset)
	if err != nil {
		return nil, err
	}
	call := ethereum.CallMsg{From: from, To: &to, Value: new(big.Int).Set(t.Amount)}
	if !asset.IsNative() {
		contract := common.HexToAddress(asset.ID)
		call = ethereum.CallMsg{From: from, To: &contract, Value: new(big.Int), Data: transferData(to, t.Amount)}
	}

	needClient := o.Nonce == nil || o.GasLimit == 0 || !o.SkipBalanceCheck ||
		(o.Legacy && o.GasPrice == nil) || (!o.Legacy && (o.GasTipCap == nil || o.GasFeeCap == nil))
	if needClient {
		if c.client == nil {
			return nil, fmt.Errorf("evm: building a transfer without nonce, gas and fees given: %w", chains.ErrNoClient)
		}
		id, err := c.client.ChainID(ctx)
		if err != nil {
			return nil, fmt.Errorf("evm: chain id: %w", err)
		}
		if id.Cmp(c.chainID) != 0 {
			return nil, fmt.Errorf("%w: client is on chain %v, adapter on %v (%s)", chains.ErrMismatch, id, c.chainID, c.net.Name)
		}
	}
	if !o.SkipBalanceCheck && !asset.IsNative() {
		have, err := c.tokenBalance(ctx, common.HexToAddress(asset.ID), from)
		if err != nil {
			return nil, err
		}
		if have.Cmp(t.Amount) < 0 {
			return nil, &chains.InsufficientFundsError{Asset: asset.Symbol, Need: new(big.Int).Set(t.Amount), Have: have}
		}
	}

	var balance *big.Int
	if !o.SkipBalanceCheck {
		if balance, err = c.client.BalanceAt(ctx, from, nil); err != nil {
			return nil, fmt.Errorf("evm: balance of %s: %w", from, err)
		}
		if balance.Cmp(call.Value) < 0 {
			return nil, &chains.InsufficientFundsError{Asset: c.net.Native.Symbol, Need: new(big.Int).Set(call.Value), Have: balance}
		}
	}

	var nonce uint64
	if o.Nonce != nil {
		nonce = *o.Nonce
	} else if nonce, err = c.client.PendingNonceAt(ctx, from); err != nil {
		return nil, fmt.Errorf("evm: nonce of %s: %w", from, err)
	}

	var inner types.TxData
	var price *big.Int // the most one unit of gas can cost
	if o.Legacy {
		gp := o.GasPrice
		if gp == nil {
			if gp, err = c.client.SuggestGasPrice(ctx); err != nil {
				return nil, fmt.Errorf("evm: gas price: %w", err)
			}
		}
		price = gp
		inner = &types.LegacyTx{Nonce: nonce, GasPrice: gp, To: call.To, Value: call.Value, Data: call.Data}
	} else {
		tip, feeCap := o.GasTipCap, o.GasFeeCap
		if tip == nil {
			if tip, err = c.client.SuggestGasTipCap(ctx); err != nil {
				return nil, fmt.Errorf("evm: gas tip: %w", err)
			}
		}
		if feeCap == nil {
			head, err := c.client.HeaderByNumber(ctx, nil)
			if err != nil {
				return nil, fmt.Errorf("evm: latest header: %w", err)
			}
			base := head.BaseFee
			if base == nil {
				base = new(big.Int)
			}
			feeCap = new(big.Int).Add(new(big.Int).Lsh(base, 1), tip)
		}
		if tip.Cmp(feeCap) > 0 {
			return nil, fmt.Errorf("evm: gas tip %v above fee cap %v", tip, feeCap)
		}
		price = feeCap
		inner = &types.DynamicFeeTx{ChainID: c.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, To: call.To, Value: call.Value, Data: call.Data}
	}

	gas := o.GasLimit
	if gas == 0 {
		if gas, err = c.client.EstimateGas(ctx, call); err != nil {
			return nil, fmt.Errorf("evm: estimating gas: %w", err)
		}
		if len(call.Data) > 0 || gas > 21000 {
			gas += gas * gasMargin / 100
		}
	}
	switch tx := inner.(type) {
	case *types.LegacyTx:
		tx.Gas = gas
	case *types.DynamicFeeTx:
		tx.Gas = gas
	}

	fee := new(big.Int).Mul(new(big.Int).SetUint64(gas), price)
	if !o.SkipBalanceCheck {
		need := new(big.Int).Add(fee, call.Value)
		if balance.Cmp(need) < 0 {
			return nil, &chains.InsufficientFundsError{Asset: c.net.Native.Symbol, Need: need, Have: balance}
		}
	}

	payload, err := types.NewTx(inner).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("evm: encoding: %w", err)
	}
	return c.Decode(t.From, payload)
}

// transferData is the calldata of ERC-20 transfer(to, amount).
func transferData(to common.Address, amount *big.Int) []byte {
	data := make([]byte, 4+32+32)
	copy(data, transferSelector)
	copy(data[4+12:], to[:])
	amount.FillBytes(data[4+32:])
	return data
}

func (c *Chain) tokenBalance(ctx context.Context, token, holder common.Address) (*big.Int, error) {
	data := make([]byte, 4+32)
	copy(data, balanceOfSelector)
	copy(data[4+12:], holder[:])
	out, err := c.client.CallContract(ctx, ethereum.CallMsg{To: &token, Data: data}, nil)
	if err != nil {
		return nil, fmt.Errorf("evm: balanceOf(%s) on %s: %w", holder, token, err)
	}
	if len(out) != 32 {
		return nil, fmt.Errorf("evm: balanceOf on %s returned %d bytes: is it an ERC-20 contract?", token, len(out))
	}
	return new(big.Int).SetBytes(out), nil
}

// Decode implements chains.Chain. The payload is an unsigned legacy or
// EIP-1559 transaction in its EIP-2718 encoding, on this chain, that
// transfers the native asset (empty calldata) or calls transfer on a
// configured ERC-20 token with no value.
func (c *Chain) Decode(key chains.PublicKey, payload []byte) (*chains.Unsigned, error) {
	u, _, err := c.decode(key, payload)
	return u, err
}

// decode is Decode, also returning the decoded transaction for Attach.
func (c *Chain) decode(key chains.PublicKey, payload []byte) (*chains.Unsigned, *types.Transaction, error) {
	from, err := AddressOf(key)
	if err != nil {
		return nil, nil, err
	}
	tx, err := c.decodeTx(payload)
	if err != nil {
		return nil, nil, err
	}
	act := chains.Activity{Kind: chains.KindTransfer, Network: c.net.Name, From: from.Hex()}
	if tx.To() == nil {
		return nil, nil, fmt.Errorf("%w: contract creation", chains.ErrUnsupported)
	}
	price := tx.GasFeeCap() // the gas price for a legacy transaction
	act.Fee = new(big.Int).Mul(new(big.Int).SetUint64(tx.Gas()), price)
	data := tx.Data()
	switch {
	case len(data) == 0:
		act.Asset, act.Recipient, act.Amount = c.net.Native, tx.To().Hex(), tx.Value()
	case len(data) == 68 && bytes.Equal(data[:4], transferSelector):
		token, ok := c.tokens[*tx.To()]
		if !ok {
			return nil, nil, fmt.Errorf("%w: transfer on contract %s", chains.ErrUnknownAsset, tx.To())
		}
		if tx.Value().Sign() != 0 {
			return nil, nil, fmt.Errorf("%w: a token transfer that also sends %v wei", chains.ErrUnsupported, tx.Value())
		}
		if !isZero(data[4 : 4+12]) {
			return nil, nil, fmt.Errorf("%w: transfer recipient is not an address", chains.ErrInvalidPayload)
		}
		act.Asset = token
		act.Recipient = common.BytesToAddress(data[4+12 : 4+32]).Hex()
		act.Amount = new(big.Int).SetBytes(data[4+32:])
	default:
		return nil, nil, fmt.Errorf("%w: a contract call that is not an ERC-20 transfer", chains.ErrUnsupported)
	}
	return &chains.Unsigned{
		Network:  c.net.Name,
		Key:      chains.PublicKey{Scheme: key.Scheme, Bytes: bytes.Clone(key.Bytes)},
		Payload:  bytes.Clone(payload),
		Activity: act,
		Digests:  []chains.Digest{{Scheme: chains.ECDSA, Bytes: c.signer.Hash(tx).Bytes()}},
	}, tx, nil
}

// decodeTx decodes an unsigned transaction of a type this adapter builds,
// for this chain.
func (c *Chain) decodeTx(payload []byte) (*types.Transaction, error) {
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(payload); err != nil {
		return nil, fmt.Errorf("%w: %v", chains.ErrInvalidPayload, err)
	}
	switch tx.Type() {
	case types.LegacyTxType, types.DynamicFeeTxType:
	default:
		return nil, fmt.Errorf("%w: transaction type %d", chains.ErrUnsupported, tx.Type())
	}
	if v, r, s := tx.RawSignatureValues(); v.Sign() != 0 || r.Sign() != 0 || s.Sign() != 0 {
		return nil, fmt.Errorf("%w: the transaction is already signed", chains.ErrInvalidPayload)
	}
	if tx.Type() != types.LegacyTxType && tx.ChainId().Cmp(c.chainID) != 0 {
		return nil, fmt.Errorf("%w: transaction for chain %v, adapter for %v (%s)", chains.ErrMismatch, tx.ChainId(), c.chainID, c.net.Name)
	}
	return tx, nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// Attach implements chains.Chain. It takes one 65-byte signature R‖S‖V
// (V the recovery id, 0/1 or 27/28); a high S is replaced by its low
// twin. The signed transaction must recover to the address of u.Key.
func (c *Chain) Attach(u *chains.Unsigned, sigs [][]byte) (*chains.Signed, error) {
	if u.Network != c.net.Name {
		return nil, fmt.Errorf("%w: transaction for %q, adapter for %q", chains.ErrMismatch, u.Network, c.net.Name)
	}
	d, tx, err := c.decode(u.Key, u.Payload)
	if err != nil {
		return nil, err
	}
	if err := chains.CheckDigests(u.Digests, d.Digests); err != nil {
		return nil, err
	}
	if len(sigs) != 1 {
		return nil, fmt.Errorf("%w: %d signatures for one digest", chains.ErrInvalidSignature, len(sigs))
	}
	sig, err := NormalizeSignature(sigs[0])
	if err != nil {
		return nil, err
	}
	signed, err := tx.WithSignature(c.signer, sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", chains.ErrInvalidSignature, err)
	}
	sender, err := types.Sender(c.signer, signed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", chains.ErrInvalidSignature, err)
	}
	if want := common.HexToAddress(d.Activity.From); sender != want {
		return nil, fmt.Errorf("%w: signature recovers to %s, not the wallet's %s", chains.ErrInvalidSignature, sender, want)
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("evm: encoding: %w", err)
	}
	return &chains.Signed{Network: c.net.Name, ID: signed.Hash().Hex(), Raw: raw}, nil
}
