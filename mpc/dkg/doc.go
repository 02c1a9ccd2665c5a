// Package dkg is Cairn's distributed key generation: n parties jointly make a
// key of which each holds a Shamir share, any t of which can use it, and which
// no party, at any time, holds whole.
//
// The protocol is the KeyGen of FROST (Komlo and Goldberg, "FROST: Flexible
// Round-Optimized Schnorr Threshold Signatures", SAC 2020, Figure 1; see also
// RFC 9591, Appendix C): a Pedersen DKG in which every party deals a random
// polynomial with Feldman verifiable secret sharing and proves knowledge of
// its constant term, which stops rogue-key attacks. Cairn adds a complaint
// round that lets every party judge a disputed share from signed evidence,
// and a jointly generated BIP32 chain code. It is generic over curve.Curve
// (secp256k1 and edwards25519) and works for any 1 ≤ t ≤ n ≤ MaxParties.
//
// # Rounds
//
// For party i, threshold t, session id sid and party set P (identifiers are
// the parties' Shamir x-coordinates):
//
//  1. Broadcast. i samples f_i(x) = a_{i,0} + a_{i,1}·x + … + a_{i,t−1}·x^{t−1}
//     with uniform non-zero coefficients and broadcasts
//     – the Feldman commitment C_i = (a_{i,0}·G, …, a_{i,t−1}·G), exactly t
//     points (a longer vector would raise the threshold, a shorter one is
//     not a degree t−1 dealing, so both are refused);
//     – a Schnorr proof (R_i, z_i) of knowledge of a_{i,0}: R_i = k·G,
//     c = H_pok(curve, sid, i, C_i, R_i), z_i = k + c·a_{i,0};
//     – a commitment h_i = H_cc(curve, sid, i, ρ_i) to 32 random bytes ρ_i,
//     its chain-code contribution.
//  2. Direct and broadcast. i sends f_i(j) to every other party j, and
//     broadcasts ρ_i. j checks f_i(j)·G = Σ_k j^k·C_{i,k} and h_i = H_cc(…, ρ_i).
//  3. Broadcast. i broadcasts the digest of its view of round 1 (every C, R,
//     z and h, with curve, sid, t and P) and one complaint for each direct
//     message of round 2 that failed its check. A complaint names the sender
//     and carries the envelope the share arrived in, signed by that sender.
//
// Every party judges every complaint the same way: if the evidence verifies
// (round.EvidenceVerifier) as the accused's round-2 direct message to the
// accuser and the share in it is malformed or fails the accused's commitment,
// the accused is the culprit (round.ErrInvalidShare); otherwise the accuser is
// (ErrFalseComplaint). Complaints are settled before views are compared, so a
// dealer cannot escape blame by also misreporting its view.
//
// Output, when nothing failed: the secret share s_i = Σ_j f_j(i), the group
// key Y = Σ_j C_{j,0}, every party's verification share
// Y_k = Σ_j Σ_m k^m·C_{j,m} (= s_k·G), and the chain code ρ_1 ⊕ … ⊕ ρ_n.
// Hashes are SHA-512 (reduced modulo the group order) for the proof's
// challenge and SHA-256 elsewhere, over length-prefixed, domain-separated
// transcripts.
//
// # Security contracts
//
//   - Broadcasts must reach every party identically: the runner in package mpc
//     echoes them and names an equivocating sender. The view digests of round
//     3 are a backstop, not a substitute: a party whose digest differs from
//     this party's is named (round.ErrEquivocation), which is exactly the set
//     of parties that misreported their view when broadcasts are consistent.
//   - Direct messages of round 2 carry secret shares: the runner must encrypt
//     them to their recipient. Message.Evidence must be the sender-signed
//     envelope the message arrived in; a complaint publishes it, and with it
//     one share of the accused's polynomial. That is safe because a complaint
//     always aborts the ceremony, and an aborted ceremony's polynomials are
//     never used again: a retry starts from Start with fresh randomness and a
//     fresh session id.
//   - Every value a peer sends is checked before it is used: points are
//     decoded by curve.DecodePoint (canonical, on the curve, in the prime-order
//     subgroup, not the identity), scalars are canonical, vectors have exactly
//     the length the threshold says, and every message is bound to the session,
//     round, sender and recipient.
//   - A failed check aborts with a *round.Error whose Culprits are proven to
//     have deviated, wrapping one of the round sentinels (or ErrFalseComplaint).
//     Broadcast checks happen in Store; share checks are settled in round 3, so
//     that every party reaches the same verdict. A message that Store refuses
//     leaves the round unchanged. No peer input makes a round panic.
//   - Randomness is read from Config.Rand, crypto/rand by default. The secret
//     share never appears in errors, logs or String output.
package dkg
