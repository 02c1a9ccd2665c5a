package evm

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-mpc/cairn/chains"
)

// Client is what the adapter asks of a node. *ethclient.Client and the
// simulated backend's client implement it.
type Client interface {
	ChainID(ctx context.Context) (*big.Int, error)
	BlockNumber(ctx context.Context) (uint64, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	BalanceAt(ctx context.Context, account common.Address, block *big.Int) (*big.Int, error)
	PendingNonceAt(ctx context.Context, account common.Address) (uint64, error)
	CallContract(ctx context.Context, call ethereum.CallMsg, block *big.Int) ([]byte, error)
	EstimateGas(ctx context.Context, call ethereum.CallMsg) (uint64, error)
	SuggestGasPrice(ctx context.Context) (*big.Int, error)
	SuggestGasTipCap(ctx context.Context) (*big.Int, error)
	SendTransaction(ctx context.Context, tx *types.Transaction) error
	TransactionByHash(ctx context.Context, hash common.Hash) (tx *types.Transaction, isPending bool, err error)
	TransactionReceipt(ctx context.Context, hash common.Hash) (*types.Receipt, error)
}

// Config sets up an adapter.
type Config struct {
	// Network is one of Networks(), or any EVM network with a decimal
	// chain id (a devnet, the simulated backend's 1337).
	Network chains.Network
	// Client reaches a node of Network. Nil leaves an offline adapter:
	// Decode, Attach and messages work; Transfer needs Options with the
	// nonce, gas limit and fees given.
	Client Client
	// Tokens are the ERC-20 tokens transfers may name, with ID the
	// contract's address. Any other token is refused.
	Tokens []chains.Asset
}

// Chain is the EVM adapter. It implements chains.Chain and chains.Messages.
type Chain struct {
	net     chains.Network
	chainID *big.Int
	signer  types.Signer
	client  Client
	tokens  map[common.Address]chains.Asset
}

var (
	_ chains.Chain    = (*Chain)(nil)
	_ chains.Messages = (*Chain)(nil)
)

// New returns an adapter for cfg.Network.
func New(cfg Config) (*Chain, error) {
	if cfg.Network.Family != chains.EVM {
		return nil, fmt.Errorf("evm: network %q is of family %q", cfg.Network.Name, cfg.Network.Family)
	}
	id, err := chainID(cfg.Network)
	if err != nil {
		return nil, err
	}
	c := &Chain{net: cfg.Network, chainID: id, signer: types.LatestSignerForChainID(id), client: cfg.Client, tokens: map[common.Address]chains.Asset{}}
	for _, t := range cfg.Tokens {
		a, err := ParseAddress(cfg.Network.Name, t.ID)
		if err != nil {
			return nil, fmt.Errorf("evm: token %q: %w", t.Symbol, err)
		}
		if t.Symbol == "" {
			return nil, fmt.Errorf("evm: token %s has no symbol", a)
		}
		if _, dup := c.tokens[a]; dup {
			return nil, fmt.Errorf("evm: token %s listed twice", a)
		}
		t.ID = a.Hex()
		c.tokens[a] = t
	}
	return c, nil
}

// Network implements chains.Chain.
func (c *Chain) Network() chains.Network { return c.net }

// Address implements chains.Chain: the EIP-55 address of an ECDSA key.
func (c *Chain) Address(key chains.PublicKey) (string, error) {
	a, err := AddressOf(key)
	if err != nil {
		return "", err
	}
	return a.Hex(), nil
}

// ValidateAddress implements chains.Chain. EVM addresses are the same on
// every EVM network, so no address is of the wrong network.
func (c *Chain) ValidateAddress(addr string) error {
	_, err := ParseAddress(c.net.Name, addr)
	return err
}

// asset resolves a transfer's asset: "" is native, else a configured
// token by symbol or contract address.
func (c *Chain) asset(name string) (chains.Asset, error) {
	if name == "" || name == c.net.Native.Symbol {
		return c.net.Native, nil
	}
	if common.IsHexAddress(name) {
		if t, ok := c.tokens[common.HexToAddress(name)]; ok {
			return t, nil
		}
	}
	for _, t := range c.tokens {
		if t.Symbol == name {
			return t, nil
		}
	}
	return chains.Asset{}, fmt.Errorf("%w: %q on %s", chains.ErrUnknownAsset, name, c.net.Name)
}

// Broadcast implements chains.Chain. A transaction the node already holds
// is not an error.
func (c *Chain) Broadcast(ctx context.Context, s *chains.Signed) error {
	if c.client == nil {
		return chains.ErrNoClient
	}
	if s.Network != c.net.Name {
		return fmt.Errorf("%w: transaction for %q, adapter for %q", chains.ErrMismatch, s.Network, c.net.Name)
	}
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(s.Raw); err != nil {
		return fmt.Errorf("%w: %v", chains.ErrInvalidPayload, err)
	}
	if err := c.client.SendTransaction(ctx, tx); err != nil {
		if strings.Contains(err.Error(), "already known") {
			return nil
		}
		return fmt.Errorf("evm: sending %s: %w", tx.Hash(), err)
	}
	return nil
}

// Status implements chains.Chain; id is the 0x-prefixed transaction hash.
func (c *Chain) Status(ctx context.Context, id string) (chains.Status, error) {
	if c.client == nil {
		return chains.Status{}, chains.ErrNoClient
	}
	if len(id) != 66 || !strings.HasPrefix(id, "0x") {
		return chains.Status{}, fmt.Errorf("evm: %q is not a transaction hash", id)
	}
	h := common.HexToHash(id)
	r, err := c.client.TransactionReceipt(ctx, h)
	if notKnown(err) {
		_, pending, err := c.client.TransactionByHash(ctx, h)
		switch {
		case notKnown(err):
			return chains.Status{State: chains.NotFound}, nil
		case err != nil:
			return chains.Status{}, fmt.Errorf("evm: status of %s: %w", id, err)
		case pending:
			return chains.Status{State: chains.Pending}, nil
		}
		// Mined, but the receipt is not indexed yet.
		return chains.Status{State: chains.Pending}, nil
	}
	if err != nil {
		return chains.Status{}, fmt.Errorf("evm: status of %s: %w", id, err)
	}
	if r.BlockNumber == nil {
		return chains.Status{}, fmt.Errorf("evm: status of %s: the node's receipt has no block number", id)
	}
	tip, err := c.client.BlockNumber(ctx)
	if err != nil {
		return chains.Status{}, fmt.Errorf("evm: status of %s: %w", id, err)
	}
	st := chains.Status{State: chains.Included, Block: r.BlockNumber.Uint64()}
	if r.Status != types.ReceiptStatusSuccessful {
		st.State = chains.Failed
	}
	if tip >= st.Block {
		st.Confirmations = tip - st.Block + 1
	}
	return st, nil
}

// notKnown reports an answer that means the node cannot find the
// transaction: not found, or not yet indexed (a node still building its
// transaction index answers so; go-ethereum has no exported error for it).
func notKnown(err error) bool {
	return errors.Is(err, ethereum.NotFound) || (err != nil && strings.Contains(err.Error(), "transaction indexing is in progress"))
}
