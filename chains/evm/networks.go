package evm

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/cairn-mpc/cairn/chains"
)

func network(name string, id uint64, symbol string, testnet bool) chains.Network {
	return chains.Network{
		Name: name, Family: chains.EVM, ChainID: strconv.FormatUint(id, 10),
		Native: chains.Asset{Symbol: symbol, Decimals: 18}, Testnet: testnet,
	}
}

// The networks this package knows by chain id. Every one takes EIP-1559
// transactions.
var (
	Ethereum   = network("Ethereum", 1, "ETH", false)
	Sepolia    = network("Sepolia", 11155111, "ETH", true)
	Polygon    = network("Polygon", 137, "POL", false)
	Arbitrum   = network("Arbitrum", 42161, "ETH", false)
	Base       = network("Base", 8453, "ETH", false)
	Optimism   = network("Optimism", 10, "ETH", false)
	BSC        = network("BSC", 56, "BNB", false)
	AvalancheC = network("Avalanche C-Chain", 43114, "AVAX", false)
)

// Networks lists the known networks.
func Networks() []chains.Network {
	return []chains.Network{Ethereum, Sepolia, Polygon, Arbitrum, Base, Optimism, BSC, AvalancheC}
}

// NetworkByChainID returns the known network with EIP-155 chain id id, or
// chains.ErrUnknownNetwork.
func NetworkByChainID(id uint64) (chains.Network, error) {
	want := strconv.FormatUint(id, 10)
	for _, n := range Networks() {
		if n.ChainID == want {
			return n, nil
		}
	}
	return chains.Network{}, fmt.Errorf("%w: chain id %d", chains.ErrUnknownNetwork, id)
}

// chainID parses a network's decimal chain id.
func chainID(n chains.Network) (*big.Int, error) {
	id, ok := new(big.Int).SetString(n.ChainID, 10)
	if !ok || id.Sign() <= 0 {
		return nil, fmt.Errorf("evm: network %q has chain id %q, want a positive decimal integer", n.Name, n.ChainID)
	}
	return id, nil
}
