package bitcoin

import (
	"bytes"
	"fmt"
	"math/big"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/cairn-mpc/cairn/chains"
)

// MaxPSBT bounds the PSBTs Decode reads.
const MaxPSBT = 4 << 20

// spend is a decoded PSBT spending the wallet's coins.
type spend struct {
	packet  *psbt.Packet
	key     *walletKey
	prevs   *txscript.MultiPrevOutFetcher
	hashes  *txscript.TxSigHashes
	types   []txscript.SigHashType
	digests []chains.Digest
	act     chains.Activity
}

// Decode implements chains.Chain. The payload is a BIP174 PSBT (binary,
// not base64) whose every input spends a coin of key's address, with its
// amount given (witness UTXO, or the whole previous transaction, which is
// then checked against the outpoint); sighash types ALL (P2WPKH) or
// DEFAULT or ALL (P2TR) only; outputs paying one recipient besides change
// to the wallet's address. A PSBT made elsewhere is welcome on those terms
// (PSBT in).
//
// For P2WPKH inputs, signatures commit to each input's own amount only
// (BIP143), so the fee reported for a PSBT made elsewhere is as true as
// the amounts it claims, unless it carries the previous transactions. P2TR
// signatures commit to every input's amount and script (BIP341).
func (c *Chain) Decode(key chains.PublicKey, payload []byte) (*chains.Unsigned, error) {
	s, err := c.decode(key, payload)
	if err != nil {
		return nil, err
	}
	return &chains.Unsigned{
		Network:  c.net.Name,
		Key:      chains.PublicKey{Scheme: key.Scheme, Bytes: bytes.Clone(key.Bytes)},
		Payload:  bytes.Clone(payload),
		Activity: s.act,
		Digests:  s.digests,
	}, nil
}

func (c *Chain) decode(key chains.PublicKey, payload []byte) (*spend, error) {
	k, err := parseKey(key, c.params)
	if err != nil {
		return nil, err
	}
	if len(payload) > MaxPSBT {
		return nil, fmt.Errorf("%w: PSBT of %d bytes, limit %d", chains.ErrInvalidPayload, len(payload), MaxPSBT)
	}
	p, err := psbt.NewFromRawBytes(bytes.NewReader(payload), false)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", chains.ErrInvalidPayload, err)
	}
	if err := p.SanityCheck(); err != nil {
		return nil, fmt.Errorf("%w: %v", chains.ErrInvalidPayload, err)
	}
	tx := p.UnsignedTx
	if len(tx.TxIn) == 0 || len(tx.TxOut) == 0 {
		return nil, fmt.Errorf("%w: a transaction needs inputs and outputs", chains.ErrInvalidPayload)
	}
	s := &spend{packet: p, key: k, prevs: txscript.NewMultiPrevOutFetcher(nil)}
	var in, out int64
	for i, txin := range tx.TxIn {
		prev, err := prevOut(&p.Inputs[i], txin.PreviousOutPoint)
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		if !bytes.Equal(prev.PkScript, k.script) {
			return nil, fmt.Errorf("%w: input %d does not spend a coin of %s", chains.ErrUnsupported, i, k.address)
		}
		if prev.Value <= 0 || prev.Value > btcutil.MaxSatoshi || in > btcutil.MaxSatoshi-prev.Value {
			return nil, fmt.Errorf("%w: input %d carries %d satoshis", chains.ErrInvalidPayload, i, prev.Value)
		}
		if s.prevs.FetchPrevOutput(txin.PreviousOutPoint) != nil {
			return nil, fmt.Errorf("%w: input %d spends %v twice", chains.ErrInvalidPayload, i, txin.PreviousOutPoint)
		}
		in += prev.Value
		s.prevs.AddPrevOut(txin.PreviousOutPoint, prev)
		ht := p.Inputs[i].SighashType
		switch {
		case k.scheme == chains.ECDSA && (ht == 0 || ht == txscript.SigHashAll):
			ht = txscript.SigHashAll
		case k.scheme == chains.BIP340 && (ht == txscript.SigHashDefault || ht == txscript.SigHashAll):
			if len(p.Inputs[i].TaprootMerkleRoot) != 0 {
				return nil, fmt.Errorf("%w: input %d has a script tree; only BIP86 key-path spends are signed", chains.ErrUnsupported, i)
			}
		default:
			return nil, fmt.Errorf("%w: input %d asks for sighash type 0x%x", chains.ErrUnsupported, i, uint32(ht))
		}
		s.types = append(s.types, ht)
	}

	var recipient []byte
	var amount, change int64
	for i, o := range tx.TxOut {
		if o.Value < 0 || o.Value > btcutil.MaxSatoshi || out > btcutil.MaxSatoshi-o.Value {
			return nil, fmt.Errorf("%w: output %d carries %d satoshis", chains.ErrInvalidPayload, i, o.Value)
		}
		out += o.Value
		if bytes.Equal(o.PkScript, k.script) {
			change += o.Value
			continue
		}
		if recipient != nil && !bytes.Equal(recipient, o.PkScript) {
			return nil, fmt.Errorf("%w: more than one recipient", chains.ErrUnsupported)
		}
		recipient = o.PkScript
		amount += o.Value
	}
	if in < out {
		return nil, fmt.Errorf("%w: outputs (%d) exceed inputs (%d)", chains.ErrInvalidPayload, out, in)
	}
	to := k.address
	if recipient == nil {
		amount = change // a transfer to oneself: consolidation
	} else {
		class, addrs, _, err := txscript.ExtractPkScriptAddrs(recipient, c.params)
		if err != nil || len(addrs) != 1 || class == txscript.NonStandardTy || class == txscript.NullDataTy ||
			class == txscript.PubKeyTy || class == txscript.MultiSigTy || class == txscript.WitnessUnknownTy {
			return nil, fmt.Errorf("%w: an output to a %v script", chains.ErrUnsupported, class)
		}
		to = addrs[0]
	}
	s.act = chains.Activity{
		Kind: chains.KindTransfer, Network: c.net.Name, From: k.address.EncodeAddress(), Recipient: to.EncodeAddress(),
		Asset: c.net.Native, Amount: big.NewInt(amount), Fee: big.NewInt(in - out),
	}

	s.hashes = txscript.NewTxSigHashes(tx, s.prevs)
	for i := range tx.TxIn {
		var h []byte
		d := chains.Digest{Scheme: k.scheme}
		if k.scheme == chains.BIP340 {
			h, err = txscript.CalcTaprootSignatureHash(s.hashes, s.types[i], tx, i, s.prevs)
			d.Taproot = &chains.Taproot{}
		} else {
			// Given the P2WPKH script, btcd writes BIP143's script code
			// (the key's P2PKH script) itself.
			prev := s.prevs.FetchPrevOutput(tx.TxIn[i].PreviousOutPoint)
			h, err = txscript.CalcWitnessSigHash(k.script, s.hashes, s.types[i], tx, i, prev.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: sighash of input %d: %v", chains.ErrInvalidPayload, i, err)
		}
		d.Bytes = h
		s.digests = append(s.digests, d)
	}
	return s, nil
}

