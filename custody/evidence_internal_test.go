package custody

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cairn-mpc/cairn/chains"
)

// TestSameTransferAddressForms: the gate accepts the forms of one address
// an adapter accepts (EIP-55 or not; a bech32 address in upper case, as
// QR codes carry it) and nothing else.
func TestSameTransferAddressForms(t *testing.T) {
	btc := chains.Network{Name: "Bitcoin", Family: chains.Bitcoin, Native: chains.Asset{Symbol: "BTC", Decimals: 8}}
	eth := chains.Network{Name: "Ethereum", Family: chains.EVM, Native: chains.Asset{Symbol: "ETH", Decimals: 18}}
	const bech32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
	const upper = "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ"
	const base58 = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
	cases := []struct {
		name    string
		n       chains.Network
		to, got string
		ok      bool
	}{
		{"bech32 as built", btc, bech32, bech32, true},
		{"bech32 in upper case", btc, upper, bech32, true},
		{"bech32 in mixed case", btc, "bc1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", bech32, false},
		{"base58 as built", btc, base58, base58, true},
		{"base58 in another case", btc, "1bvbmseystwetqtfn5au4m4gfg7xjanvn2", base58, false},
		{"another address", btc, bech32, base58, false},
		{"EVM, any case", eth, "0x00000000000000000000000000000000000000AA", "0x00000000000000000000000000000000000000aa", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := &TransferRequest{To: c.to, Amount: big.NewInt(5)}
			a := &chains.Activity{Kind: chains.KindTransfer, Recipient: c.got, Asset: c.n.Native, Amount: big.NewInt(5)}
			err := sameTransfer(c.n, body, a)
			if c.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}
