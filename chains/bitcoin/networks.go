package bitcoin

import (
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/cairn-mpc/cairn/chains"
)

func network(name string, params *chaincfg.Params, testnet bool) chains.Network {
	return chains.Network{Name: name, Family: chains.Bitcoin, ChainID: params.Name, Native: chains.Asset{Symbol: "BTC", Decimals: 8}, Testnet: testnet}
}

// The Bitcoin networks. ChainID is btcd's name of the chain.
var (
	Mainnet = network("Bitcoin", &chaincfg.MainNetParams, false)
	Testnet = network("Bitcoin Testnet", &chaincfg.TestNet3Params, true)
	Signet  = network("Bitcoin Signet", &chaincfg.SigNetParams, true)
	Regtest = network("Bitcoin Regtest", &chaincfg.RegressionNetParams, true)
)

// allParams are btcd's parameters of every network in Networks().
var allParams = []*chaincfg.Params{&chaincfg.MainNetParams, &chaincfg.TestNet3Params, &chaincfg.SigNetParams, &chaincfg.RegressionNetParams}

// Networks lists the Bitcoin networks.
func Networks() []chains.Network { return []chains.Network{Mainnet, Testnet, Signet, Regtest} }

// Params returns btcd's parameters of a Bitcoin network, found by ChainID.
func Params(n chains.Network) (*chaincfg.Params, error) {
	if n.Family != chains.Bitcoin {
		return nil, fmt.Errorf("%w: %q is not a Bitcoin network", chains.ErrUnknownNetwork, n.Name)
	}
	for _, p := range allParams {
		if p.Name == n.ChainID {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w: Bitcoin chain %q", chains.ErrUnknownNetwork, n.ChainID)
}