// prevOut returns the output an input spends, from the PSBT's witness UTXO
// or its previous transaction; when both are there they must agree.
func prevOut(in *psbt.PInput, op wire.OutPoint) (*wire.TxOut, error) {
	var fromTx *wire.TxOut
	if in.NonWitnessUtxo != nil {
		if in.NonWitnessUtxo.TxHash() != op.Hash || int(op.Index) >= len(in.NonWitnessUtxo.TxOut) {
			return nil, fmt.Errorf("%w: its previous transaction is not the one it spends", chains.ErrInvalidPayload)
		}
		fromTx = in.NonWitnessUtxo.TxOut[op.Index]
	}
	switch {
	case in.WitnessUtxo != nil && fromTx != nil:
		if in.WitnessUtxo.Value != fromTx.Value || !bytes.Equal(in.WitnessUtxo.PkScript, fromTx.PkScript) {
			return nil, fmt.Errorf("%w: its witness UTXO disagrees with its previous transaction", chains.ErrInvalidPayload)
		}
		return fromTx, nil
	case in.WitnessUtxo != nil:
		return in.WitnessUtxo, nil
	case fromTx != nil:
		return fromTx, nil
	}
	return nil, fmt.Errorf("%w: the amount it spends is not given", chains.ErrInvalidPayload)
}

// Attach implements chains.Chain: one signature per input, in order. For
// P2WPKH a 64-byte R‖S or 65-byte R‖S‖V ECDSA signature (S is made low);
// for P2TR a 64-byte BIP340 signature under the BIP86 output key. Each
// signature is verified, and then every input of the finished transaction
// is run through btcd's script engine with the standard verification flags.
func (c *Chain) Attach(u *chains.Unsigned, sigs [][]byte) (*chains.Signed, error) {
	_, tx, err := c.finalize(u, sigs)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("bitcoin: encoding: %w", err)
	}
	return &chains.Signed{Network: c.net.Name, ID: tx.TxHash().String(), Raw: buf.Bytes()}, nil
}

