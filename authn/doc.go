// Package authn is Cairn's authentication: identities, their credentials,
// sessions, user-action signing and recovery.
//
// Identities are users (Employee, EndUser) and service accounts. Their
// credentials are passkeys (WebAuthn, through go-webauthn), key credentials
// (Ed25519, ECDSA P-256, ECDSA secp256k1, registered with a signature over
// a fresh challenge that proves possession of the key) and recovery keys.
//
// A login (BeginLogin or BeginDiscoverableLogin, then FinishLogin) opens a
// short-lived session whose Token the client presents; VerifySession checks
// it. A service account's session carries its permissions, which bound
// what the token may do.
//
// Every state-changing call needs a fresh signed user action:
//
//	ch, _ := svc.InitAction(ctx, principal, "Wallets:Sign", "wallets/w-1", body)
//	// the client signs ch (a passkey with ch.Options, a key credential
//	// over KeyClientData(KeyGet, ch.Challenge)) and sends the assertion
//	tok, _, _ := svc.CompleteAction(ctx, ch.ID, assertion)
//	// the request then travels with tok
//	ev, err := svc.VerifyAction(ctx, tok, "Wallets:Sign", "wallets/w-1", body)
//
// The challenge is the SHA-256 of a Binding of the relying party,
// principal, operation, resource, the SHA-256 of the exact payload, a fresh
// nonce and the expiry, so the signature itself commits to the request.
// VerifyAction consumes the token in the same store transaction that checks
// it: a second use fails with ErrActionReplayed. The returned Evidence
// keeps the signed bytes; Evidence.Verify checks them offline against the
// credential's public key, for the audit log and for signers.
//
// A recovery (BeginRecovery, CompleteRecovery) replaces every credential
// of a user with a new set signed by one of the user's recovery keys, and
// revokes every session and action token.
//
// Security contracts:
//   - Authorization is not decided here. authn says who signed what; the
//     caller (the custody layer, with the policy package) decides whether
//     that identity may do it, including who may create identities, add
//     credentials or issue service tokens.
//   - Tokens and challenges come from crypto/rand. Only SHA-256 hashes of
//     tokens are stored; Token redacts itself in fmt and log/slog output,
//     and nothing in this package logs a token, a challenge or a signature.
//   - Every ceremony is checked and recorded in one store transaction: a
//     refused request changes nothing, and a challenge or action token is
//     spent exactly once.
//   - Client input is size-capped and parsed strictly; every refusal wraps
//     one of the exported sentinels.
//   - Time comes from Config.Clock only.
package authn
