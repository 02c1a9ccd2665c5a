package policy_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store"
)

// withID returns a with another ID.
func withID(a policy.Activity, id string) policy.Activity {
	a.ID = id
	return a
}

// btc returns n satoshi of BTC from w1, worth n/10^5 USD at the test price.
func btc(id string, n int64) policy.Activity {
	a := transfer(0)
	a.ID, a.Asset = id, "BTC"
	a.Amount.SetInt64(n)
	return a
}

// submitAll submits each activity, which must be allowed.
func (e *env) submitAll(t *testing.T, as ...policy.Activity) {
	t.Helper()
	for _, a := range as {
		d, err := e.Submit(context.Background(), a)
		require.NoError(t, err)
		require.Equal(t, policy.OutcomeAllow, d.Outcome, "submit %s: %v", a.ID, d.Evaluations)
	}
}

// TestRecheckSeesWhatSubmitSaw: an activity Submit allowed, rechecked a
// minute later, gets Submit's decision, evaluation for evaluation, where
// Evaluate counts it twice and holds or blocks it.
func TestRecheckSeesWhatSubmitSaw(t *testing.T) {
	t.Parallel()
	amountVelocity := func(tf time.Duration, limit string) policy.Policy {
		return approvalPolicy("value "+tf.String(), policy.TransactionAmountVelocity{Limit: limit, Currency: "USD", Timeframe: tf},
			group("ops", 1, "bob"))
	}
	countVelocity := func(tf time.Duration, limit int64) policy.Policy {
		return blockPolicy("count "+tf.String(), policy.TransactionCountVelocity{Limit: limit, Timeframe: tf})
	}
	hash := withID(transfer(0), "sig")
	hash.Payload, hash.Amount = policy.PayloadHash, nil

	type row struct {
		name     string
		policies []policy.Policy
		history  []policy.Activity // submitted first, in order
		act      policy.Activity   // submitted last, then rechecked
		evaluate policy.Outcome    // Evaluate's outcome after the submission
	}
	var tests []row
	for _, tf := range []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, policy.MaxTimeframe} {
		// 10 ETH (500 USD) per timeframe, 5 used, 4 more: 9 at Submit, 13 for Evaluate.
		tests = append(tests, row{
			name:     "amount " + tf.String(),
			policies: []policy.Policy{amountVelocity(tf, "500")},
			history:  []policy.Activity{withID(transfer(5), "earlier")},
			act:      withID(transfer(4), "tx-4"),
			evaluate: policy.OutcomeRequireApproval,
		}, row{
			name:     "count " + tf.String(),
			policies: []policy.Policy{countVelocity(tf, 2)},
			history:  []policy.Activity{withID(transfer(5), "earlier")},
			act:      withID(transfer(4), "tx-4"),
			evaluate: policy.OutcomeBlock,
		})
	}
	tests = append(tests,
		row{
			name: "count and amount windows together",
			policies: []policy.Policy{
				amountVelocity(time.Hour, "500"), amountVelocity(24*time.Hour, "600"),
				countVelocity(time.Hour, 2), countVelocity(7*24*time.Hour, 3),
			},
			history:  []policy.Activity{withID(transfer(5), "earlier")},
			act:      withID(transfer(4), "tx-4"),
			evaluate: policy.OutcomeBlock,
		},
		row{
			// The entry's asset has no other entry in the window: the
			// total is BTC's 100 USD plus the activity's own 200 USD.
			name:     "only entry of its asset",
			policies: []policy.Policy{blockPolicy("value", policy.TransactionAmountVelocity{Limit: "300", Currency: "USD", Timeframe: 24 * time.Hour})},
			history:  []policy.Activity{btc("earlier", 10_000_000)},
			act:      withID(transfer(4), "tx-4"),
			evaluate: policy.OutcomeBlock,
		},
		row{
			name:     "unknown amount",
			policies: []policy.Policy{countVelocity(24*time.Hour, 2)},
			history:  []policy.Activity{withID(transfer(1), "earlier")},
			act:      hash,
			evaluate: policy.OutcomeBlock,
		},
		row{
			// Recorded twice (a retry): left out once, not twice.
			name:     "ID recorded twice",
			policies: []policy.Policy{countVelocity(24*time.Hour, 3)},
			history:  []policy.Activity{withID(transfer(1), "earlier"), withID(transfer(4), "tx-4")},
			act:      withID(transfer(4), "tx-4"),
			evaluate: policy.OutcomeBlock,
		},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newTestEnv(t)
			for _, p := range tt.policies {
				e.create(t, p)
			}
			e.submitAll(t, tt.history...)
			submitted, err := e.Submit(ctx, tt.act)
			require.NoError(t, err)
			require.Equal(t, policy.OutcomeAllow, submitted.Outcome, submitted.Evaluations)

			e.clock.Advance(time.Minute) // the signers' gates run a little later
			d, err := e.Recheck(ctx, tt.act)
			require.NoError(t, err)
			assert.Equal(t, policy.OutcomeAllow, d.Outcome)
			assert.Equal(t, submitted.Evaluations, d.Evaluations)
			assert.Nil(t, d.Approval)

			d, err = e.Evaluate(ctx, tt.act)
			require.NoError(t, err)
			assert.Equal(t, tt.evaluate, d.Outcome, "Evaluate counts the activity twice")
			assert.NotEqual(t, submitted.Evaluations, d.Evaluations)
		})
	}
}

