package bitcoin

import (
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/base58"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"

	"github.com/cairn-mpc/cairn/chains"
)

// ParseAddress decodes an address of the network params describes: P2PKH,
// P2SH, P2WPKH, P2WSH or P2TR. Errors are *chains.AddressError naming the
// reason: a bad checksum, the wrong network, the wrong length, an unknown
// kind. name names the network in errors.
func ParseAddress(name string, params *chaincfg.Params, s string) (btcutil.Address, error) {
	bad := func(reason string) (btcutil.Address, error) {
		return nil, &chains.AddressError{Network: name, Address: s, Reason: reason}
	}
	if s == "" || len(s) > 90 {
		return bad("wrong length")
	}
	a, err := btcutil.DecodeAddress(s, params)
	if err != nil {
		return bad(addressReason(s, params, err))
	}
	if !a.IsForNet(params) {
		return bad("wrong network")
	}
	switch a.(type) {
	case *btcutil.AddressPubKeyHash, *btcutil.AddressScriptHash, *btcutil.AddressWitnessPubKeyHash,
		*btcutil.AddressWitnessScriptHash, *btcutil.AddressTaproot:
	default:
		return bad("not a payment address")
	}
	return a, nil
}

// addressReason says why btcutil refused s, as far as can be told.
func addressReason(s string, params *chaincfg.Params, err error) string {
	if i := strings.LastIndexByte(s, '1'); i > 0 {
		hrp := strings.ToLower(s[:i])
		for _, o := range allParams {
			if hrp == o.Bech32HRPSegwit && hrp != params.Bech32HRPSegwit {
				return "wrong network"
			}
		}
	}
	if _, v, e := base58.CheckDecode(s); e == nil {
		if v == params.PubKeyHashAddrID || v == params.ScriptHashAddrID {
			return "wrong length"
		}
		for _, o := range allParams {
			if v == o.PubKeyHashAddrID || v == o.ScriptHashAddrID {
				return "wrong network"
			}
		}
		return fmt.Sprintf("unknown version byte 0x%02x", v)
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "checksum"):
		return "bad checksum"
	case strings.Contains(msg, "length") || strings.Contains(msg, "size"):
		return "wrong length"
	}
	return msg
}

// walletKey is a key as this adapter uses it: the script its coins sit in
// and, for spending, the key that signs.
type walletKey struct {
	scheme  chains.Scheme
	pub     *btcec.PublicKey // the ECDSA key, or the BIP340 internal key (even y)
	output  *btcec.PublicKey // P2TR: the BIP86 output key
	address btcutil.Address
	script  []byte
}

func parseKey(key chains.PublicKey, params *chaincfg.Params) (*walletKey, error) {
	k := &walletKey{scheme: key.Scheme}
	var err error
	switch key.Scheme {
	case chains.ECDSA:
		if len(key.Bytes) != 33 {
			return nil, fmt.Errorf("%w: P2WPKH needs a 33-byte compressed key, got %d bytes", chains.ErrInvalidKey, len(key.Bytes))
		}
		if k.pub, err = btcec.ParsePubKey(key.Bytes); err != nil {
			return nil, fmt.Errorf("%w: %v", chains.ErrInvalidKey, err)
		}
		k.address, err = btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(key.Bytes), params)
	case chains.BIP340:
		var x []byte
		switch len(key.Bytes) {
		case 32:
			x = key.Bytes
		case 33:
			x = key.Bytes[1:]
		default:
			return nil, fmt.Errorf("%w: P2TR needs a 32-byte x-only key, got %d bytes", chains.ErrInvalidKey, len(key.Bytes))
		}
		if k.pub, err = schnorr.ParsePubKey(x); err != nil {
			return nil, fmt.Errorf("%w: %v", chains.ErrInvalidKey, err)
		}
		k.output = txscript.ComputeTaprootKeyNoScript(k.pub)
		k.address, err = btcutil.NewAddressTaproot(schnorr.SerializePubKey(k.output), params)
	default:
		return nil, fmt.Errorf("%w: Bitcoin takes %s (P2WPKH) or %s (P2TR) keys, not %q", chains.ErrInvalidKey, chains.ECDSA, chains.BIP340, key.Scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", chains.ErrInvalidKey, err)
	}
	if k.script, err = txscript.PayToAddrScript(k.address); err != nil {
		return nil, fmt.Errorf("%w: %v", chains.ErrInvalidKey, err)
	}
	return k, nil
}

// TaprootOutputKey returns the x-only BIP341 output key for a 32-byte
// x-only internal key and a script tree's Merkle root (empty for none,
// which is BIP86).
func TaprootOutputKey(internal, merkleRoot []byte) ([]byte, error) {
	p, err := schnorr.ParsePubKey(internal)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", chains.ErrInvalidKey, err)
	}
	if len(merkleRoot) != 0 && len(merkleRoot) != 32 {
		return nil, fmt.Errorf("bitcoin: a Merkle root is 32 bytes, not %d", len(merkleRoot))
	}
	return schnorr.SerializePubKey(txscript.ComputeTaprootOutputKey(p, merkleRoot)), nil
}
