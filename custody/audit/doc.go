// Package audit is the custody service's audit log: an append-only,
// hash-chained record of every step of the request path, each entry
// carrying the signed user actions (authn.Evidence) it rests on.
//
// # The chain
//
// Entries are numbered 1, 2, 3, … without gaps. Entry n carries Prev, the
// hash of entry n-1 (32 zero bytes for entry 1), and Hash, the SHA-256 of
// the domain-separation string "cairn/custody/audit/entry\x00" followed by
// the entry's body: the deterministic CBOR (internal/wire) encoding of
// format version, Seq, Time (Unix nanoseconds), Kind, Actor, Subject,
// Details, Evidence and Prev. The body bytes are stored verbatim beside the
// hash, so what is hashed is exactly what is stored; decoding is strict, and
// a body that is not the canonical encoding of what it decodes to is
// refused.
//
// Append writes an entry inside the caller's store transaction, so a state
// change and its audit entry commit together or not at all. The log keeps
// its head (last Seq and Hash) in its own bucket; Append refuses to write
// over an existing entry.
//
// # What the chain guarantees, and what it does not
//
// The chain makes the log tamper-evident, not tamper-proof. Changing,
// removing, reordering or inserting an entry anywhere but at the end breaks
// the chain at that entry, and Verify reports which (*VerifyError.Seq). But
// whoever can rewrite the whole store can rebuild a consistent chain from
// the point of change onward, or drop entries from the end. To detect that,
// anchor Head() elsewhere from time to time (another system, a signed
// statement, a public ledger) and check that the log still holds an entry
// with that Seq and Hash.
//
// # What Verify proves
//
// Verify (and VerifyEntries, offline, on entries obtained from Entries or
// from an export read with Read) proves that:
//   - every entry's Hash recomputes from its contents;
//   - Seq runs 1, 2, 3, … without gaps, and each Prev is the previous Hash;
//   - every piece of evidence decodes, and its signature verifies, under the
//     key the KeyResolver gives for its credential, over a binding that
//     names the evidence's principal (authn.Evidence.Verify).
//
// It does not prove that the evidence's credential belongs to its principal
// (the resolver sees only the credential id), that an action was permitted,
// or that the log is complete at its end (see anchoring above). With a nil
// KeyResolver each evidence is checked against the public key it carries,
// which proves only self-consistency: anyone can make a key and sign with
// it. Pass a resolver backed by a credential store you trust
// (authn.Service.Credential) to prove who signed. A resolver should return
// the key of a revoked credential too: evidence signed before the
// revocation stays valid.
//
// # Export
//
// Export writes the log as JSON Lines, one entry per line, in exactly the
// form Read accepts (see Export for the fields); VerifyEntries checks what
// Read returns, outside the process that wrote the log.
package audit
