package policy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

// TestInvalidPolicies: bad configurations are refused at creation with a
// *ValidationError naming the field, and nothing is written.
func TestInvalidPolicies(t *testing.T) {
	t.Parallel()
	ok := blockPolicy("ok", policy.AlwaysTrigger{})
	with := func(f func(p *policy.Policy)) policy.Policy { p := ok; f(&p); return p }
	rule := func(r policy.Rule) policy.Policy { return with(func(p *policy.Policy) { p.Rule = r }) }
	groups := func(gs ...policy.ApprovalGroup) policy.Policy {
		return with(func(p *policy.Policy) { p.Action = policy.RequestApproval{Groups: gs} })
	}
	day := 24 * time.Hour

	tests := []struct {
		name   string
		p      policy.Policy
		field  string
		reason string
	}{
		{"no name", with(func(p *policy.Policy) { p.Name = "" }), "Name", "empty"},
		{"unknown kind", with(func(p *policy.Policy) { p.ActivityKind = "Wallets:Dance" }), "ActivityKind", "unknown"},
		{"no rule", rule(nil), "Rule", "missing"},
		{"nil rule pointer", rule((*policy.AlwaysTrigger)(nil)), "Rule", "missing"},
		{"no action", with(func(p *policy.Policy) { p.Action = nil }), "Action", "missing"},

		{"negative amount limit", rule(policy.TransactionAmountLimit{Limit: "-5", Currency: "USD"}), "Rule.Limit", "negative"},
		{"amount limit not a number", rule(policy.TransactionAmountLimit{Limit: "1e6", Currency: "USD"}), "Rule.Limit", "plain decimal"},
		{"amount limit empty", rule(policy.TransactionAmountLimit{Currency: "USD"}), "Rule.Limit", "empty"},
		{"amount limit bad currency", rule(policy.TransactionAmountLimit{Limit: "5", Currency: "usd"}), "Rule.Currency", "ISO 4217"},
		{"negative amount velocity", rule(policy.TransactionAmountVelocity{Limit: "-0.01", Currency: "USD", Timeframe: time.Hour}), "Rule.Limit", "negative"},
		{"velocity timeframe too short", rule(policy.TransactionAmountVelocity{Limit: "1", Currency: "USD", Timeframe: 59 * time.Second}), "Rule.Timeframe", "outside"},
		{"velocity timeframe too long", rule(policy.TransactionAmountVelocity{Limit: "1", Currency: "USD", Timeframe: 30*day + 1}), "Rule.Timeframe", "outside"},
		{"negative count limit", rule(policy.TransactionCountVelocity{Limit: -1, Timeframe: time.Hour}), "Rule.Limit", "negative"},
		{"count timeframe zero", rule(policy.TransactionCountVelocity{Limit: 1}), "Rule.Timeframe", "outside"},
		{"count timeframe too long", rule(policy.TransactionCountVelocity{Limit: 1, Timeframe: 31 * day}), "Rule.Timeframe", "outside"},
		{"empty whitelist", rule(policy.TransactionRecipientWhitelist{}), "Rule.Addresses", "empty"},
		{"empty address", rule(policy.TransactionRecipientWhitelist{Addresses: []string{"0xaaa", ""}}), "Rule.Addresses[1]", "empty"},
		{"transaction rule on another kind", with(func(p *policy.Policy) {
			p.ActivityKind = policy.PoliciesModify
			p.Rule = policy.TransactionCountVelocity{Limit: 1, Timeframe: time.Hour}
		}), "Rule", "only to Wallets:Sign"},

		{"CEL does not parse", rule(policy.Expression{CEL: "amount >"}), "Rule.CEL", "does not compile"},
		{"CEL unknown variable", rule(policy.Expression{CEL: "balance > 5"}), "Rule.CEL", "does not compile"},
		{"CEL type error", rule(policy.Expression{CEL: `asset + 1 == "x"`}), "Rule.CEL", "does not compile"},
		{"CEL not boolean", rule(policy.Expression{CEL: "amount + 1u"}), "Rule.CEL", "not bool"},
		{"CEL dyn not boolean", rule(policy.Expression{CEL: `{"a": true}["a"] == true ? 1 : 2`}), "Rule.CEL", "not bool"},
		{"CEL empty", rule(policy.Expression{}), "Rule.CEL", "empty"},
		{"CEL too long", rule(policy.Expression{CEL: strings.Repeat("true && ", 600) + "true"}), "Rule.CEL", "longer"},

		{"no groups", groups(), "Action.Groups", "empty"},
		{"group without name", groups(group("", 1, "bob")), "Action.Groups[0].Name", "empty"},
		{"zero quorum", groups(group("ops", 0, "bob")), "Action.Groups[0].Quorum", "less than 1"},
		{"quorum larger than the approvers", groups(group("ops", 1, "bob"), group("risk", 3, "carol", "dave")), "Action.Groups[1].Quorum", "larger than the 2 approvers"},
		{"duplicate approver", groups(group("ops", 1, "bob", "bob")), "Action.Groups[0].Approvers[1]", "twice"},
		{"empty approver", groups(group("ops", 1, "")), "Action.Groups[0].Approvers[0]", "empty"},
		{"duplicate group name", groups(group("ops", 1, "bob"), group("ops", 1, "carol")), "Action.Groups[1].Name", "another group"},
		{"negative timeout", with(func(p *policy.Policy) {
			p.Action = policy.RequestApproval{Groups: []policy.ApprovalGroup{group("ops", 1, "bob")}, AutoRejectTimeout: -time.Second}
		}), "Action.AutoRejectTimeout", "negative"},
		{"empty filter value", with(func(p *policy.Policy) { p.Filters.WalletTagsAll = []string{"hot", ""} }), "Filters.WalletTagsAll[1]", "empty"},
		{"wallet filter on a change kind", with(func(p *policy.Policy) {
			p.ActivityKind = policy.PoliciesModify
			p.Filters.WalletIDs = []string{"w1"}
		}), "Filters", "no wallet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := newMemStore()
			e := newEnvOn(t, st, newClock())
			_, err := e.CreatePolicy(ctx, "admin", tc.p)
			require.ErrorIs(t, err, policy.ErrInvalid)
			var ve *policy.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
			assert.Contains(t, ve.Reason, tc.reason)
			assert.Contains(t, err.Error(), tc.field)

			ps, err := e.Policies(ctx)
			require.NoError(t, err)
			assert.Empty(t, ps)
			assert.Zero(t, st.keyCount("policy.changes"))
			assert.Zero(t, st.keyCount("policy.meta"))

			// The same configuration is refused on update too.
			p := e.create(t, ok)
			bad := tc.p
			bad.ID = p.ID
			if bad.ActivityKind == ok.ActivityKind {
				_, err = e.UpdatePolicy(ctx, "admin", bad)
				require.ErrorIs(t, err, policy.ErrInvalid)
				got, err := e.Policy(ctx, p.ID)
				require.NoError(t, err)
				assert.Equal(t, p, got)
			}
		})
	}
}