// AttachPSBT is Attach returning the finalized PSBT (every input's final
// witness set; PSBT out) instead of the transaction, for a wallet or node
// that takes PSBTs.
func (c *Chain) AttachPSBT(u *chains.Unsigned, sigs [][]byte) ([]byte, error) {
	p, _, err := c.finalize(u, sigs)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := p.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("bitcoin: PSBT: %w", err)
	}
	return buf.Bytes(), nil
}

func (c *Chain) finalize(u *chains.Unsigned, sigs [][]byte) (*psbt.Packet, *wire.MsgTx, error) {
	if u.Network != c.net.Name {
		return nil, nil, fmt.Errorf("%w: transaction for %q, adapter for %q", chains.ErrMismatch, u.Network, c.net.Name)
	}
	s, err := c.decode(u.Key, u.Payload)
	if err != nil {
		return nil, nil, err
	}
	if err := chains.CheckDigests(u.Digests, s.digests); err != nil {
		return nil, nil, err
	}
	if len(sigs) != len(s.digests) {
		return nil, nil, fmt.Errorf("%w: %d signatures for %d inputs", chains.ErrInvalidSignature, len(sigs), len(s.digests))
	}
	p, k := s.packet, s.key
	tx := p.UnsignedTx.Copy()
	for i, sig := range sigs {
		var w wire.TxWitness
		if k.scheme == chains.BIP340 {
			w, err = taprootWitness(k, s.digests[i].Bytes, sig, s.types[i])
		} else {
			w, err = segwitWitness(k, s.digests[i].Bytes, sig)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("input %d: %w", i, err)
		}
		tx.TxIn[i].Witness = w
		var buf bytes.Buffer
		if err := psbt.WriteTxWitness(&buf, w); err != nil {
			return nil, nil, err
		}
		p.Inputs[i] = psbt.PInput{
			NonWitnessUtxo: p.Inputs[i].NonWitnessUtxo, WitnessUtxo: p.Inputs[i].WitnessUtxo,
			FinalScriptWitness: buf.Bytes(), Unknowns: p.Inputs[i].Unknowns,
		}
	}
	for i := range tx.TxIn {
		prev := s.prevs.FetchPrevOutput(tx.TxIn[i].PreviousOutPoint)
		vm, err := txscript.NewEngine(prev.PkScript, tx, i, txscript.StandardVerifyFlags, nil, s.hashes, prev.Value, s.prevs)
		if err == nil {
			err = vm.Execute()
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: input %d fails the script engine: %v", chains.ErrInvalidSignature, i, err)
		}
	}
	return p, tx, nil
}

func segwitWitness(k *walletKey, hash, sig []byte) (wire.TxWitness, error) {
	switch len(sig) {
	case 64:
	case 65:
		// The recovery id plays no part here; it is only checked to be one.
		if v := sig[64]; v > 3 && (v < 27 || v > 30) {
			return nil, fmt.Errorf("%w: recovery id %d", chains.ErrInvalidSignature, v)
		}
	default:
		return nil, fmt.Errorf("%w: ECDSA signature of %d bytes, want 64 or 65", chains.ErrInvalidSignature, len(sig))
	}
	var r, sc btcec.ModNScalar
	if r.SetByteSlice(sig[:32]) || sc.SetByteSlice(sig[32:64]) || r.IsZero() || sc.IsZero() {
		return nil, fmt.Errorf("%w: R or S out of range", chains.ErrInvalidSignature)
	}
	if sc.IsOverHalfOrder() {
		sc.Negate()
	}
	es := ecdsa.NewSignature(&r, &sc)
	if !es.Verify(hash, k.pub) {
		return nil, fmt.Errorf("%w: ECDSA signature does not verify under the wallet's key", chains.ErrInvalidSignature)
	}
	return wire.TxWitness{append(es.Serialize(), byte(txscript.SigHashAll)), k.pub.SerializeCompressed()}, nil
}

func taprootWitness(k *walletKey, hash, sig []byte, ht txscript.SigHashType) (wire.TxWitness, error) {
	if len(sig) != schnorr.SignatureSize {
		return nil, fmt.Errorf("%w: BIP340 signature of %d bytes, want %d", chains.ErrInvalidSignature, len(sig), schnorr.SignatureSize)
	}
	ss, err := schnorr.ParseSignature(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", chains.ErrInvalidSignature, err)
	}
	if !ss.Verify(hash, k.output) {
		return nil, fmt.Errorf("%w: BIP340 signature does not verify under the wallet's output key", chains.ErrInvalidSignature)
	}
	if ht == txscript.SigHashDefault {
		return wire.TxWitness{bytes.Clone(sig)}, nil
	}
	return wire.TxWitness{append(bytes.Clone(sig), byte(ht))}, nil
}
