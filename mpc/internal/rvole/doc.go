// Package rvole is the pairwise multiplication of DKLs23 (Doerner, Kondi,
// Lee and shelat, "Threshold ECDSA in Three Rounds", eprint 2023/765): a
// random vector OLE over the secp256k1 scalar field, F_RVOLE^ℓ of
// Functionality 3.5 with ℓ = 2, realised by Protocol 5.2 on the OT extension
// of package ot.
//
// Bob's input χ is sampled by the protocol; Alice inputs a = (a_1, a_2) (in
// DKLs23, her instance key r_i and her additive key share sk_i). Alice gets
// c and Bob d with c_i + d_i = a_i·χ. Both products use one batch of Bob's
// OTs on one choice vector ("forced reuse"), so a malicious Bob cannot use a
// different χ for the two: that is what makes it a vector OLE and not two
// scalar ones.
//
// # Messages
//
//	Bob                                       Alice
//	Start(sid) → χ     ── OT extension ──►    Multiply(sid, a) → c
//	Finish → d         ◄── ã, η', μ, salt ──
//
// Bob's message goes out in DKLs23's signing round 1 and Alice's in round 2;
// Bob finishes in round 3. The functions are pure apart from the injected
// randomness: no goroutines, no I/O.
//
// # Protocol 5.2
//
// Parameters: κ = 256 (the bit length of the group order), s = 80,
// ξ = κ + 2s = 416 OTs, ρ = 1 check column, so each OT carries ℓ + ρ = 3
// scalars. The gadget vector g ∈ Z_n^ξ is public and pseudorandom per session
// (AES-256-CTR keyed by a hash of the session id).
//
//  1. Bob samples β ∈ {0,1}^ξ, sets χ = ⟨g, β⟩ and runs the OT extension as
//     receiver on β.
//  2. Alice, as extension sender, gets random-OT pads α⁰_j, α¹_j ∈ Z_n^3 (Bob
//     gets α^{β_j}_j). She samples η, sets c_i = −Σ_j g_j·α⁰_{j,i} and sends
//     ã_{j,i} = α⁰_{j,i} − α¹_{j,i} + a_i (and + η in the check column),
//     θ = H(sid, transcript, ã) ∈ Z_n^2, η' = η + Σ_i θ_i·a_i and
//     μ = H(sid, transcript, {α⁰_{j,2} + Σ_i θ_i·α⁰_{j,i}}_j), the check
//     sent as a hash (DKLs23 §5.1).
//  3. Bob sets d̄_{j,i} = α^{β_j}_{j,i} + β_j·ã_{j,i} (= α⁰_{j,i} + β_j·a_i),
//     checks μ against H(sid, transcript, {d̄_{j,2} + Σ_i θ_i·d̄_{j,i} −
//     β_j·η'}_j) and outputs d_i = Σ_j g_j·d̄_{j,i}.
//
// "transcript" is the OT extension's digest of this use (pair, session, both
// salts, Bob's matrix), so θ and μ are bound to the exact OT instance.
//
// # Checks and bans
//
//   - Alice verifies Bob through the OT extension's consistency check. A
//     failure (ErrConsistency) means Bob probed Alice's long-lived Δ: Alice
//     is unusable and the caller must ban Bob for the key.
//   - Bob verifies Alice through μ. An Alice who uses different inputs at
//     different OTs passes at OT j only if β_j = 0, so the check is a
//     selective failure that can tell her bits of β. She is caught except
//     with probability 2^−k when she probes k bits, and ξ = κ + 2s keeps χ
//     within 2^−s of uniform given up to s leaked bits (the leftover-hash
//     argument of DKLs19's analysis of its Protocol 1). A failure
//     (ErrMultiplicationCheck) makes Bob unusable and the caller must ban
//     Alice. β is fresh per session, so a ban protects later sessions from
//     a known cheater rather than a secret at risk.
//   - BansPeer tells the caller which errors oblige a ban. A message for
//     another session (ErrWrongSession) or one that does not decode wraps
//     round.ErrMalformed and bans nobody: it is refused before any secret is
//     used, and the state stays usable.
//
// The multiplication does not check that Alice's inputs are the values the
// caller means (r_i and sk_i): DKLs23's Γ-checks in the signing protocol
// bind them to R_i and pk_i, and the final signature verification catches
// any additive error left.
//
// # Contracts for the caller
//
//   - The session id must be unique per pair, direction and signature:
//     NewSessionID binds both roles in order, the key, the signing session
//     and the derivation. Both parties' fresh salts keep the OT rows and pads
//     fresh even if an id repeated, but θ, g and the transcript are
//     meant to be per-session.
//   - Ban on BansPeer(err), and persist it: Alice's and Bob's encodings
//     (MarshalBinary) record whether they are still usable.
//   - Alice's inputs must be secp256k1 scalars. Everything Alice and Bob
//     hold is secret; String and GoString redact it.
//
// Pads and the gadget are derived by reducing 32 hash or PRG bytes modulo n,
// within 2^−127 of uniform each since n > 2^256 − 2^129. The arithmetic
// modulo n (field.go) is constant time, selections on Bob's choice bits
// included, and accumulates each sum of products unreduced before one
// reduction.
package rvole