// TestNewEngineNeedsAStore: the one required setting.
func TestNewEngineNeedsAStore(t *testing.T) {
	t.Parallel()
	_, err := policy.NewEngine(policy.Config{})
	require.ErrorIs(t, err, policy.ErrInvalid)
}

// TestValidPoliciesRoundTrip: every rule and action kind, with filters,
// survives the store unchanged, and pointer spellings are accepted.
func TestValidPoliciesRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	rules := []policy.Rule{
		policy.AlwaysTrigger{},
		&policy.AlwaysTrigger{},
		policy.TransactionAmountLimit{Limit: "1000.50", Currency: "EUR"},
		policy.TransactionAmountVelocity{Limit: "0", Currency: "USD", Timeframe: policy.MinTimeframe},
		policy.TransactionCountVelocity{Limit: 0, Timeframe: policy.MaxTimeframe},
		policy.TransactionRecipientWhitelist{Addresses: []string{"0xaaa", "bc1q"}},
		&policy.Expression{CEL: `network == "Ethereum" && "hot" in wallet_tags`},
	}
	actions := []policy.Action{
		policy.Block{}, &policy.NoAction{},
		policy.RequestApproval{AutoRejectTimeout: time.Hour, Groups: []policy.ApprovalGroup{
			{Name: "ops", Quorum: 2, Approvers: []string{"bob", "carol"}, InitiatorCanApprove: true},
			{Name: "anyone", Quorum: 3},
		}},
	}
	var created []policy.Policy
	for i, r := range rules {
		p := policy.Policy{Name: "p", ActivityKind: policy.WalletsSign, Rule: r, Action: actions[i%len(actions)],
			Filters: policy.Filters{WalletIDs: []string{"w1"}, WalletTagsAny: []string{"a", "b"}, WalletTagsAll: []string{"c"}}}
		got := e.create(t, p)
		assert.Equal(t, policy.Active, got.Status)
		assert.Equal(t, t0, got.CreatedAt)
		assert.Equal(t, t0, got.UpdatedAt)
		created = append(created, got)
	}
	for _, p := range created {
		got, err := e.Policy(ctx, p.ID)
		require.NoError(t, err)
		assert.Equal(t, p, got)
	}
	_, err := e.Policy(ctx, "po-nope")
	assert.ErrorIs(t, err, policy.ErrNotFound)
	_, err = e.UpdatePolicy(ctx, "admin", policy.Policy{ID: "po-nope", Name: "x", ActivityKind: policy.WalletsSign, Rule: policy.AlwaysTrigger{}, Action: policy.Block{}})
	assert.ErrorIs(t, err, policy.ErrNotFound)

	kindChange := created[0]
	kindChange.ActivityKind = policy.KeysExport
	_, err = e.UpdatePolicy(ctx, "admin", kindChange)
	assert.ErrorIs(t, err, policy.ErrInvalid)
}

// TestNothingHalfSaved: when any write of a change fails, none of its
// writes remain.
func TestNothingHalfSaved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &failingStore{Store: newTestStore(t)}
	e := newEnvOn(t, st, newClock())
	p := blockPolicy("p", policy.TransactionAmountLimit{Limit: "100", Currency: "USD"})

	// Count the writes of a successful creation, then fail each in turn.
	counter := &failingStore{Store: newTestStore(t)}
	var writes int64
	for n := int64(1); ; n++ {
		counter.failAt.Store(n)
		ec := newEnvOn(t, counter, newClock())
		if _, err := ec.CreatePolicy(ctx, "admin", p); err == nil {
			writes = n - 1
			break
		}
	}
	require.Greater(t, writes, int64(1), "a creation is several writes")

	for n := int64(1); n <= writes; n++ {
		st.failAt.Store(n)
		_, err := e.CreatePolicy(ctx, "admin", p)
		require.ErrorIs(t, err, errInjected)
		st.failAt.Store(0)
		ps, err := e.Policies(ctx)
		require.NoError(t, err)
		assert.Empty(t, ps, "write %d failed", n)
		d, err := e.Evaluate(ctx, transfer(3))
		require.NoError(t, err)
		assert.Equal(t, policy.OutcomeAllow, d.Outcome, "write %d failed", n)
	}
	e.create(t, p)
	d, err := e.Evaluate(ctx, transfer(3))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome)
}
