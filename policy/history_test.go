package policy_test

import (
	"context"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

// TestHistoryWindowsMatchBruteForce checks the three-level velocity index
// against a plain scan: random entries over 40 days on two wallets, and
// windows of random length and position, including ones that start or end
// exactly on hour and day boundaries.
func TestHistoryWindowsMatchBruteForce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newTestStore(t)
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	span := 40 * 24 * time.Hour

	type entry struct {
		wallet, asset string
		at            time.Time
		amount        *big.Int // nil: unknown
	}
	var entries []entry
	for range 1500 {
		en := entry{
			wallet: []string{"w1", "w1", "w1x"}[rng.IntN(3)],
			asset:  []string{"ETH", "BTC", ""}[rng.IntN(3)],
			at:     base.Add(time.Duration(rng.Int64N(int64(span)))),
		}
		switch rng.IntN(8) {
		case 0: // a burst within one minute
			en.at = base.Add(17*24*time.Hour + 5*time.Minute + time.Duration(rng.Int64N(int64(time.Minute))))
		case 1: // a burst within one hour
			en.at = base.Add(23*24*time.Hour + time.Duration(rng.Int64N(int64(time.Hour))))
		}
		switch rng.IntN(10) {
		case 0:
			// unknown amount
		case 1:
			en.at = en.at.Truncate(time.Hour) // on a boundary
			en.amount = big.NewInt(rng.Int64N(1000))
		default:
			en.amount = new(big.Int).Lsh(big.NewInt(rng.Int64N(1000)), uint(rng.IntN(80)))
		}
		entries = append(entries, en)
	}
	// Record in batches of 100 per transaction, so the test stays quick on
	// a disk store.
	for i := 0; i < len(entries); i += 100 {
		var as []policy.Activity
		var at []time.Time
		for _, en := range entries[i:min(i+100, len(entries))] {
			a := transfer(0)
			a.WalletID, a.Asset, a.Amount = en.wallet, en.asset, en.amount
			if en.amount == nil {
				a.Payload = policy.PayloadHash
			}
			as, at = append(as, a), append(at, en.at)
		}
		require.NoError(t, policy.RecordHistoryBatch(ctx, st, as, at))
	}

	check := func(wallet string, s, e time.Time) {
		t.Helper()
		var count, unknown uint64
		sums := map[string]*big.Int{}
		for _, en := range entries {
			if en.wallet != wallet || en.at.Before(s) || en.at.After(e) {
				continue
			}
			count++
			if en.amount == nil {
				unknown++
				continue
			}
			if sums[en.asset] == nil {
				sums[en.asset] = new(big.Int)
			}
			sums[en.asset].Add(sums[en.asset], en.amount)
		}
		gc, gu, gs, err := policy.WindowTotals(ctx, st, wallet, s, e)
		require.NoError(t, err)
		assert.Equal(t, count, gc, "count in [%v, %v]", s, e)
		assert.Equal(t, unknown, gu, "unknown in [%v, %v]", s, e)
		if len(sums) == 0 {
			assert.Empty(t, gs)
		} else {
			assert.Equal(t, sums, gs, "sums in [%v, %v]", s, e)
		}
	}
	for range 300 {
		s := base.Add(time.Duration(rng.Int64N(int64(span + 48*time.Hour)))).Add(-24 * time.Hour)
		length := time.Duration(rng.Int64N(int64(policy.MaxTimeframe)))
		switch rng.IntN(4) {
		case 0:
			s = s.Truncate(time.Hour)
		case 1:
			s = s.Truncate(24 * time.Hour)
			length = length.Truncate(24*time.Hour) - 1
		}
		for _, w := range []string{"w1", "w1x", "w2"} {
			check(w, s, s.Add(length))
		}
	}
	check("w1", base, base.Add(span))                       // everything
	check("w1", base.Add(time.Hour), base.Add(time.Hour))   // one instant
	check("w1", base.Add(2*time.Hour), base.Add(time.Hour)) // empty
}