// TestRecheckApprovedActivity: an activity held for approval enters the
// history when approved; from then on Recheck sees what Submit saw (held,
// not blocked), where Evaluate counts it twice and blocks it. Before the
// approval it is not in the history and Recheck is Evaluate.
func TestRecheckApprovedActivity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	day := 24 * time.Hour
	e.create(t, approvalPolicy("hold above 10 ETH a day",
		policy.TransactionAmountVelocity{Limit: "500", Currency: "USD", Timeframe: day}, group("ops", 1, "bob")))
	e.create(t, blockPolicy("block above 15 ETH a day",
		policy.TransactionAmountVelocity{Limit: "750", Currency: "USD", Timeframe: day}))
	e.submitAll(t, withID(transfer(5), "earlier"))

	act := withID(transfer(6), "big") // 11 ETH
	submitted, err := e.Submit(ctx, act)
	require.NoError(t, err)
	require.Equal(t, policy.OutcomeRequireApproval, submitted.Outcome)

	pending, err := e.Recheck(ctx, act)
	require.NoError(t, err)
	evaluated, err := e.Evaluate(ctx, act)
	require.NoError(t, err)
	assert.Equal(t, evaluated, pending, "not recorded yet: Recheck is Evaluate")
	assert.Equal(t, submitted.Evaluations, pending.Evaluations)

	_, err = e.decide(submitted.Approval.ID, "bob", policy.VoteApproved)
	require.NoError(t, err)
	e.clock.Advance(time.Minute)

	d, err := e.Recheck(ctx, act)
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeRequireApproval, d.Outcome)
	assert.Equal(t, submitted.Evaluations, d.Evaluations)
	require.NotNil(t, d.Approval)
	assert.Empty(t, d.Approval.ID, "a preview")

	d, err = e.Evaluate(ctx, act)
	require.NoError(t, err)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome, "Evaluate counts 17 ETH")
}

// TestRecheckCountsWhatWasNotRecorded: an activity that was not recorded
// under its ID with the same wallet, asset and amount is counted, exactly
// as Evaluate counts it.
func TestRecheckCountsWhatWasNotRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	e.create(t, blockPolicy("two a day", policy.TransactionCountVelocity{Limit: 2, Timeframe: 24 * time.Hour}))
	onW2 := func(a policy.Activity) policy.Activity { a.WalletID = "w2"; return a }
	e.submitAll(t,
		withID(transfer(1), "earlier"), withID(transfer(4), "tx-4"),
		onW2(withID(transfer(1), "w2-a")), onW2(withID(transfer(1), "w2-b")),
	)
	blocked, err := e.Submit(ctx, withID(transfer(1), "tx-5"))
	require.NoError(t, err)
	require.Equal(t, policy.OutcomeBlock, blocked.Outcome)
	e.clock.Advance(time.Minute)

	recorded := withID(transfer(4), "tx-4")
	tests := []struct {
		name  string
		edit  func(*policy.Activity)
		allow bool
	}{
		{name: "the recorded activity", edit: func(*policy.Activity) {}, allow: true},
		{name: "never submitted", edit: func(a *policy.Activity) { a.ID = "other" }},
		{name: "no ID", edit: func(a *policy.Activity) { a.ID = "" }},
		{name: "blocked by Submit", edit: func(a *policy.Activity) { *a = withID(transfer(1), "tx-5") }},
		{name: "other amount", edit: func(a *policy.Activity) { a.Amount = eth(3) }},
		{name: "one wei more", edit: func(a *policy.Activity) { a.Amount.Add(a.Amount, eth(0).SetInt64(1)) }},
		{name: "other asset", edit: func(a *policy.Activity) { a.Asset = "BTC" }},
		{name: "other wallet", edit: func(a *policy.Activity) { a.WalletID = "w2" }},
		{name: "unknown amount", edit: func(a *policy.Activity) { a.Amount = nil }},
		{name: "raw hash", edit: func(a *policy.Activity) { a.Payload = policy.PayloadHash }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := recorded
			a.Amount = eth(4)
			tt.edit(&a)
			d, err := e.Recheck(ctx, a)
			require.NoError(t, err)
			if tt.allow {
				assert.Equal(t, policy.OutcomeAllow, d.Outcome, d.Evaluations)
				return
			}
			assert.Equal(t, policy.OutcomeBlock, d.Outcome, d.Evaluations)
			evaluated, err := e.Evaluate(ctx, a)
			require.NoError(t, err)
			assert.Equal(t, evaluated, d)
		})
	}

	_, err = e.Recheck(ctx, policy.Activity{ID: "tx-4", Kind: policy.WalletsSign, Initiator: "alice"})
	assert.ErrorIs(t, err, policy.ErrInvalid)
}

