package solana

import (
	"context"
	"fmt"

	"github.com/gagliardetto/solana-go"

	"github.com/cairn-mpc/cairn/chains"
)

// Client is what the adapter asks of a cluster. RPC implements it over
// JSON-RPC.
type Client interface {
	// LatestBlockhash returns a recent blockhash for new transactions.
	LatestBlockhash(ctx context.Context) (solana.Hash, error)
	// Balance returns an account's lamports, zero for an account that
	// does not exist.
	Balance(ctx context.Context, account solana.PublicKey) (uint64, error)
	// TokenBalance returns the amount held by an SPL token account, and
	// whether the account exists.
	TokenBalance(ctx context.Context, account solana.PublicKey) (amount uint64, exists bool, err error)
	// SendTransaction submits a signed transaction in wire form.
	SendTransaction(ctx context.Context, tx []byte) error
	// SignatureStatus reports where the transaction with this first
	// signature stands.
	SignatureStatus(ctx context.Context, sig solana.Signature) (chains.Status, error)
}

// Config sets up an adapter.
type Config struct {
	// Network is one of Networks().
	Network chains.Network
	// Client reaches the cluster; nil leaves an offline adapter, where
	// Transfer needs Options.RecentBlockhash and checks no balance.
	Client Client
	// Tokens are the SPL tokens (classic Token program) transfers may
	// name, with ID the mint's address and the mint's decimals.
	Tokens []chains.Asset
}

// Chain is the Solana adapter. It implements chains.Chain.
type Chain struct {
	net    chains.Network
	client Client
	tokens map[solana.PublicKey]chains.Asset
}

var _ chains.Chain = (*Chain)(nil)

// New returns an adapter for cfg.Network.
func New(cfg Config) (*Chain, error) {
	if err := checkNetwork(cfg.Network); err != nil {
		return nil, err
	}
	c := &Chain{net: cfg.Network, client: cfg.Client, tokens: map[solana.PublicKey]chains.Asset{}}
	for _, t := range cfg.Tokens {
		mint, err := ParseAddress(cfg.Network.Name, t.ID)
		if err != nil {
			return nil, fmt.Errorf("solana: token %q: %w", t.Symbol, err)
		}
		if t.Symbol == "" {
			return nil, fmt.Errorf("solana: token %s has no symbol", mint)
		}
		if _, dup := c.tokens[mint]; dup {
			return nil, fmt.Errorf("solana: token %s listed twice", mint)
		}
		c.tokens[mint] = t
	}
	return c, nil
}

// Network implements chains.Chain.
func (c *Chain) Network() chains.Network { return c.net }

// Address implements chains.Chain: the base58 form of an Ed25519 key.
func (c *Chain) Address(key chains.PublicKey) (string, error) {
	pk, err := walletKey(key)
	if err != nil {
		return "", err
	}
	return pk.String(), nil
}

// ValidateAddress implements chains.Chain.
func (c *Chain) ValidateAddress(addr string) error {
	_, err := ParseAddress(c.net.Name, addr)
	return err
}

// asset resolves a transfer's asset: "" or the native symbol is SOL, else
// a configured token by symbol or mint address.
func (c *Chain) asset(name string) (chains.Asset, solana.PublicKey, error) {
	if name == "" || name == c.net.Native.Symbol {
		return c.net.Native, solana.PublicKey{}, nil
	}
	if mint, err := solana.PublicKeyFromBase58(name); err == nil {
		if t, ok := c.tokens[mint]; ok {
			return t, mint, nil
		}
	}
	for mint, t := range c.tokens {
		if t.Symbol == name {
			return t, mint, nil
		}
	}
	return chains.Asset{}, solana.PublicKey{}, fmt.Errorf("%w: %q on %s", chains.ErrUnknownAsset, name, c.net.Name)
}

// Broadcast implements chains.Chain.
func (c *Chain) Broadcast(ctx context.Context, s *chains.Signed) error {
	if c.client == nil {
		return chains.ErrNoClient
	}
	if s.Network != c.net.Name {
		return fmt.Errorf("%w: transaction for %q, adapter for %q", chains.ErrMismatch, s.Network, c.net.Name)
	}
	tx, err := solana.TransactionFromBytes(s.Raw)
	if err != nil {
		return fmt.Errorf("%w: %v", chains.ErrInvalidPayload, err)
	}
	if err := tx.VerifySignatures(); err != nil {
		return fmt.Errorf("%w: %v", chains.ErrInvalidSignature, err)
	}
	if err := c.client.SendTransaction(ctx, s.Raw); err != nil {
		return fmt.Errorf("solana: sending %s: %w", s.ID, err)
	}
	return nil
}

// Status implements chains.Chain; id is the transaction's first signature
// in base58.
func (c *Chain) Status(ctx context.Context, id string) (chains.Status, error) {
	if c.client == nil {
		return chains.Status{}, chains.ErrNoClient
	}
	sig, err := solana.SignatureFromBase58(id)
	if err != nil {
		return chains.Status{}, fmt.Errorf("solana: %q is not a signature: %v", id, err)
	}
	return c.client.SignatureStatus(ctx, sig)
}
