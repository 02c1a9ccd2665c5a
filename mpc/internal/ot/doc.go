// Package ot is the oblivious-transfer layer under DKLs23's pairwise
// multiplication: a verified base OT that runs once per ordered pair of
// parties when a key is made, and an OT extension that turns its output into
// a fresh batch of random OTs for every signature.
//
// # Roles
//
// One directional instance has a Sender (the multiplication's Alice, who holds
// the long-lived correlation Δ) and a Receiver (Bob, who holds both seeds of
// every base OT and picks fresh choice bits at each use). The base OT runs
// the other way round, as in KOS: Bob is its BaseSender and Alice its
// BaseReceiver, whose random choice bits become Δ. NewPairID binds the
// instance to the ceremony that set it up and to the two parties in role
// order; every hash below includes it.
//
// # Base OT: Verified Simplest OT
//
// Doerner, Kondi, Lee and shelat, "Secure Two-party Threshold ECDSA from
// ECDSA Assumptions" (eprint 2018/499), Protocol 7: Chou–Orlandi's Simplest
// OT with a Schnorr proof of the sender's key and a challenge–response
// verification that makes it UC-secure as a random OT (see base.go for the
// steps). It runs Kappa = 256 OTs in five messages:
//
//	BaseSender                         BaseReceiver
//	NewBaseSender      ── key ──►      NewBaseReceiver
//	Challenge          ◄─ choices ──
//	                   ── challenge ►  Respond
//	Open → *Receiver   ◄─ response ──
//	                   ── openings ►   Finish → *Sender
//
// The group is edwards25519, for its constant-time scalar multiplication.
// The sender's key B and its proof go through curve.DecodePoint, which
// refuses non-canonical encodings, the identity and any point outside the
// prime-order subgroup (a small-order component in B would reveal the
// receiver's choice bits, the "Devious Transfer" attack on cofactor curves).
// The receiver's points A_i must be canonical and not of small order; a
// small-order component in them is projected away by the cofactor (cofactor
// Diffie–Hellman, see decodeChoice in group.go) rather than tested for,
// which would cost a scalar multiplication per point. The receiver's scalars
// come from its own randomness, never from peer bytes, and its choice of A_i
// and its response are selected in constant time. Its Kappa products a_i·B
// use a table of multiples of B built once (a fixed-base comb), and both
// parties encode their points in batches with one field inversion each
// (group.go).
//
// # Extension: KOS with the corrected consistency check
//
// Keller, Orsini and Scholl, "Actively Secure OT Extension with Optimal
// Overhead" (CRYPTO 2015; eprint 2015/546, revised), Fig. 10: the revision's
// consistency check, which hashes each of the κ rows of the receiver's matrix
// with a linear universal hash (the SoftSpokenOT check of Roy, CRYPTO 2022,
// with k = 1) in place of the original check whose proof had a gap. One use
// of the extension is a single message from Receiver to Sender:
//
//   - The receiver extends its n choice bits (padded to a multiple of 64) with
//     256 random ones, expands both seeds of base OT i to rows t⁰_i, t¹_i and
//     sends u_i = t⁰_i ⊕ t¹_i ⊕ x.
//   - The challenge χ_1 … χ_m ∈ GF(2^256), one per 256-column block, is a hash
//     of the pair, the use's nonce and u: Fiat–Shamir in place of the
//     sender's random challenge, as DKLs23 suggests, so the extension is one
//     message; χ is fixed only after u is.
//   - With h(y) = Σ_k χ_k·y_k + y_mask, the receiver sends x̃ = h(x) and
//     t̃_i = h(t⁰_i); the sender checks h(q_i) = t̃_i ⊕ Δ_i·x̃ for every i,
//     where q_i = t^{Δ_i}_i ⊕ Δ_i·u_i.
//   - Outputs are random OTs (the Randomize step): the sender's pads for OT j
//     are H(key, j, q^j) and H(key, j, q^j ⊕ Δ), the receiver's H(key, j, t^j),
//     where q^j, t^j are the j-th columns and H is SHA-256 in counter mode.
//
// The mask OTs make x̃ independent of the real choice bits. A receiver whose
// rows encode different choice vectors passes only if it guesses Δ_i for
// every deviating row i, so it learns k bits of Δ with probability 2^−k;
// finding χ that hides a deviation costs about 2^256 hash evaluations.
//
// # Parameters
//
// Kappa = 256. Δ is long-lived: it serves every signature of the key, and a
// malicious receiver may probe it once (the first failed check bans it, see
// below). With κ = 256, even a receiver that won a 2^−40 gamble keeps facing
// 216 unknown bits, well above the 128-bit level of secp256k1; κ = 128 would
// leave that margin to the statistical parameter alone. The cost is paid
// once per key (256 base OTs per ordered pair) and in a 256-row matrix per
// signature. The check hash is 256 bits wide over GF(2^256) with
// X^256 + X^10 + X^5 + X^2 + 1, and the mask is 256 random OTs. The PRG is
// AES-256 in counter mode keyed by each base-OT output.
//
// # Reuse across sessions
//
// The base OTs run once; every use of the extension is bound to a session
// chosen by the caller and to fresh randomness of both parties:
//
//   - The receiver's salt (sent in its message) and the session key the PRG:
//     rows are expanded from nonce = H(pair, session, salt). Bob's choices
//     are hidden by the rows the sender cannot compute, so they must never
//     repeat: Bob picks the salt, so they never do, even if a caller reused
//     a session id.
//   - The sender's salt (SenderBatch.Salt, carried in its reply) keys the
//     random-OT hash together with the nonce and u, so the sender's pads are
//     fresh at every use even if a receiver replayed an old message.
//   - A message for another session is refused before any secret is touched
//     (ErrWrongSession); one relabelled for this session fails the check.
//   - The seeds only ever enter a PRF with a fresh nonce, and Δ only enters
//     the consistency check and the correlation-robust output hash, tweaked
//     per use. What a receiver can learn about Δ across all uses is what its
//     consistency checks reveal, and after the first failed check the Sender
//     is unusable (and checks are serialised, so concurrent sessions do not
//     give a cheater parallel probes). That bounds the leakage over the
//     state's whole life to k bits with probability 2^−k.
//
// # Contracts for the caller
//
//   - ErrConsistency means the receiver cheated: ban it for the key and
//     record that the Sender is unusable (Usable reports it; it is not part
//     of the seeds) so that a restart does not forget it. A fresh base OT is
//     the only way back.
//   - A base-OT abort (ErrBaseVerification, round.ErrInvalidProof) is
//     evidence that the peer, or whoever tampered with the channel, deviated;
//     the setup must not be retried with the same randomness.
//   - States hold secret seeds: keep them sealed at rest. String and
//     GoString redact them.
//   - Decoding errors wrap round.ErrMalformed and leave the state as it was;
//     no peer input panics.
package ot