// TestRecheckLeavesTheEntryOutOnlyOfItsWindows: rechecked two hours
// later, an entry is still left out of the day's window but no longer
// lies in the hour's, where there is nothing to leave out.
func TestRecheckLeavesTheEntryOutOnlyOfItsWindows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	e.create(t, blockPolicy("hour", policy.TransactionCountVelocity{Limit: 1, Timeframe: time.Hour}))
	e.create(t, blockPolicy("day", policy.TransactionCountVelocity{Limit: 2, Timeframe: 24 * time.Hour}))
	a, b := withID(transfer(1), "a"), withID(transfer(1), "b")
	e.submitAll(t, a)
	e.clock.Advance(2 * time.Hour)
	e.submitAll(t, b)

	triggered := func(d policy.Decision) map[string]bool {
		m := map[string]bool{}
		for _, ev := range d.Evaluations {
			m[ev.PolicyName] = ev.Triggered
		}
		return m
	}
	d, err := e.Recheck(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"hour": false, "day": false}, triggered(d))

	d, err = e.Recheck(ctx, a) // b in the hour; a and b in the day, a left out
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"hour": true, "day": false}, triggered(d))
	d, err = e.Evaluate(ctx, a)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"hour": true, "day": true}, triggered(d))

	e.clock.Advance(24 * time.Hour) // both out of every window
	d, err = e.Recheck(ctx, b)
	require.NoError(t, err)
	evaluated, err := e.Evaluate(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, evaluated, d)
	assert.Equal(t, policy.OutcomeAllow, d.Outcome)
}

// TestRecheckWithoutIndex: a history written before the ID index existed
// has none, and Recheck is then Evaluate; activities recorded from then on
// are indexed again.
func TestRecheckWithoutIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	e.create(t, blockPolicy("two a day", policy.TransactionCountVelocity{Limit: 2, Timeframe: 24 * time.Hour}))
	act := withID(transfer(4), "tx-4")
	e.submitAll(t, withID(transfer(1), "earlier"), act)
	n, err := policy.HistoryIDCount(ctx, e.store)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	require.NoError(t, policy.DropHistoryIDs(ctx, e.store))
	d, err := e.Recheck(ctx, act)
	require.NoError(t, err)
	evaluated, err := e.Evaluate(ctx, act)
	require.NoError(t, err)
	assert.Equal(t, evaluated, d)
	assert.Equal(t, policy.OutcomeBlock, d.Outcome)

	e.clock.Advance(24 * time.Hour)
	later := withID(transfer(1), "later")
	e.submitAll(t, later)
	d, err = e.Recheck(ctx, later)
	require.NoError(t, err)
	assert.Equal(t, "Number of transactions (1) in the last 1 day is within limit (2)", d.Evaluations[0].Reason)
}

// watchedStore counts the transactions and writes that go through it.
type watchedStore struct {
	store.Store
	updates, writes atomic.Int64
	mu              sync.Mutex
	buckets         []string // every bucket read
}

type watchedTx struct {
	store.Tx
	s *watchedStore
}

