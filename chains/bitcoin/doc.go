// Package bitcoin is the chains adapter for Bitcoin, on btcd (txscript,
// wire, btcutil, psbt).
//
// A wallet key has one address: an ECDSA key pays to P2WPKH (BIP84-style,
// SegWit v0), a BIP340 key to P2TR with the BIP86 tweak (SegWit v1, key
// path only; the signer signs under the tweaked output key, which
// chains.Digest.Taproot asks for). Transfers spend the wallet's coins, as
// listed by a UTXOSource, at a fee rate from a Client or the caller, with
// change back to the same address; recipients may be any standard address
// of the network (P2PKH, P2SH, P2WPKH, P2WSH, P2TR).
//
// The payload of a chains.Unsigned is a BIP174 PSBT, so a transfer can be
// handed to other PSBT tools, and PSBTs made elsewhere can be decoded and
// signed if they only spend the wallet's coins (Decode). Attach verifies
// each signature, then runs every input of the finished transaction through
// btcd's script engine before returning it; AttachPSBT returns the
// finalized PSBT instead.
//
// Amounts are satoshis. Fee rates are integers in sat/kvB (FeeRate).
// Bitcoin has no message-signing format here: BIP322 is not implemented.
package bitcoin
