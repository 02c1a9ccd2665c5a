package evm_test

import (
	"math/big"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/chaintest"
	"github.com/cairn-mpc/cairn/chains/evm"
)

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "0x0000000000000000000000000000000000000000", "0x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := evm.ParseAddress("Ethereum", s)
		if err != nil {
			return
		}
		// Whatever parses, parses again from its canonical form to itself.
		b, err := evm.ParseAddress("Ethereum", a.Hex())
		if err != nil || a != b {
			t.Fatalf("%q parsed to %s, which does not parse back: %v", s, a, err)
		}
	})
}

// FuzzDecode feeds untrusted payloads to Decode and, when they decode,
// checks Attach refuses a junk signature without panicking.
func FuzzDecode(f *testing.F) {
	token := common.HexToAddress("0x00000000000000000000000000000000000070cc")
	to := common.HexToAddress("0x00000000000000000000000000000000c0ffee04")
	xfer := append(common.FromHex("0xa9059cbb"), make([]byte, 64)...)
	copy(xfer[4+12:], to[:])
	xfer[67] = 9
	for _, tx := range []types.TxData{
		&types.DynamicFeeTx{ChainID: big.NewInt(1337), To: &to, Value: big.NewInt(5), Gas: 21000, GasFeeCap: big.NewInt(3), GasTipCap: big.NewInt(1)},
		&types.DynamicFeeTx{ChainID: big.NewInt(1337), To: &token, Data: xfer, Gas: 60000, GasFeeCap: big.NewInt(3), GasTipCap: big.NewInt(1)},
		&types.LegacyTx{To: &to, Value: big.NewInt(5), Gas: 21000, GasPrice: big.NewInt(3)},
	} {
		b, err := types.NewTx(tx).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	chain, err := evm.New(evm.Config{Network: simNet, Tokens: []chains.Asset{{Symbol: "T", ID: token.Hex()}}})
	if err != nil {
		f.Fatal(err)
	}
	key := chaintest.ECDSAKeyFromBytes(common.FromHex("0x4646464646464646464646464646464646464646464646464646464646464646")).Public()
	f.Fuzz(func(t *testing.T, payload []byte) {
		u, err := chain.Decode(key, payload)
		if err != nil {
			return
		}
		if u.Activity.Amount == nil || u.Activity.Amount.Sign() < 0 || u.Activity.Fee == nil || len(u.Digests) != 1 {
			t.Fatalf("decoded activity %+v", u.Activity)
		}
		if _, err := chain.Attach(u, [][]byte{make([]byte, 65)}); err == nil {
			t.Fatal("a zero signature attached")
		}
	})
}

func FuzzTypedData(f *testing.F) {
	b, err := os.ReadFile("testdata/eip712.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"types":{"EIP712Domain":[]},"primaryType":"EIP712Domain","domain":{},"message":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = evm.TypedDataHash(data)
	})
}
