package evm_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/evm"
)

func TestNetworks(t *testing.T) {
	t.Parallel()
	for id, name := range map[uint64]string{
		1: "Ethereum", 11155111: "Sepolia", 137: "Polygon", 42161: "Arbitrum", 8453: "Base",
		10: "Optimism", 56: "BSC", 43114: "Avalanche C-Chain",
	} {
		n, err := evm.NetworkByChainID(id)
		require.NoError(t, err)
		assert.Equal(t, name, n.Name)
		assert.Equal(t, chains.EVM, n.Family)
		assert.Equal(t, uint8(18), n.Native.Decimals)
		c, err := evm.New(evm.Config{Network: n})
		require.NoError(t, err)
		assert.Equal(t, n, c.Network())
	}
	_, err := evm.NetworkByChainID(5)
	assert.ErrorIs(t, err, chains.ErrUnknownNetwork)
	_, err = evm.New(evm.Config{Network: chains.Network{Name: "x", Family: chains.EVM, ChainID: "0x1"}})
	assert.Error(t, err)
	_, err = evm.New(evm.Config{Network: chains.Network{Name: "x", Family: chains.Solana, ChainID: "1"}})
	assert.Error(t, err)
	_, err = evm.New(evm.Config{Network: evm.Ethereum, Tokens: []chains.Asset{{Symbol: "BAD", ID: "0x12"}}})
	assert.ErrorIs(t, err, chains.ErrInvalidAddress)
}
