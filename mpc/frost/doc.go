// Package frost implements FROST threshold Schnorr signing (RFC 9591) as
// round.Round state machines, for three ciphersuites:
//
//   - Ed25519: FROST(Ed25519, SHA-512). Signatures are RFC 8032 Ed25519
//     signatures; crypto/ed25519 verifies them.
//   - Secp256k1: FROST(secp256k1, SHA-256), with H1–H3 built on
//     expand_message_xmd (RFC 9380).
//   - BIP340: FROST on secp256k1 producing BIP340 (Taproot) signatures,
//     optionally under a BIP341-tweaked output key (Taproot).
//
// # Signing
//
// Every signer is a peer that also aggregates; there is no coordinator role
// in the protocol. NewSigning runs two broadcast rounds: round 1 sends a
// fresh nonce commitment (D, E), round 2 the signature share. Each signer
// then checks every peer's share with verify_signature_share (naming the
// signer of an invalid one in a *round.Error with round.ErrInvalidShare),
// aggregates, and verifies the signature before it returns it as a
// *Signature in the final *round.Output.
//
// When commitments are exchanged ahead of time (Precommit, NonceStore,
// Commitment.MarshalBinary and UnmarshalCommitment), NewPrecommittedSigning
// signs with a single broadcast once the message is known.
//
// # Security contract
//
//   - Nonces are single-use. A Nonce is erased when its share is computed and
//     refuses a second use (ErrNonceUsed); NonceStore also remembers the
//     commitments it has handed out. Nonces live in memory only: never
//     persist or copy one.
//   - The runner must authenticate senders and deliver round-1 broadcasts
//     reliably (echo broadcast): a signer is blamed for a share that does
//     not verify against the commitments its receiver holds.
//   - Every message carries the session id, which is checked against the
//     envelope; shares carry digests of the inputs (key, message, signer
//     set) and of the commitment list they were computed over, so a share
//     made over inputs the callers did not agree on aborts with
//     ErrInputMismatch and no culprit, instead of blaming an honest signer.
//   - Peer bytes are decoded strictly: CBOR through internal/wire, exact
//     lengths, points through curve.DecodePoint (canonical, on the curve, in
//     the prime-order group, not the identity), canonical scalars. A refused
//     message leaves the round unchanged.
//   - Commitment points repeated within a session are refused
//     (ErrDuplicateCommitment), and with Config.Log across sessions
//     (ErrReusedCommitment). Blame goes to the sender only when the evidence
//     shows it: a copy of this signer's own commitment, or a point its own
//     sender used before.
//   - Secrets (key shares, nonces) are never printed: String and GoString
//     redact them.
//
// # BIP340
//
// BIP340 verifies under the even-y point with a key's x coordinate. For a
// session, the key share is mapped to that key: if the group key P has odd
// y, every secret and verification share is negated; with a Taproot tweak t
// the shares are shifted by t (s_i + t, Y_i + t·G, which interpolate to
// P + t·G since Lagrange coefficients sum to one) and negated again if the
// output key has odd y. If the group commitment R has odd y, each signer
// negates its nonces and verifiers negate the commitment shares, so the
// signature carries the even-y R. The binding factors bind the session's
// key: the even-y group key, or for a tweaked key the output key Q before
// its parity is normalized. These choices, and the context string, are
// those of the Zcash Foundation's frost-secp256k1-tr, whose test vectors
// this package reproduces (untweaked; the tweaked case follows its code).
package frost
