package policy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

// past is one earlier activity of the wallet, recorded in the velocity
// history before the policy exists.
type past struct {
	ago time.Duration
	act policy.Activity
}

type ruleCase struct {
	name    string
	rule    policy.Rule
	history []past
	act     policy.Activity
	trigger bool
	reason  string // a substring of the evaluation's reason, if given
}

func hashOf(a policy.Activity) policy.Activity { a.Payload = policy.PayloadHash; return a }

func ruleCases() []ruleCase {
	limit := policy.TransactionAmountLimit{Limit: "100", Currency: "USD"}
	amountVel := policy.TransactionAmountVelocity{Limit: "200", Currency: "USD", Timeframe: time.Hour}
	countVel := policy.TransactionCountVelocity{Limit: 2, Timeframe: time.Hour}
	white := policy.TransactionRecipientWhitelist{Addresses: []string{"0xaaa", "0xccc"}}
	noAmount := transfer(1)
	noAmount.Amount, noAmount.Payload = nil, policy.PayloadTransaction
	doge := transfer(1)
	doge.Asset = "DOGE"
	to := func(r string) policy.Activity { a := transfer(1); a.Recipient = r; return a }
	velHistory := []past{{2 * time.Hour, transfer(5)}, {30 * time.Minute, transfer(2)}}

	return []ruleCase{
		{name: "always", rule: policy.AlwaysTrigger{}, act: transfer(1), trigger: true},

		{name: "limit/below", rule: limit, act: transfer(1), trigger: false, reason: "Amount (50.00 USD) is within limit (100.00 USD)"},
		{name: "limit/equal", rule: limit, act: transfer(2), trigger: false},
		{name: "limit/above", rule: limit, act: transfer(3), trigger: true, reason: "Amount (150.00 USD) is above limit (100.00 USD)"},
		{name: "limit/raw hash fails closed", rule: limit, act: hashOf(transfer(1)), trigger: true, reason: "raw hash"},
		{name: "limit/unknown amount fails closed", rule: limit, act: noAmount, trigger: true, reason: "amount is unknown"},
		{name: "limit/no price fails closed", rule: limit, act: doge, trigger: true, reason: "no price"},

		{name: "amount velocity/within", rule: amountVel, history: velHistory, act: transfer(1), trigger: false,
			reason: "Value sent in the last 1 hour (150.00 USD) is within limit (200.00 USD)"},
		{name: "amount velocity/above", rule: amountVel, history: velHistory, act: transfer(3), trigger: true,
			reason: "(250.00 USD) is above limit"},
		{name: "amount velocity/unknown history fails closed", rule: amountVel,
			history: []past{{10 * time.Minute, hashOf(transfer(1))}}, act: transfer(1), trigger: true, reason: "unknown amount"},
		{name: "amount velocity/unknown current fails closed", rule: amountVel, act: hashOf(transfer(1)), trigger: true},

		{name: "count velocity/within", rule: countVel,
			history: []past{{2 * time.Hour, transfer(1)}, {10 * time.Minute, transfer(1)}}, act: transfer(1), trigger: false,
			reason: "Number of transactions (2) in the last 1 hour is within limit (2)"},
		{name: "count velocity/above", rule: countVel,
			history: []past{{50 * time.Minute, transfer(1)}, {10 * time.Minute, hashOf(transfer(1))}}, act: transfer(1), trigger: true,
			reason: "Number of transactions (3) in the last 1 hour is above limit (2)"},

		{name: "whitelist/listed", rule: white, act: to("0xccc"), trigger: false},
		{name: "whitelist/not listed", rule: white, act: to("0xbbb"), trigger: true, reason: `"0xbbb" is not whitelisted`},
		{name: "whitelist/raw hash fails closed", rule: white, act: hashOf(to("0xaaa")), trigger: true},
		{name: "whitelist/unknown recipient fails closed", rule: white, act: to(""), trigger: true},

		{name: "expression/true", rule: policy.Expression{CEL: "amount_known && amount > 2000000000000000000"}, act: transfer(3), trigger: true},
		{name: "expression/false", rule: policy.Expression{CEL: "amount_known && amount > 2000000000000000000"}, act: transfer(1), trigger: false},
		{name: "expression/error fails closed", rule: policy.Expression{CEL: "amount > 5u"}, act: hashOf(transfer(1)), trigger: true,
			reason: "could not be evaluated"},
		{name: "expression/tags", rule: policy.Expression{CEL: `"cold" in wallet_tags || recipient == "0xbbb"`}, act: transfer(1), trigger: false},
	}
}

type filterCase struct {
	name    string
	filters policy.Filters
	match   bool
}

// Every activity in the rule × filter table is on wallet w1 tagged hot, eu.
func filterCases() []filterCase {
	return []filterCase{
		{name: "none", match: true},
		{name: "ids match", filters: policy.Filters{WalletIDs: []string{"w9", "w1"}}, match: true},
		{name: "ids miss", filters: policy.Filters{WalletIDs: []string{"w9"}}},
		{name: "tags any match", filters: policy.Filters{WalletTagsAny: []string{"cold", "eu"}}, match: true},
		{name: "tags any miss", filters: policy.Filters{WalletTagsAny: []string{"cold"}}},
		{name: "tags all match", filters: policy.Filters{WalletTagsAll: []string{"eu", "hot"}}, match: true},
		{name: "tags all miss", filters: policy.Filters{WalletTagsAll: []string{"hot", "us"}}},
		{name: "and match", filters: policy.Filters{WalletIDs: []string{"w1"}, WalletTagsAny: []string{"hot"}, WalletTagsAll: []string{"eu"}}, match: true},
		{name: "and miss", filters: policy.Filters{WalletIDs: []string{"w1"}, WalletTagsAny: []string{"cold"}}},
	}
}