func (s *watchedStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(watchedTx{tx, s}) })
}

func (s *watchedStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(watchedTx{tx, s}) })
}

func (s *watchedStore) read(bucket string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.buckets, bucket) {
		s.buckets = append(s.buckets, bucket)
	}
}

func (t watchedTx) Get(bucket string, key []byte) ([]byte, error) {
	t.s.read(bucket)
	return t.Tx.Get(bucket, key)
}

func (t watchedTx) ForEach(bucket string, prefix []byte, fn func(k, v []byte) error) error {
	t.s.read(bucket)
	return t.Tx.ForEach(bucket, prefix, fn)
}

func (t watchedTx) Put(bucket string, key, value []byte) error {
	t.s.writes.Add(1)
	return t.Tx.Put(bucket, key, value)
}

func (t watchedTx) Delete(bucket string, key []byte) error {
	t.s.writes.Add(1)
	return t.Tx.Delete(bucket, key)
}

// dump returns the contents of every bucket the store has seen read.
func (s *watchedStore) dump(t *testing.T) map[string]string {
	s.mu.Lock()
	buckets := slices.Clone(s.buckets)
	s.mu.Unlock()
	out := map[string]string{}
	require.NoError(t, s.Store.View(context.Background(), func(tx store.Tx) error {
		for _, b := range buckets {
			if err := tx.ForEach(b, nil, func(k, v []byte) error {
				out[b+"/"+string(k)] = string(v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}))
	return out
}

// TestRecheckNeverWrites: Recheck, of a recorded activity, of one never
// submitted and of one it holds for approval, opens no write transaction
// and leaves every bucket it reads as it was.
func TestRecheckNeverWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &watchedStore{Store: newTestStore(t)}
	e := newEnvOn(t, st, newClock())
	e.create(t, approvalPolicy("hold above 10 ETH a day",
		policy.TransactionAmountVelocity{Limit: "500", Currency: "USD", Timeframe: 24 * time.Hour}, group("ops", 1, "bob")))
	act := withID(transfer(4), "tx-4")
	e.submitAll(t, withID(transfer(5), "earlier"), act)

	updates, writes := st.updates.Load(), st.writes.Load()
	recheck := func() {
		for _, a := range []policy.Activity{act, withID(transfer(4), "never"), withID(transfer(9), "tx-4")} {
			_, err := e.Recheck(ctx, a)
			require.NoError(t, err)
		}
	}
	recheck() // learns the buckets
	before := st.dump(t)
	require.NotEmpty(t, before)
	recheck()
	assert.Equal(t, before, st.dump(t))
	assert.Equal(t, updates, st.updates.Load(), "write transactions")
	assert.Equal(t, writes, st.writes.Load(), "writes")
}

// TestConcurrentRecheck: submissions race on one wallet under a count
// limit, each rechecked at once by a second engine on the same store, as a
// signer's gate would; every allowed one passes its recheck, and the
// blocked ones, never recorded, fail theirs.
func TestConcurrentRecheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newTestStore(t)
	clock := newClock()
	coordinator, gate := newEnvOn(t, st, clock), newEnvOn(t, st, clock)
	coordinator.create(t, blockPolicy("burst", policy.TransactionCountVelocity{Limit: 5, Timeframe: time.Hour}))

	const n = 16
	submitted := make([]policy.Outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := withID(transfer(1), fmt.Sprint("tx-", i))
			d, err := coordinator.Submit(ctx, a)
			if !assert.NoError(t, err) {
				return
			}
			submitted[i] = d.Outcome
			if d.Outcome != policy.OutcomeAllow {
				return
			}
			// The history never holds more than 5 entries, this one among
			// them: its recheck sees at most 5.
			r, err := gate.Recheck(ctx, a)
			if assert.NoError(t, err) {
				assert.Equal(t, policy.OutcomeAllow, r.Outcome, r.Evaluations)
			}
		})
	}
	wg.Wait()
	allowed := 0
	for i, o := range submitted {
		if o == policy.OutcomeAllow {
			allowed++
			continue
		}
		require.Equal(t, policy.OutcomeBlock, o)
		d, err := gate.Recheck(ctx, withID(transfer(1), fmt.Sprint("tx-", i)))
		require.NoError(t, err)
		assert.Equal(t, policy.OutcomeBlock, d.Outcome)
	}
	assert.Equal(t, 5, allowed)
}
