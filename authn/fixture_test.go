package authn_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
)

const (
	rpID     = "cairn.example"
	rpOrigin = "https://app.cairn.example"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a Service with a test clock over a store: the in-memory one
// (then store is set, for "nothing changed" checks) or store/bolt.
type fixture struct {
	svc   *authn.Service
	store *memStore
	clock *clock
	ctx   context.Context
}

// newFixture returns a fixture over a fresh in-memory store.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	st := newMemStore()
	f := newFixtureOn(t, st)
	f.store = st
	return f
}

// newBoltFixture returns a fixture over a fresh store/bolt file, and the
// file's path.
func newBoltFixture(t testing.TB) (*fixture, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authn.db")
	st, err := bolt.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return newFixtureOn(t, st), path
}

func newFixtureOn(t testing.TB, st store.Store) *fixture {
	t.Helper()
	clk := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	svc, err := authn.New(authn.Config{
		Store:     st,
		RPID:      rpID,
		RPOrigins: []string{rpOrigin},
		Clock:     clk.Now,
	})
	require.NoError(t, err)
	return &fixture{svc: svc, clock: clk, ctx: context.Background()}
}

// user creates an employee.
func (f *fixture) user(t testing.TB, name string) *authn.Identity {
	t.Helper()
	u, err := f.svc.CreateUser(f.ctx, authn.Employee, name)
	require.NoError(t, err)
	return u
}

// passkey registers a virtual passkey for id.
func (f *fixture) passkey(t testing.TB, id string) (*authntest.Passkey, *authn.Credential) {
	t.Helper()
	p, c, err := authntest.RegisterPasskey(f.ctx, f.svc, id, rpID, rpOrigin)
	require.NoError(t, err)
	return p, c
}

// key registers a key credential of kind for id.
func (f *fixture) key(t testing.TB, id string, alg authn.Algorithm, kind authn.CredentialKind) (*authntest.KeySigner, *authn.Credential) {
	t.Helper()
	k, c, err := authntest.RegisterKey(f.ctx, f.svc, id, alg, kind)
	require.NoError(t, err)
	return k, c
}

// requireSpentOnce presents tok, with the request it was signed for, from
// n goroutines at once: exactly one use succeeds, the others are replays.
func requireSpentOnce(t *testing.T, f *fixture, tok authn.Token, n int) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, err, authn.ErrActionReplayed)
	}
	assert.Equal(t, 1, ok)
}

// keyAlgorithms are the key-credential algorithms.
var keyAlgorithms = []authn.Algorithm{authn.Ed25519, authn.ECDSAP256, authn.ECDSASecp256k1}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
