// Package mpc runs Cairn's threshold protocols between signers.
//
// The protocols themselves (mpc/dkg, mpc/frost, …) are pure state machines
// that implement round.Round. This package moves their messages: Runner drives
// one party of one ceremony over a transport, and Mux lets many ceremonies
// share one transport endpoint.
//
// What the runner guarantees every protocol:
//   - Every message is sealed in an envelope signed by its sender's identity
//     key and bound to the session, round, sender and recipient; an envelope
//     that fails to open, or belongs to another session, never reaches a round.
//   - Duplicates are dropped; a second, different message for the same slot is
//     proof of equivocation and names its sender.
//   - Messages for later rounds are buffered (within bounds) until their round.
//   - Broadcasts are echoed: once a party holds every broadcast of a round it
//     sends every peer the (digest, signature) of each, so a party that sent
//     different broadcasts to different peers is caught, and named by its own
//     signatures. The messages of a broadcast round reach the round only after
//     the echo passes, so every honest party judges the same broadcasts.
//   - A direct message that the recipient's round refuses, blaming its
//     sender, is put to every other party in a complaint that encloses the
//     sender's signed envelope; they abort at once naming the sender
//     (*Complaint records the accuser), instead of timing out and blaming the
//     recipient's silence. A complaint proves what the accused sent, not
//     always that it was wrong (see Runner); one that does not verify names
//     its complainer.
//   - The context's deadline bounds the run; on expiry the error names the
//     parties whose messages are missing. That blame is observed, not proven:
//     a crashed party and a withholding one look alike (errors.Is
//     round.ErrDeadline tells the two kinds of abort apart).
//
// Every failure is an *AbortError (errors.As) naming the culprits.
package mpc
