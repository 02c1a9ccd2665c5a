package policy_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

// byteSource turns fuzz input into choices; exhausted input yields zeros.
type byteSource struct{ b []byte }

func (s *byteSource) next() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *byteSource) intn(n int) int { return int(s.next()) % n }

func pick[T any](s *byteSource, xs ...T) T { return xs[s.intn(len(xs))] }

var fuzzExpressions = []string{
	"true", "false", "amount > 5u", "amount_known && amount > 1000000000000000000",
	`"hot" in wallet_tags`, `recipient == "0xaaa"`, `asset == "BTC" || network == "Ethereum"`,
	`size(wallet_tags) > 1 && payload == "Transfer"`, "amount + 1u", "1 / 0 == 1", "nope >",
}

func fuzzRule(s *byteSource) policy.Rule {
	limit := pick(s, "0", "50", "100", "149.99", "1000", "-1", "abc")
	tf := pick(s, time.Minute, time.Hour, 24*time.Hour, 30*24*time.Hour, 0, 31*24*time.Hour)
	switch s.intn(6) {
	case 0:
		return policy.AlwaysTrigger{}
	case 1:
		return policy.TransactionAmountLimit{Limit: limit, Currency: pick(s, "USD", "EUR")}
	case 2:
		return policy.TransactionAmountVelocity{Limit: limit, Currency: "USD", Timeframe: tf}
	case 3:
		return policy.TransactionCountVelocity{Limit: int64(s.intn(5)) - 1, Timeframe: tf}
	case 4:
		return policy.TransactionRecipientWhitelist{Addresses: pick(s, []string{"0xaaa"}, []string{"0xbbb", "0xccc"}, nil)}
	default:
		return policy.Expression{CEL: pick(s, fuzzExpressions...)}
	}
}

func fuzzAction(s *byteSource) policy.Action {
	switch s.intn(3) {
	case 0:
		return policy.Block{}
	case 1:
		return policy.NoAction{}
	}
	var groups []policy.ApprovalGroup
	for i := range s.intn(3) {
		groups = append(groups, policy.ApprovalGroup{
			Name: []string{"a", "b", "c"}[i], Quorum: s.intn(3),
			Approvers: pick(s, nil, []string{"bob"}, []string{"bob", "carol"}),
		})
	}
	return policy.RequestApproval{Groups: groups, AutoRejectTimeout: pick(s, 0, time.Hour)}
}

func fuzzFilters(s *byteSource) policy.Filters {
	return policy.Filters{
		WalletIDs:     pick(s, nil, nil, []string{"w1"}, []string{"w2"}),
		WalletTagsAny: pick(s, nil, nil, []string{"hot"}, []string{"cold", "eu"}),
		WalletTagsAll: pick(s, nil, nil, []string{"hot", "eu"}, []string{"us"}),
	}
}

func fuzzActivity(s *byteSource) policy.Activity {
	a := transfer(0)
	a.WalletID = pick(s, "w1", "w2")
	a.WalletTags = pick(s, nil, []string{"hot"}, []string{"hot", "eu"})
	a.Asset = pick(s, "ETH", "BTC", "DOGE")
	a.Amount = pick(s, nil, big.NewInt(0), eth(1), eth(3), new(big.Int).Lsh(big.NewInt(1), 100))
	a.Recipient = pick(s, "", "0xaaa", "0xbbb")
	a.Payload = pick(s, policy.PayloadTransfer, policy.PayloadTransaction, policy.PayloadHash)
	return a
}

// FuzzEvaluate: for random policy sets, histories and activities,
// evaluation never panics, is deterministic, and its outcome follows from
// its evaluations: a triggered Block anywhere means Block; otherwise a
// triggered RequestApproval means RequireApproval with every triggered
// group; otherwise Allow. Adding a Block policy that always triggers makes
// any activity Block.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{5, 1, 1, 1, 0, 2, 0, 1, 2, 1, 1, 0, 3, 1, 0, 4, 2, 2, 1, 2, 3, 0, 1, 2, 2, 1, 0, 1, 2})
	f.Add([]byte{8, 5, 3, 0, 1, 0, 5, 2, 2, 0, 2, 1, 1, 1, 9, 2, 3, 0, 4, 1, 1, 0, 7, 2, 2, 2, 1, 0, 3, 3, 1, 4, 4, 2})
	f.Add([]byte{4, 2, 1, 1, 2, 2, 2, 2, 1, 2, 1, 1, 3, 3, 1, 0, 1, 2, 2, 0, 5, 4, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte("policies, histories and activities from arbitrary bytes"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		s := &byteSource{b: data}
		e := newEnvOn(t, newMemStore(), newClock())

		actions := map[string]policy.Action{}
		for range s.intn(9) {
			p := policy.Policy{Name: "p", ActivityKind: pick(s, policy.WalletsSign, policy.WalletsSign, policy.KeysExport),
				Rule: fuzzRule(s), Action: fuzzAction(s), Filters: fuzzFilters(s)}
			c, err := e.CreatePolicy(ctx, "admin", p)
			if err != nil {
				require.ErrorIs(t, err, policy.ErrInvalid)
				continue
			}
			actions[c.Policy.ID] = c.Policy.Action
		}
		for range s.intn(6) {
			h := fuzzActivity(s)
			at := t0.Add(-time.Duration(s.next()) * 10 * time.Minute)
			require.NoError(t, policy.RecordHistory(ctx, e.store, h, at))
		}
		a := fuzzActivity(s)

		d1, err := e.Evaluate(ctx, a)
		require.NoError(t, err)
		d2, err := e.Evaluate(ctx, a)
		require.NoError(t, err)
		require.Equal(t, d1, d2, "deterministic")

		var block, approve bool
		groups := 0
		for _, ev := range d1.Evaluations {
			act, ok := actions[ev.PolicyID]
			require.True(t, ok, "evaluated an unknown policy")
			require.Equal(t, act.ActionKind(), ev.Action)
			require.NotEmpty(t, ev.Reason)
			if !ev.Triggered {
				continue
			}
			switch act := act.(type) {
			case policy.Block:
				block = true
			case policy.RequestApproval:
				approve = true
				groups += len(act.Groups)
			}
		}
		switch {
		case block:
			require.Equal(t, policy.OutcomeBlock, d1.Outcome)
			require.Nil(t, d1.Approval)
		case approve:
			require.Equal(t, policy.OutcomeRequireApproval, d1.Outcome)
			require.Len(t, d1.Approval.Groups, groups)
		default:
			require.Equal(t, policy.OutcomeAllow, d1.Outcome)
		}

		e.create(t, blockPolicy("stop", policy.AlwaysTrigger{}))
		d3, err := e.Evaluate(ctx, a)
		require.NoError(t, err)
		require.Equal(t, policy.OutcomeBlock, d3.Outcome)
		require.Len(t, d3.Evaluations, len(d1.Evaluations)+1)

		// Submitting takes the same decision.
		d4, err := e.Submit(ctx, a)
		if errors.Is(err, policy.ErrInvalid) {
			t.Fatalf("submit refused a valid activity: %v", err)
		}
		require.NoError(t, err)
		require.Equal(t, d3, d4)
	})
}
