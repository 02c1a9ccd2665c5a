package bitcoin_test

import (
	"bytes"
	"context"
	"math/big"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/bitcoin"
	"github.com/cairn-mpc/cairn/chains/chaintest"
)

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
		"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
		"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "bc1", "",
	} {
		f.Add(s)
	}
	nets := []*chaincfg.Params{&chaincfg.MainNetParams, &chaincfg.TestNet3Params, &chaincfg.SigNetParams, &chaincfg.RegressionNetParams}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range nets {
			a, err := bitcoin.ParseAddress(p.Name, p, s)
			if err != nil {
				continue
			}
			// What parses is for the network and has a script.
			if !a.IsForNet(p) {
				t.Fatalf("%q parsed for %s but is not for it", s, p.Name)
			}
			if _, err := txscript.PayToAddrScript(a); err != nil {
				t.Fatalf("%q parsed but has no script: %v", s, err)
			}
			b, err := bitcoin.ParseAddress(p.Name, p, a.EncodeAddress())
			if err != nil || b.EncodeAddress() != a.EncodeAddress() {
				t.Fatalf("%q does not round-trip: %v", s, err)
			}
		}
	})
}

type fixedCoins []bitcoin.UTXO

func (c fixedCoins) UTXOs(context.Context, string) ([]bitcoin.UTXO, error) { return c, nil }

// FuzzDecode feeds untrusted PSBTs to Decode (for a P2WPKH and a P2TR key)
// and, when one decodes, checks Attach refuses junk signatures.
func FuzzDecode(f *testing.F) {
	chain, err := bitcoin.New(bitcoin.Config{Network: bitcoin.Regtest})
	if err != nil {
		f.Fatal(err)
	}
	keys := []chains.PublicKey{
		chaintest.ECDSAKeyFromBytes(bytes.Repeat([]byte{1}, 32)).Public(),
		chaintest.SchnorrKeyFromBytes(bytes.Repeat([]byte{2}, 32)).Public(),
	}
	for i, k := range keys {
		addr, err := chain.Address(k)
		if err != nil {
			f.Fatal(err)
		}
		a, _ := bitcoin.ParseAddress("", chain.Params(), addr)
		script, _ := txscript.PayToAddrScript(a)
		src := fixedCoins{
			{OutPoint: wire.OutPoint{Hash: chainhash.Hash{byte(i), 1}, Index: 0}, Value: 70_000, PkScript: script},
			{OutPoint: wire.OutPoint{Hash: chainhash.Hash{byte(i), 2}, Index: 3}, Value: 20_000, PkScript: script},
		}
		c, _ := bitcoin.New(bitcoin.Config{Network: bitcoin.Regtest, UTXOs: src})
		for _, amount := range []int64{10_000, 80_000} {
			u, err := c.BuildTransfer(context.Background(), chains.Transfer{From: k, To: addr, Amount: big.NewInt(amount)}, bitcoin.Options{FeeRate: 1000})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(u.Payload)
		}
	}
	f.Add([]byte("psbt\xff\x00"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, k := range keys {
			u, err := chain.Decode(k, payload)
			if err != nil {
				continue
			}
			if len(u.Digests) == 0 || u.Activity.Fee.Sign() < 0 || u.Activity.Amount.Sign() < 0 {
				t.Fatalf("decoded %+v", u.Activity)
			}
			junk := make([][]byte, len(u.Digests))
			for i := range junk {
				junk[i] = bytes.Repeat([]byte{byte(i + 1)}, 64)
			}
			if _, err := chain.Attach(u, junk); err == nil {
				t.Fatal("junk signatures attached")
			}
		}
	})
}
