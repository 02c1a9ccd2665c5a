package solana

import (
	"fmt"

	"github.com/cairn-mpc/cairn/chains"
)

func network(name, cluster string, testnet bool) chains.Network {
	return chains.Network{Name: name, Family: chains.Solana, ChainID: cluster, Native: chains.Asset{Symbol: "SOL", Decimals: 9}, Testnet: testnet}
}

// The Solana clusters. ChainID is the cluster's name.
var (
	Mainnet = network("Solana", "mainnet-beta", false)
	Devnet  = network("Solana Devnet", "devnet", true)
	Testnet = network("Solana Testnet", "testnet", true)
)

// Networks lists the Solana clusters.
func Networks() []chains.Network { return []chains.Network{Mainnet, Devnet, Testnet} }

func checkNetwork(n chains.Network) error {
	if n.Family != chains.Solana {
		return fmt.Errorf("%w: %q is not a Solana network", chains.ErrUnknownNetwork, n.Name)
	}
	if n.Name == "" || n.Native.Symbol == "" {
		return fmt.Errorf("solana: network %q needs a name and a native asset", n.Name)
	}
	return nil
}
