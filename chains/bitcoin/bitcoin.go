package bitcoin

import (
	"bytes"
	"context"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/cairn-mpc/cairn/chains"
)

// UTXO is an unspent output the wallet can spend.
type UTXO struct {
	OutPoint wire.OutPoint
	// Value is in satoshis.
	Value int64
	// PkScript is the output's script; it must be the wallet's.
	PkScript []byte
}

// UTXOSource lists the unspent outputs of an address: an indexer, a node's
// wallet, an Electrum server. Which outputs it offers (confirmed only, or
// not) is its policy.
type UTXOSource interface {
	UTXOs(ctx context.Context, address string) ([]UTXO, error)
}

// FeeRate is a fee rate in satoshis per 1000 virtual bytes (sat/kvB), the
// unit of Bitcoin Core's estimatesmartfee: 1 sat/vB is 1000.
type FeeRate int64

// MinRelayFeeRate is the default minimum relay fee rate of Bitcoin Core and
// btcd.
const MinRelayFeeRate FeeRate = 1000

// Client reaches the network: fee estimates, broadcast, status.
type Client interface {
	// FeeRate estimates the fee rate for timely confirmation.
	FeeRate(ctx context.Context) (FeeRate, error)
	// Broadcast sends a signed transaction.
	Broadcast(ctx context.Context, tx *wire.MsgTx) error
	// TxStatus reports where a transaction stands.
	TxStatus(ctx context.Context, txid chainhash.Hash) (chains.Status, error)
}

// Config sets up an adapter.
type Config struct {
	// Network is one of Networks().
	Network chains.Network
	// UTXOs lists the wallet's coins; Transfer needs it.
	UTXOs UTXOSource
	// Client estimates fees, broadcasts and tracks; nil leaves Transfer
	// needing Options.FeeRate, and Broadcast and Status failing with
	// chains.ErrNoClient.
	Client Client
}

// Chain is the Bitcoin adapter. It implements chains.Chain.
type Chain struct {
	net    chains.Network
	params *chaincfg.Params
	utxos  UTXOSource
	client Client
}

var _ chains.Chain = (*Chain)(nil)

// New returns an adapter for cfg.Network.
func New(cfg Config) (*Chain, error) {
	params, err := Params(cfg.Network)
	if err != nil {
		return nil, err
	}
	return &Chain{net: cfg.Network, params: params, utxos: cfg.UTXOs, client: cfg.Client}, nil
}

// Network implements chains.Chain.
func (c *Chain) Network() chains.Network { return c.net }

// Params returns btcd's parameters of the adapter's network.
func (c *Chain) Params() *chaincfg.Params { return c.params }

// Address implements chains.Chain: P2WPKH for an ECDSA key, P2TR with the
// BIP86 tweak (no script path) for a BIP340 key.
func (c *Chain) Address(key chains.PublicKey) (string, error) {
	k, err := parseKey(key, c.params)
	if err != nil {
		return "", err
	}
	return k.address.EncodeAddress(), nil
}

// ValidateAddress implements chains.Chain.
func (c *Chain) ValidateAddress(addr string) error {
	_, err := ParseAddress(c.net.Name, c.params, addr)
	return err
}

// Broadcast implements chains.Chain.
func (c *Chain) Broadcast(ctx context.Context, s *chains.Signed) error {
	if c.client == nil {
		return chains.ErrNoClient
	}
	if s.Network != c.net.Name {
		return fmt.Errorf("%w: transaction for %q, adapter for %q", chains.ErrMismatch, s.Network, c.net.Name)
	}
	tx := new(wire.MsgTx)
	if err := tx.Deserialize(bytes.NewReader(s.Raw)); err != nil {
		return fmt.Errorf("%w: %v", chains.ErrInvalidPayload, err)
	}
	if err := c.client.Broadcast(ctx, tx); err != nil {
		return fmt.Errorf("bitcoin: broadcasting %s: %w", tx.TxHash(), err)
	}
	return nil
}

// Status implements chains.Chain; id is the txid in its usual hex form.
func (c *Chain) Status(ctx context.Context, id string) (chains.Status, error) {
	if c.client == nil {
		return chains.Status{}, chains.ErrNoClient
	}
	h, err := chainhash.NewHashFromStr(id)
	if err != nil || len(id) != 2*chainhash.HashSize {
		return chains.Status{}, fmt.Errorf("bitcoin: %q is not a txid", id)
	}
	return c.client.TxStatus(ctx, *h)
}
