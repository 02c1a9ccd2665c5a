// Package chains is the boundary between custody and blockchains: a Chain
// adapter turns a transfer intent into the digests a key must sign, attaches
// the signatures, and broadcasts and tracks the transaction. It knows nothing
// of how keys are held; anything that implements Signer, "digest in,
// signature out", will do, be it a threshold key or, in tests, a plain one.
//
// # Flow
//
//	u, err := chain.Transfer(ctx, chains.Transfer{From: key, To: addr, Amount: amount})
//	// u.Activity is what a policy engine judges: asset, amount, recipient, fee.
//	sigs, err := chains.SignAll(ctx, signer, u)
//	tx, err := chain.Attach(u, sigs)
//	err = chain.Broadcast(ctx, tx)
//	st, err := chains.Wait(ctx, chain, tx.ID, 1, time.Second)
//
// An Unsigned carries the chain's own encoding of the transaction (Payload)
// beside the Activity and Digests derived from it. Chain.Decode derives them
// again from the payload and the wallet's key alone, so a party that did not
// build the transaction (a signer's validation gate, an approver) can check
// what it signs instead of trusting a description of it; Attach does the
// same and refuses digests that do not match.
//
// # Contracts
//
//   - Amounts are exact integers in the asset's smallest unit (wei, satoshi,
//     lamport, token base unit) held in *big.Int; nothing in this package or
//     its adapters uses floating point.
//   - Bad input — an invalid address (checksum, network, length), an amount
//     that is not positive or exceeds the balance, an unknown token, a
//     signature of the wrong kind or length or that does not verify — is
//     refused with an error matching one of the Err values below (errors.Is)
//     before anything is signed or sent.
//   - Attach verifies every signature against the wallet's key before it
//     returns a transaction, so a bad signature never reaches the network.
//
// # Signatures
//
// A Digest says how it must be signed (Scheme):
//
//   - ECDSA: Bytes is a 32-byte hash; the signature is 65 bytes R‖S‖V with V
//     the recovery id (0 or 1; 27 and 28 are accepted too), as mpc's
//     threshold ECDSA returns it. A high S is normalised by the adapter.
//     Bitcoin, which needs no recovery id, also accepts 64 bytes R‖S.
//   - BIP340: Bytes is a 32-byte hash; the signature is a 64-byte BIP340
//     signature, under the BIP341 output key when Digest.Taproot is set.
//   - Ed25519: Bytes is the whole message; the signature is 64 bytes
//     (RFC 8032).
package chains
