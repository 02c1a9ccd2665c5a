package policy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

// benchPolicies is a mix of 100 active Wallets:Sign policies: every rule
// kind (velocity windows of 1 hour to 30 days), every action, filters of
// every kind (75 of them match the benchmark's activity), none blocking it
// outright. Limits differ from policy to policy, so no two rules are alike.
func benchPolicies() []policy.Policy {
	exprs := []string{
		"amount_known && amount > 5000000000000000000",
		`"cold" in wallet_tags`,
		`recipient_known && recipient.startsWith("0xdead")`,
		`asset == "BTC" && network != "Bitcoin"`,
	}
	timeframes := []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
	var ps []policy.Policy
	for i := range 100 {
		var r policy.Rule
		switch i % 6 {
		case 0:
			r = policy.TransactionAmountLimit{Limit: fmt.Sprint(1000 + i), Currency: "USD"}
		case 1:
			r = policy.TransactionRecipientWhitelist{Addresses: []string{"0xaaa", "0xbbb", fmt.Sprintf("0x%03d", i)}}
		case 2:
			r = policy.Expression{CEL: exprs[i%len(exprs)]}
		case 3:
			r = policy.TransactionCountVelocity{Limit: int64(100_000 + i), Timeframe: timeframes[i%len(timeframes)]}
		case 4:
			r = policy.TransactionAmountVelocity{Limit: fmt.Sprint(1_000_000_000 + i), Currency: "USD", Timeframe: timeframes[i%len(timeframes)]}
		default:
			r = policy.AlwaysTrigger{}
		}
		var a policy.Action
		switch {
		case i%6 == 5:
			a = policy.NoAction{} // AlwaysTrigger must not block
		case i%3 == 0:
			a = policy.Block{}
		case i%3 == 1:
			a = policy.NoAction{}
		default:
			a = policy.RequestApproval{Groups: []policy.ApprovalGroup{group("ops", 1, "bob", "carol")}}
		}
		var f policy.Filters
		switch i % 4 {
		case 1:
			f.WalletIDs = []string{"w0", "w1", "w2"}
		case 2:
			f.WalletTagsAny = []string{"hot", "cold"}
		case 3:
			f.WalletTagsAll = []string{"hot", "us"} // does not match w1
		}
		ps = append(ps, policy.Policy{Name: fmt.Sprintf("policy %d", i), ActivityKind: policy.WalletsSign, Rule: r, Action: a, Filters: f})
	}
	return ps
}

// benchEnv creates the 100 policies and, if history > 0, that many earlier
// transfers of the wallet spread evenly over the last span.
func benchEnv(b *testing.B, history int, span time.Duration) *env {
	ctx := context.Background()
	e := newTestEnv(b)
	for _, p := range benchPolicies() {
		e.create(b, p)
	}
	if history > 0 {
		as := make([]policy.Activity, history)
		at := make([]time.Time, history)
		step := span / time.Duration(history)
		for i := range as {
			as[i] = transfer(1)
			if i%3 == 0 {
				as[i].Asset, as[i].Amount = "BTC", eth(0).SetInt64(1_000_000)
			}
			at[i] = t0.Add(-time.Duration(i+1) * step)
		}
		require.NoError(b, policy.RecordHistoryBatch(ctx, e.store, as, at))
	}
	return e
}

func benchmarkEvaluate(b *testing.B, history int, span time.Duration) {
	ctx := context.Background()
	e := benchEnv(b, history, span)
	a := transfer(1)
	d, err := e.Evaluate(ctx, a)
	require.NoError(b, err)
	require.Len(b, d.Evaluations, 75)
	require.Equal(b, policy.OutcomeAllow, d.Outcome, d.Blocking())
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		if _, err := e.Evaluate(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// reportCPU adds cpu-ns/op: on a shared machine, wall time per operation
// (ns/op) includes waiting for a core; CPU time does not.
func reportCPU(b *testing.B, start time.Duration) {
	if start > 0 && b.N > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkEvaluate100Policies: one activity against 100 active policies
// with an empty history. Target: ≤ 50 µs.
func BenchmarkEvaluate100Policies(b *testing.B) { benchmarkEvaluate(b, 0, 0) }

// BenchmarkEvaluate100PoliciesHistory10k: the same with 10,000 earlier
// transfers of the wallet over 30 days, read by velocity rules of 1 hour
// to 30 days. Target: ≤ 1 ms.
func BenchmarkEvaluate100PoliciesHistory10k(b *testing.B) {
	benchmarkEvaluate(b, 10_000, policy.MaxTimeframe)
}

// BenchmarkEvaluate100PoliciesHistory10kRecheck: Recheck of an activity
// Submit allowed, over the same 10,000-entry history: the evaluation plus
// the ID index lookup and the read of the activity's own entry.
func BenchmarkEvaluate100PoliciesHistory10kRecheck(b *testing.B) {
	ctx := context.Background()
	e := benchEnv(b, 10_000, policy.MaxTimeframe)
	a := transfer(1)
	a.ID = "rechecked"
	d, err := e.Submit(ctx, a)
	require.NoError(b, err)
	require.Equal(b, policy.OutcomeAllow, d.Outcome, d.Blocking())
	r, err := e.Recheck(ctx, a)
	require.NoError(b, err)
	require.Equal(b, d.Evaluations, r.Evaluations)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		if _, err := e.Recheck(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkEvaluate100PoliciesBurst10k: the same 10,000 transfers all
// within the last hour, the worst case for the index's partial units.
func BenchmarkEvaluate100PoliciesBurst10k(b *testing.B) {
	benchmarkEvaluate(b, 10_000, time.Hour)
}

// BenchmarkSubmit100PoliciesHistory10k: evaluation plus the durable write
// of the activity into the history (one store Update, synced to disk). The
// clock moves on 4 minutes per submission, the history's own pace.
func BenchmarkSubmit100PoliciesHistory10k(b *testing.B) {
	ctx := context.Background()
	e := benchEnv(b, 10_000, policy.MaxTimeframe)
	a := transfer(1)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		e.clock.Advance(4 * time.Minute)
		if _, err := e.Submit(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}
