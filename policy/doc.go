// Package policy is Cairn's policy engine: policies that allow, block or
// hold activities for approval, the approvals themselves, change requests
// for policies and permissions, and role-based permissions (RBAC).
//
// It knows nothing of MPC or chains. It sees a normalised Activity (kind,
// initiator, wallet and tags, network, asset, amount in the smallest unit,
// recipient, payload kind) and persists everything in a store.Store.
//
// # Policies and evaluation
//
// A Policy applies a Rule to the activities of one ActivityKind that its
// Filters select, and takes its Action when the rule triggers. Rules:
// AlwaysTrigger, TransactionAmountLimit, TransactionAmountVelocity,
// TransactionCountVelocity, TransactionRecipientWhitelist, and Expression
// (CEL, compiled, type-checked to bool and cost-bounded when the policy is
// created). Actions: Block, NoAction, RequestApproval.
//
// Engine.Evaluate (read-only) and Engine.Submit (which commits the outcome)
// evaluate every active policy of the activity's kind whose filters match,
// record each result with its reason, and decide: any triggered Block
// blocks; otherwise all triggered approval groups, from all policies, go
// into one Approval; otherwise the activity is allowed. With no policy at
// all everything is allowed: for deny-by-default, add a Block policy whose
// filters or expression leave out what should pass.
//
// Engine.Recheck (read-only) is Evaluate for a party that re-checks a
// decision already taken, such as a signer's validation gate: an activity
// that Submit allowed, or whose approval was approved, is already in the
// velocity history, and Recheck leaves that entry (found by the activity's
// ID, wallet, asset and amount) out of the windows, so it sees what Submit
// saw instead of counting the activity twice. An activity not recorded so
// is evaluated exactly as Evaluate does.
//
// Value rules fail closed: when the value cannot be known (a raw hash, an
// unknown amount, no PriceSource, no price) they trigger; so do the
// recipient whitelist for an unknown recipient and an Expression that fails
// to evaluate.
//
// # Money
//
// Amounts are exact integers (*big.Int) in the asset's smallest unit. Fiat
// limits and prices are plain decimal strings ("10000", "3456.78"), held as
// exact rationals (*big.Rat): a value is amount × price with no rounding
// before it is compared. There are no floating-point numbers anywhere.
//
// # Velocity
//
// The velocity rules read a per-wallet history of the Wallets:Sign
// activities that went ahead (allowed by Submit, or approved), kept in the
// store so that limits hold across restarts. Its keys are time-ordered with
// hour and day aggregates, so a window of up to 30 days costs a bounded
// number of reads whatever the history's length. Submit evaluates and
// records in one store transaction, so concurrent requests cannot overrun a
// limit together.
//
// # Approvals, changes, permissions
//
// Decide records approval decisions under the rules documented on
// Approval; each decision carries the approver's signed user action as
// opaque evidence, checked by an ActionVerifier (authn provides the real
// one) and verifiable again later with Approval.Verify. Changes to policies
// and permissions are themselves activities (Policies:Modify,
// Permissions:Modify, Permissions:Assign): under a policy that requests
// approval they become pending Changes, applied when approved. Permissions
// are named sets of Operations assigned to identities; Bootstrap gives the
// first user an immutable full-admin permission; Check refuses with a
// *PermissionError naming identity and operation.
//
// Every mutation is one store transaction: nothing is ever half-saved.
package policy
