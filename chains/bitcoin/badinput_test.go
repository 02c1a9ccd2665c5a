package bitcoin_test

import (
	"bytes"
	"context"
	"math/big"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/bitcoin"
	"github.com/cairn-mpc/cairn/chains/chaintest"
)

func segwitAddr(t *testing.T, hrp string, version byte, program []byte, m bool) string {
	t.Helper()
	conv, err := bech32.ConvertBits(program, 8, 5, true)
	require.NoError(t, err)
	enc := bech32.Encode
	if m {
		enc = bech32.EncodeM
	}
	s, err := enc(hrp, append([]byte{version}, conv...))
	require.NoError(t, err)
	return s
}

func TestParseAddress(t *testing.T) {
	t.Parallel()
	p := &chaincfg.MainNetParams
	prog20, prog32 := bytes.Repeat([]byte{7}, 20), bytes.Repeat([]byte{9}, 32)
	for _, ok := range []string{
		"bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "BC1QCR8TE4KR609GCAWUTMRZA0J4XV80JY8Z306FYU",
		"bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
		"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", segwitAddr(t, "bc", 0, prog32, false),
	} {
		_, err := bitcoin.ParseAddress("Bitcoin", p, ok)
		assert.NoError(t, err, ok)
	}
	for _, tc := range []struct{ addr, reason string }{
		{"bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyv", "checksum"},
		{"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "checksum"},
		{segwitAddr(t, "bc", 0, prog20, true), "checksum"},  // v0 must be bech32
		{segwitAddr(t, "bc", 1, prog32, false), "checksum"}, // v1 must be bech32m
		{segwitAddr(t, "tb", 0, prog20, false), "wrong network"},
		{segwitAddr(t, "bcrt", 1, prog32, true), "wrong network"},
		{"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "wrong network"},
		{"2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", "wrong network"},
		{segwitAddr(t, "bc", 0, bytes.Repeat([]byte{7}, 21), false), "length"},
		{segwitAddr(t, "bc", 1, bytes.Repeat([]byte{7}, 31), true), "length"},
		{"bc1", "length"},
		{"", "length"},
		{segwitAddr(t, "bc", 2, prog20, true), "witness version"},
		{"xyz", "unknown format"},
	} {
		_, err := bitcoin.ParseAddress("Bitcoin", p, tc.addr)
		var ae *chains.AddressError
		if assert.ErrorAs(t, err, &ae, tc.addr) {
			assert.Contains(t, ae.Reason, tc.reason, tc.addr)
		}
		assert.ErrorIs(t, err, chains.ErrInvalidAddress)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &coins{}
	chain, err := bitcoin.New(bitcoin.Config{Network: bitcoin.Regtest, UTXOs: src})
	require.NoError(t, err)
	key := chaintest.NewECDSAKey()
	from := key.Public()
	src.fund(t, chain, from, 50_000, 30_000)
	to, err := chain.Address(chaintest.NewECDSAKey().Public())
	require.NoError(t, err)
	opts := bitcoin.Options{FeeRate: 1000}
	one := big.NewInt(1000)
	// Another last character: appending "x" to an address that ends in x
	// (one in 32) left it valid.
	badSum := to[:len(to)-1] + "x"
	if to[len(to)-1] == 'x' {
		badSum = to[:len(to)-1] + "q"
	}

	t.Run("intent", func(t *testing.T) {
		uncompressed := chains.PublicKey{Scheme: chains.ECDSA, Bytes: make([]byte, 65)}
		for _, tc := range []struct {
			name string
			tr   chains.Transfer
			want error
		}{
			{"mainnet address", chains.Transfer{From: from, To: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", Amount: one}, chains.ErrInvalidAddress},
			{"bad checksum", chains.Transfer{From: from, To: badSum, Amount: one}, chains.ErrInvalidAddress},
			{"nil amount", chains.Transfer{From: from, To: to}, chains.ErrInvalidAmount},
			{"zero", chains.Transfer{From: from, To: to, Amount: new(big.Int)}, chains.ErrInvalidAmount},
			{"negative", chains.Transfer{From: from, To: to, Amount: big.NewInt(-1)}, chains.ErrInvalidAmount},
			{"dust", chains.Transfer{From: from, To: to, Amount: big.NewInt(293)}, chains.ErrInvalidAmount},
			{"more than 21M BTC", chains.Transfer{From: from, To: to, Amount: big.NewInt(btcutil.MaxSatoshi + 1)}, chains.ErrInvalidAmount},
			{"above balance", chains.Transfer{From: from, To: to, Amount: big.NewInt(80_000)}, chains.ErrInsufficientFunds},
			{"a token", chains.Transfer{From: from, To: to, Asset: "USDT", Amount: one}, chains.ErrUnknownAsset},
			{"ed25519 key", chains.Transfer{From: chaintest.NewEd25519Key().Public(), To: to, Amount: one}, chains.ErrInvalidKey},
			{"uncompressed key", chains.Transfer{From: uncompressed, To: to, Amount: one}, chains.ErrInvalidKey},
			{"x-only key as ECDSA", chains.Transfer{From: chains.PublicKey{Scheme: chains.ECDSA, Bytes: make([]byte, 32)}, To: to, Amount: one}, chains.ErrInvalidKey},
		} {
			_, err := chain.BuildTransfer(ctx, tc.tr, opts)
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
		// Exactly the balance leaves nothing for the fee.
		_, err := chain.BuildTransfer(ctx, chains.Transfer{From: from, To: to, Amount: big.NewInt(80_000)}, opts)
		var ife *chains.InsufficientFundsError
		require.ErrorAs(t, err, &ife)
		assert.Equal(t, big.NewInt(80_000), ife.Have)
		// Without a client, a fee rate must be given.
		_, err = chain.Transfer(ctx, chains.Transfer{From: from, To: to, Amount: one})
		assert.ErrorIs(t, err, chains.ErrNoClient)
		_, err = chain.BuildTransfer(ctx, chains.Transfer{From: from, To: to, Amount: one}, bitcoin.Options{FeeRate: 999})
		assert.Error(t, err, "below the minimum relay fee rate")
	})

	t.Run("signatures", func(t *testing.T) {
		u, err := chain.BuildTransfer(ctx, chains.Transfer{From: from, To: to, Amount: big.NewInt(60_000)}, opts)
		require.NoError(t, err)
		require.Len(t, u.Digests, 2)
		good, err := chains.SignAll(ctx, key, u)
		require.NoError(t, err)
		other, err := chains.SignAll(ctx, chaintest.NewECDSAKey(), u)
		require.NoError(t, err)
		schnorrSig, err := chaintest.NewSchnorrKey().Sign(ctx, chains.Digest{Scheme: chains.BIP340, Bytes: u.Digests[0].Bytes})
		require.NoError(t, err)
		badV := bytes.Clone(good[0])
		badV[64] = 9
		for _, tc := range []struct {
			name string
			sigs [][]byte
		}{
			{"one short", good[:1]},
			{"one more", append(append([][]byte(nil), good...), good[0])},
			{"swapped", [][]byte{good[1], good[0]}},
			{"another key", other},
			{"63 bytes", [][]byte{good[0][:63], good[1]}},
			{"66 bytes", [][]byte{append(bytes.Clone(good[0]), 0), good[1]}},
			{"a bip340 signature", [][]byte{schnorrSig, good[1]}},
			{"recovery id 9", [][]byte{badV, good[1]}},
			{"zero", [][]byte{make([]byte, 64), good[1]}},
		} {
			_, err := chain.Attach(u, tc.sigs)
			assert.ErrorIs(t, err, chains.ErrInvalidSignature, tc.name)
		}
		forged := *u
		forged.Digests = []chains.Digest{u.Digests[1], u.Digests[0]}
		_, err = chain.Attach(&forged, good)
		assert.ErrorIs(t, err, chains.ErrMismatch)
		// 64-byte R‖S is taken as well as R‖S‖V.
		_, err = chain.Attach(u, [][]byte{good[0][:64], good[1][:64]})
		assert.NoError(t, err)
	})

	t.Run("taproot signatures", func(t *testing.T) {
		tk := chaintest.NewSchnorrKey()
		src.fund(t, chain, tk.Public(), 10_000)
		u, err := chain.BuildTransfer(ctx, chains.Transfer{From: tk.Public(), To: to, Amount: big.NewInt(5_000)}, opts)
		require.NoError(t, err)
		require.NotNil(t, u.Digests[0].Taproot, "a P2TR digest asks for the tweaked key")
		ecdsaSig, err := key.Sign(ctx, chains.Digest{Scheme: chains.ECDSA, Bytes: u.Digests[0].Bytes})
		require.NoError(t, err)
		untweaked, err := tk.Sign(ctx, chains.Digest{Scheme: chains.BIP340, Bytes: u.Digests[0].Bytes})
		require.NoError(t, err)
		for name, sig := range map[string][]byte{"ecdsa": ecdsaSig, "ecdsa without V": ecdsaSig[:64], "untweaked key": untweaked, "short": untweaked[:63]} {
			_, err := chain.Attach(u, [][]byte{sig})
			assert.ErrorIs(t, err, chains.ErrInvalidSignature, name)
		}
	})
}

// psbtFor returns a PSBT spending coins (described by their previous
// transactions) to outs.
func psbtFor(t *testing.T, prevs []*wire.MsgTx, outs []*wire.TxOut, edit func(*psbt.Packet)) []byte {
	t.Helper()
	var ops []*wire.OutPoint
	var seqs []uint32
	for _, p := range prevs {
		h := p.TxHash()
		ops = append(ops, wire.NewOutPoint(&h, 0))
		seqs = append(seqs, wire.MaxTxInSequenceNum)
	}
	p, err := psbt.New(ops, outs, 2, 0, seqs)
	require.NoError(t, err)
	for i, prev := range prevs {
		p.Inputs[i].NonWitnessUtxo = prev
	}
	if edit != nil {
		edit(p)
	}
	var buf bytes.Buffer
	require.NoError(t, p.Serialize(&buf))
	return buf.Bytes()
}

// TestPSBTIn decodes and signs a PSBT made outside the adapter, which
// carries previous transactions rather than witness UTXOs, and refuses
// PSBTs it cannot describe or sign.
func TestPSBTIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	chain, err := bitcoin.New(bitcoin.Config{Network: bitcoin.Testnet})
	require.NoError(t, err)
	key := chaintest.NewECDSAKey()
	addr, err := chain.Address(key.Public())
	require.NoError(t, err)
	a, err := bitcoin.ParseAddress("", chain.Params(), addr)
	require.NoError(t, err)
	mine, err := txscript.PayToAddrScript(a)
	require.NoError(t, err)
	prev := wire.NewMsgTx(2)
	prev.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 7}, []byte{0x51}, nil))
	prev.AddTxOut(wire.NewTxOut(90_000, mine))
	prev2 := prev.Copy()
	prev2.TxOut[0].Value = 10_000

	other := chaintest.NewECDSAKey()
	theirs, err := chain.Address(other.Public())
	require.NoError(t, err)
	ta, err := bitcoin.ParseAddress("", chain.Params(), theirs)
	require.NoError(t, err)
	theirScript, err := txscript.PayToAddrScript(ta)
	require.NoError(t, err)

	payload := psbtFor(t, []*wire.MsgTx{prev, prev2}, []*wire.TxOut{wire.NewTxOut(60_000, theirScript), wire.NewTxOut(39_000, mine)}, nil)
	u, err := chain.Decode(key.Public(), payload)
	require.NoError(t, err)
	assert.Equal(t, chains.Activity{
		Kind: chains.KindTransfer, Network: "Bitcoin Testnet", From: addr, Recipient: theirs,
		Asset: bitcoin.Testnet.Native, Amount: big.NewInt(60_000), Fee: big.NewInt(1_000),
	}, u.Activity)
	sigs, err := chains.SignAll(ctx, key, u)
	require.NoError(t, err)
	signed, err := chain.Attach(u, sigs)
	require.NoError(t, err)
	tx := parseTx(t, signed.Raw)
	spent := []bitcoin.UTXO{
		{OutPoint: tx.TxIn[0].PreviousOutPoint, Value: 90_000, PkScript: mine},
		{OutPoint: tx.TxIn[1].PreviousOutPoint, Value: 10_000, PkScript: mine},
	}
	require.NoError(t, execute(t, tx, spent))

	opReturn, err := txscript.NullDataScript([]byte("hello"))
	require.NoError(t, err)
	third, err := chain.Address(chaintest.NewSchnorrKey().Public())
	require.NoError(t, err)
	tha, err := bitcoin.ParseAddress("", chain.Params(), third)
	require.NoError(t, err)
	thirdScript, err := txscript.PayToAddrScript(tha)
	require.NoError(t, err)
	foreign := prev.Copy()
	foreign.TxOut[0].PkScript = theirScript
	pay := []*wire.TxOut{wire.NewTxOut(60_000, theirScript)}
	for _, tc := range []struct {
		name    string
		payload []byte
		want    error
	}{
		{"garbage", []byte("psbt\xff"), chains.ErrInvalidPayload},
		{"base64", []byte("cHNidP8BAH0CAAAA"), chains.ErrInvalidPayload},
		{"someone else's coin", psbtFor(t, []*wire.MsgTx{foreign}, pay, nil), chains.ErrUnsupported},
		{"two recipients", psbtFor(t, []*wire.MsgTx{prev}, []*wire.TxOut{pay[0], wire.NewTxOut(1_000, thirdScript)}, nil), chains.ErrUnsupported},
		{"OP_RETURN", psbtFor(t, []*wire.MsgTx{prev}, []*wire.TxOut{wire.NewTxOut(0, opReturn)}, nil), chains.ErrUnsupported},
		{"outputs exceed inputs", psbtFor(t, []*wire.MsgTx{prev}, []*wire.TxOut{wire.NewTxOut(90_001, theirScript)}, nil), chains.ErrInvalidPayload},
		{"SIGHASH_NONE", psbtFor(t, []*wire.MsgTx{prev}, pay, func(p *psbt.Packet) { p.Inputs[0].SighashType = txscript.SigHashNone }), chains.ErrUnsupported},
		{"no amount", psbtFor(t, []*wire.MsgTx{prev}, pay, func(p *psbt.Packet) { p.Inputs[0].NonWitnessUtxo = nil }), chains.ErrInvalidPayload},
		{"wrong previous transaction", psbtFor(t, []*wire.MsgTx{prev}, pay, func(p *psbt.Packet) { p.Inputs[0].NonWitnessUtxo = prev2 }), chains.ErrInvalidPayload},
		{"witness UTXO lies about the amount", psbtFor(t, []*wire.MsgTx{prev}, pay, func(p *psbt.Packet) {
			p.Inputs[0].WitnessUtxo = wire.NewTxOut(900_000, mine)
		}), chains.ErrInvalidPayload},
	} {
		_, err := chain.Decode(key.Public(), tc.payload)
		assert.ErrorIs(t, err, tc.want, tc.name)
	}
	// Scripts carry no network, so a mainnet adapter decodes the same PSBT
	// (with mainnet addresses); the testnet adapter refuses its Unsigned.
	main := mainnet(t)
	um, err := main.Decode(key.Public(), payload)
	require.NoError(t, err)
	assert.NotEqual(t, u.Activity.From, um.Activity.From)
	_, err = chain.Attach(um, sigs)
	assert.ErrorIs(t, err, chains.ErrMismatch, "an Unsigned of another network")
}