// TestRuleByFilter evaluates every rule case under every filter: a policy
// applies only when its filters match, and then triggers exactly when its
// rule says so; with action Block, the outcome follows.
func TestRuleByFilter(t *testing.T) {
	t.Parallel()
	for _, rc := range ruleCases() {
		for _, fc := range filterCases() {
			t.Run(rc.name+"/"+fc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newTestEnv(t)
				for _, h := range rc.history {
					e.clock.Set(t0.Add(-h.ago))
					d, err := e.Submit(ctx, h.act)
					require.NoError(t, err)
					require.Equal(t, policy.OutcomeAllow, d.Outcome)
				}
				e.clock.Set(t0)
				p := blockPolicy(rc.name, rc.rule)
				p.Filters = fc.filters
				p = e.create(t, p)

				d, err := e.Evaluate(ctx, rc.act)
				require.NoError(t, err)
				if !fc.match {
					assert.Empty(t, d.Evaluations)
					assert.Equal(t, policy.OutcomeAllow, d.Outcome)
					return
				}
				require.Len(t, d.Evaluations, 1)
				ev := d.Evaluations[0]
				assert.Equal(t, p.ID, ev.PolicyID)
				assert.Equal(t, rc.rule.RuleKind(), ev.Rule)
				assert.Equal(t, rc.trigger, ev.Triggered, ev.Reason)
				assert.NotEmpty(t, ev.Reason)
				assert.Contains(t, ev.Reason, rc.reason)
				want := policy.OutcomeAllow
				if rc.trigger {
					want = policy.OutcomeBlock
					assert.Equal(t, []policy.Evaluation{ev}, d.Blocking())
				}
				assert.Equal(t, want, d.Outcome)
			})
		}
	}
}

// TestNoPriceSourceFailsClosed: without a price source every value rule
// triggers, and the count rule, which needs no price, does not.
func TestNoPriceSourceFailsClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t, withoutPrices())
	e.create(t, blockPolicy("limit", policy.TransactionAmountLimit{Limit: "1000000", Currency: "USD"}))
	e.create(t, blockPolicy("velocity", policy.TransactionAmountVelocity{Limit: "1000000", Currency: "USD", Timeframe: time.Hour}))
	e.create(t, blockPolicy("count", policy.TransactionCountVelocity{Limit: 10, Timeframe: time.Hour}))

	d, err := e.Evaluate(ctx, transfer(1))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome)
	triggered := map[policy.RuleKind]bool{}
	for _, ev := range d.Evaluations {
		triggered[ev.Rule] = ev.Triggered
		if ev.Triggered {
			assert.Contains(t, ev.Reason, "no price source")
		}
	}
	assert.Equal(t, map[policy.RuleKind]bool{
		policy.KindTransactionAmountLimit:    true,
		policy.KindTransactionAmountVelocity: true,
		policy.KindTransactionCountVelocity:  false,
	}, triggered)

	// A zero amount is worth zero whatever the price.
	d, err = e.Evaluate(ctx, transfer(0))
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeAllow, d.Outcome, d.Evaluations)
}

// TestValuesAreExact: prices with many decimals compare exactly, with no
// rounding before the comparison.
func TestValuesAreExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prices, err := policy.NewStaticPrices(policy.StaticPrice{Asset: "TOK", Currency: "USD", PerUnit: "0.1", Decimals: 6})
	require.NoError(t, err)
	e := newEnvOn(t, newTestStore(t), newClock(), func(c *policy.Config) { c.Prices = prices })
	e.create(t, blockPolicy("limit", policy.TransactionAmountLimit{Limit: "0.3", Currency: "USD"}))

	act := transfer(0)
	act.Asset = "TOK"
	for _, tc := range []struct {
		smallest int64
		block    bool
	}{
		{3_000_000, false}, // 3 TOK × 0.1 = 0.3 exactly: not above
		{3_000_001, true},  // 0.3000001
		{2_999_999, false},
	} {
		act.Amount.SetInt64(tc.smallest)
		d, err := e.Evaluate(ctx, act)
		require.NoError(t, err)
		assert.Equal(t, tc.block, d.Outcome == policy.OutcomeBlock, "%d: %s", tc.smallest, d.Evaluations[0].Reason)
	}
}

// TestExpressionVariables: every documented variable is bound with its
// documented type, and nothing else is.
func TestExpressionVariables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	zero := map[string]string{
		"string": `""`, "list(string)": "[]", "uint": "0u", "bool": "false",
	}
	for name, typ := range policy.ExpressionVariables() {
		// Type-checks only if name has type typ; evaluates without error
		// only if it is bound.
		p := e.create(t, policy.Policy{Name: name, ActivityKind: policy.WalletsSign, Action: policy.NoAction{},
			Rule: policy.Expression{CEL: fmt.Sprintf("type(%s) == type(%s)", name, zero[typ])}})
		d, err := e.Evaluate(ctx, transfer(1))
		require.NoError(t, err)
		for _, ev := range d.Evaluations {
			if ev.PolicyID == p.ID {
				assert.True(t, ev.Triggered, ev.Reason)
				assert.Contains(t, ev.Reason, "is true")
			}
		}
	}
	_, err := e.CreatePolicy(ctx, "admin", blockPolicy("x", policy.Expression{CEL: "balance > 0"}))
	assert.ErrorIs(t, err, policy.ErrInvalid)
}
