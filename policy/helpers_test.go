package policy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
)

// t0 is the fake clock's start: a Monday 10:30 UTC, away from hour and day
// boundaries so windows in tests do not depend on them by accident.
var t0 = time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)

// fakeClock is the injected clock; nothing in these tests sleeps.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeVerifier stands in for authn: evidence is "sig:" + identity + ":" +
// hex(SHA-256 of the action), which only sign produces. It checks what a
// real verifier checks: the identity and the exact action.
type fakeVerifier struct{}

var errBadSignature = errors.New("bad signature")

func actionDigest(identity string, a policy.UserAction) string {
	h := sha256.New()
	h.Write([]byte(identity + "\x00" + a.Operation + "\x00" + a.Resource + "\x00"))
	h.Write(a.PayloadHash[:])
	return hex.EncodeToString(h.Sum(nil))
}

func sign(identity string, a policy.UserAction) []byte {
	return []byte("sig:" + identity + ":" + actionDigest(identity, a))
}

func (fakeVerifier) VerifyAction(_ context.Context, identity string, a policy.UserAction, evidence []byte) error {
	if string(evidence) != string(sign(identity, a)) {
		return errBadSignature
	}
	return nil
}

// testPrices: ETH at 50 USD (18 decimals), BTC at 1000 USD (8 decimals).
// Small round prices keep the expected values in tests obvious.
func testPrices(t testing.TB) policy.PriceSource {
	p, err := policy.NewStaticPrices(
		policy.StaticPrice{Asset: "ETH", Currency: "USD", PerUnit: "50", Decimals: 18},
		policy.StaticPrice{Asset: "BTC", Currency: "USD", PerUnit: "1000", Decimals: 8},
	)
	require.NoError(t, err)
	return p
}

// env is an engine under test with its clock and store.
type env struct {
	*policy.Engine
	clock *fakeClock
	store store.Store
}

type envOption func(*policy.Config)

func withoutPrices() envOption   { return func(c *policy.Config) { c.Prices = nil } }
func withoutVerifier() envOption { return func(c *policy.Config) { c.Verifier = nil } }

func newEnvOn(t testing.TB, st store.Store, clock *fakeClock, opts ...envOption) *env {
	cfg := policy.Config{Store: st, Prices: testPrices(t), Verifier: fakeVerifier{}, Now: clock.Now}
	for _, o := range opts {
		o(&cfg)
	}
	e, err := policy.NewEngine(cfg)
	require.NoError(t, err)
	return &env{Engine: e, clock: clock, store: st}
}

// newTestStore returns a fresh, empty bbolt store for one test, closed
// when it ends.
func newTestStore(t testing.TB) store.Store {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "policy.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// newTestEnv returns an engine on a fresh store.
func newTestEnv(t testing.TB, opts ...envOption) *env {
	return newEnvOn(t, newTestStore(t), newClock(), opts...)
}

// create creates a policy, which must apply at once.
func (e *env) create(t testing.TB, p policy.Policy) policy.Policy {
	t.Helper()
	c, err := e.CreatePolicy(context.Background(), "admin", p)
	require.NoError(t, err)
	require.Equal(t, policy.ChangeApplied, c.Status)
	return *c.Policy
}

// decide signs and submits a decision.
func (e *env) decide(approvalID, user string, vote policy.Vote) (policy.Approval, error) {
	reason := "because " + user + " says so"
	return e.Decide(context.Background(), policy.DecideRequest{
		ApprovalID: approvalID, User: user, Vote: vote, Reason: reason,
		Evidence: sign(user, policy.DecisionAction(approvalID, vote, reason)),
	})
}

// eth returns n whole ETH in wei.
func eth(n int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(n), new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))
}

// transfer is a Wallets:Sign transfer of n ETH from wallet w1 (tags hot, eu)
// to 0xaaa by alice.
func transfer(n int64) policy.Activity {
	return policy.Activity{
		ID: "tx", Kind: policy.WalletsSign, Initiator: "alice",
		WalletID: "w1", WalletTags: []string{"hot", "eu"}, Network: "Ethereum",
		Asset: "ETH", Amount: eth(n), Recipient: "0xaaa", Payload: policy.PayloadTransfer,
	}
}

func blockPolicy(name string, r policy.Rule) policy.Policy {
	return policy.Policy{Name: name, ActivityKind: policy.WalletsSign, Rule: r, Action: policy.Block{}}
}

func approvalPolicy(name string, r policy.Rule, groups ...policy.ApprovalGroup) policy.Policy {
	return policy.Policy{Name: name, ActivityKind: policy.WalletsSign, Rule: r,
		Action: policy.RequestApproval{Groups: groups}}
}
