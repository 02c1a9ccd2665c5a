// Package solana is the chains adapter for Solana, on
// github.com/gagliardetto/solana-go.
//
// It builds legacy transaction messages with the wallet as the only signer
// and fee payer: SOL transfers (System Program) and SPL token transfers
// (TransferChecked between associated token accounts), with an optional
// compute-unit price. A token transfer always carries the Associated Token
// Account program's idempotent create for the recipient, so the recipient's
// owner is named in the message (Decode can tell who is paid, not only which
// token account) and the transfer cannot fail for a missing account; it only
// creates the account, at the wallet's expense of its rent deposit, when
// the caller asked (Options.CreateRecipientAccount) or, if not asked, after
// the client has shown the account exists.
//
// The payload of a chains.Unsigned is the message as the network serializes
// it; the one digest is the message itself, signed with Ed25519. Keys are
// 32-byte Ed25519 public keys, addresses their base58 form.
//
// Activity.Fee is the signature fee (5000 lamports) plus the priority fee
// the message asks for; the rent deposit of an account the transfer creates
// is not a fee and is not included.
package solana
