// Package ecdsa is threshold ECDSA on secp256k1 for any t-of-n with t ≥ 2:
// DKLs23 (Doerner, Kondi, Lee and shelat, "Threshold ECDSA in Three
// Rounds", eprint 2023/765, Protocol 3.6), on the pairwise random vector
// OLE of package rvole (Protocol 5.2) and the OT layer of package ot.
// design/ecdsa-dkls23.md is the reference this package follows; its
// section numbers are cited as "design §n".
//
// Every protocol is a sequence of round.Round state machines: no
// goroutines, no I/O, no clock. A runner (package mpc) moves the messages,
// authenticates senders, encrypts direct messages and echoes broadcasts.
//
// # Key generation
//
// NewKeygen is the DKG of package dkg (rounds 1–3, unchanged) followed by
// the pairwise setup of NewSetup (rounds 4–8), which for every ordered pair
// of parties runs the Verified Simplest base OT in both directions (each
// party is base-OT sender, the future multiplication Bob, towards every
// other, and base-OT receiver, the future Alice, too) and agrees a
// zero-sharing seed per pair (F_Zero, DKLs23 Functionality 3.4) by
// commit-then-open: s_ij = seed_ij ⊕ seed_ji. The result is a KeyShare: the
// DKG share, the long-lived OT state towards every counterparty in both
// roles, the seeds, and the bans. The keygen session id becomes the key's
// KeyID and is bound into every later session id and OT pair id.
//
// # Signing
//
// NewSigning runs DKLs23 Protocol 3.6 in three rounds (design §3). For
// signer i with Shamir share x_i and signer set P:
//
//  1. i samples the instance key r_i and the inversion mask φ_i, broadcasts
//     com_i = H(ctx, i, R_i, salt_i) for R_i = r_i·G, and sends each j the
//     first message of the multiplication in which j is Alice and i is Bob,
//     whose random input χ_ij that message fixes.
//  2. With sk_i = λ_i·x_i + ζ_i (λ_i the Lagrange coefficient over P, ζ_i
//     the zero share, so Σ sk_i = sk) and pk_i = sk_i·G, i broadcasts
//     (R_i, salt_i, pk_i) and, as Alice with input (r_i, sk_i) in the
//     multiplication with Bob = j, sends j its reply with Γ^u_ij = c^u_ij·G,
//     Γ^v_ij = c^v_ij·G and ψ_ij = φ_i − χ_ij.
//  3. i checks everything (below), computes u_i = r_i·(φ_i + Σ_j ψ_ji) +
//     Σ_j (c^u_ij + d^u_ij), v_i likewise with sk_i, and broadcasts u_i and
//     w_i = H(m)·φ_i + r_x·v_i. Everyone computes s = Σw/Σu =
//     (H(m) + r_x·sk)/r.
//
// The signature, a *Signature in the final round.Output, is (r, s) in
// low-s form with its recovery id, verified under the key before it is
// returned.
//
// Rounds 1–2 do not depend on the message: NewPresigning runs them and
// returns a single-use *Presignature; NewOnlineSigning signs with it in one
// broadcast. SignRequest.Tweak signs under a derived key pk + δ·G (BIP32
// non-hardened derivation); the tweak and SignRequest.Derivation are fixed
// when the presignature is made.
//
// # Checks (design §4) and what a failure does
//
//  1. OT-extension consistency, run by Alice on Bob's round-1 message:
//     a failure names Bob and bans him (ErrBanned, ot.ErrConsistency).
//  2. Multiplication consistency, run by Bob on Alice's round-2 message:
//     a failure names Alice and bans her (ErrBanned,
//     rvole.ErrMultiplicationCheck).
//  3. Γ-checks χ_ij·R_j = d^u_ij·G + Γ^u_ji and χ_ij·pk_j = d^v_ij·G +
//     Γ^v_ji: a failure names j and bans it (ErrConsistencyCheck).
//  4. com_j opens to R_j, and R_j ≠ ∞ (ErrCommitment, round.ErrMalformed),
//     and R = Σ R_j ≠ ∞ (ErrIdentityNonce, nobody named).
//  5. Σ pk_j = pk (ErrKeyMismatch): with two signers the other is named;
//     with more the sum cannot tell which signer shifted its share.
//  6. Σu ≠ 0 and the signature verifies (round.ErrBadSignature): DKLs23
//     detects an additive error left in some u_j or w_j but does not
//     attribute it, so nobody is named.
//  7. Every message is checked for session, round, sender membership,
//     recipient, duplicates and encoding, and a refused message leaves the
//     round unchanged. Broadcasts must reach everyone alike (the runner's
//     echo names an equivocator); the online step also compares digests of
//     every signer's view of rounds 1–2 (round.ErrEquivocation) and of the
//     digest signed (ErrInputMismatch).
//  8. The multiplications' session ids (rvole.NewSessionID) bind the key
//     id, both roles in order, and a context that binds the session id, the
//     signer set, the derivation and the tweak.
//
// Checks 1–3 and 8 judge direct messages, which only their recipient sees
// and only it, with its secrets, can check. The recipient names the culprit;
// package mpc's runner then puts the culprit's signed message to the other
// signers in a complaint, and they abort naming the culprit too, on the
// recipient's word for the check and on the culprit's own signature for the
// message.
//
// # Security contract for the caller
//
//   - A KeyShare holds secrets: seal MarshalBinary's encoding at rest.
//     Persist it again after any abort that wraps ErrBanned, so that a ban
//     survives a restart; a banned counterparty stays refused until a new
//     setup (NewSetup with a fresh session) replaces the pairwise state.
//   - Direct messages carry secret-dependent values and must be encrypted
//     to their recipient; broadcasts must be echoed (package mpc does both).
//   - Presignatures are single-use. NewOnlineSigning consumes one before
//     its broadcast leaves; the caller must delete every stored copy first
//     (durably), so that a crash cannot bring one back.
//   - Session ids must be fresh for every ceremony, a retry included.
//   - Randomness comes from crypto/rand unless a reader is injected, which
//     is for tests only. Secrets never appear in errors or String output.
//
// Point multiplications go through internal/curve, which uses decred's
// routines; scalar arithmetic on secrets is constant time.
package ecdsa
