package policy_test

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store/bolt"
)

// An engine with two policies: transfers over 10,000 USD need one of two
// treasury officers; more than 5 transfers an hour from a wallet are
// blocked.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "cairn-policy-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	st, err := bolt.Open(filepath.Join(dir, "policy.db"), nil)
	if err != nil {
		panic(err)
	}
	defer st.Close()

	prices, _ := policy.NewStaticPrices(policy.StaticPrice{Asset: "ETH", Currency: "USD", PerUnit: "2500", Decimals: 18})
	engine, err := policy.NewEngine(policy.Config{Store: st, Prices: prices, Now: func() time.Time { return t0 }})
	if err != nil {
		panic(err)
	}
	for _, p := range []policy.Policy{
		{
			Name: "large transfers", ActivityKind: policy.WalletsSign,
			Rule: policy.TransactionAmountLimit{Limit: "10000", Currency: "USD"},
			Action: policy.RequestApproval{Groups: []policy.ApprovalGroup{
				{Name: "treasury", Quorum: 1, Approvers: []string{"officer-1", "officer-2"}},
			}, AutoRejectTimeout: 24 * time.Hour},
		},
		{
			Name: "burst", ActivityKind: policy.WalletsSign,
			Rule:   policy.TransactionCountVelocity{Limit: 5, Timeframe: time.Hour},
			Action: policy.Block{},
		},
	} {
		if _, err := engine.CreatePolicy(ctx, "admin", p); err != nil {
			panic(err)
		}
	}

	fiveETH := new(big.Int).Mul(big.NewInt(5), big.NewInt(1e18))
	d, err := engine.Submit(ctx, policy.Activity{
		Kind: policy.WalletsSign, Initiator: "alice", WalletID: "w1",
		Asset: "ETH", Amount: fiveETH, Recipient: "0xabc", Payload: policy.PayloadTransfer,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Outcome)
	for _, ev := range d.Evaluations {
		fmt.Printf("%s: triggered=%v: %s\n", ev.PolicyName, ev.Triggered, ev.Reason)
	}
	fmt.Println("approvers:", d.Approval.Groups[0].Approvers, "until", d.Approval.ExpiresAt.Format(time.DateTime))
	// Unordered output:
	// RequireApproval
	// large transfers: triggered=true: Amount (12500.00 USD) is above limit (10000.00 USD)
	// burst: triggered=false: Number of transactions (1) in the last 1 hour is within limit (5)
	// approvers: [officer-1 officer-2] until 2026-03-03 10:30:00
}
