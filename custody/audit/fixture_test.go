package audit_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
	"github.com/cairn-mpc/cairn/custody/audit"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
)

const (
	rpID     = "cairn.example"
	rpOrigin = "https://app.cairn.example"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// clock is a test clock that moves on by a millisecond and a nanosecond at
// every reading, so entry times differ and have nanoseconds.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond + time.Nanosecond)
	return c.now
}

// openBolt opens a fresh store/bolt file, closed at cleanup.
func openBolt(t testing.TB) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "custody.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newLog returns a log over a fresh bolt store, with a test clock.
func newLog(t testing.TB) (*audit.Log, *bolt.DB) {
	t.Helper()
	db := openBolt(t)
	l, err := audit.New(audit.Config{Store: db, Clock: (&clock{now: t0}).Now})
	require.NoError(t, err)
	return l, db
}

// user is an identity with a credential that signs actions.
type user struct {
	id     string
	signer authntest.Signer
	cred   *authn.Credential
}

// world is an authn.Service and an audit log over one bolt store, as
// custody wires them, with three users: alice signs with a virtual
// passkey, bob with an Ed25519 key credential, carol with a P-256 one.
type world struct {
	ctx               context.Context
	db                store.Store
	authn             *authn.Service
	log               *audit.Log
	alice, bob, carol *user
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	db := openBolt(t)
	svc, err := authn.New(authn.Config{Store: db, RPID: rpID, RPOrigins: []string{rpOrigin}, Clock: func() time.Time { return t0 }})
	require.NoError(t, err)
	l, err := audit.New(audit.Config{Store: db, Clock: (&clock{now: t0}).Now})
	require.NoError(t, err)
	w := &world{ctx: ctx, db: db, authn: svc, log: l}
	mk := func(name string, register func(id string) (authntest.Signer, *authn.Credential, error)) *user {
		ident, err := svc.CreateUser(ctx, authn.Employee, name)
		require.NoError(t, err)
		s, c, err := register(ident.ID)
		require.NoError(t, err)
		return &user{id: ident.ID, signer: s, cred: c}
	}
	w.alice = mk("alice", func(id string) (authntest.Signer, *authn.Credential, error) {
		return authntest.RegisterPasskey(ctx, svc, id, rpID, rpOrigin)
	})
	w.bob = mk("bob", func(id string) (authntest.Signer, *authn.Credential, error) {
		return authntest.RegisterKey(ctx, svc, id, authn.Ed25519, authn.Key)
	})
	w.carol = mk("carol", func(id string) (authntest.Signer, *authn.Credential, error) {
		return authntest.RegisterKey(ctx, svc, id, authn.ECDSAP256, authn.Key)
	})
	return w
}

// evidence has u sign an action and returns the evidence VerifyAction
// gives for it, encoded as the log keeps it.
func (w *world) evidence(t testing.TB, u *user, op, resource string, payload []byte) []byte {
	t.Helper()
	tok, _, err := authntest.SignAction(w.ctx, w.authn, u.signer, u.id, op, resource, payload)
	require.NoError(t, err)
	ev, err := w.authn.VerifyAction(w.ctx, tok, op, resource, payload)
	require.NoError(t, err)
	b, err := ev.MarshalBinary()
	require.NoError(t, err)
	return b
}

// keys is the resolver custody uses: the credential's key as the
// authn.Service holds it.
func (w *world) keys(ctx context.Context, id []byte) (authn.PublicKey, error) {
	c, err := w.authn.Credential(ctx, id)
	if err != nil {
		return authn.PublicKey{}, err
	}
	return c.PublicKey, nil
}

// fill appends the records of a short request path, with evidence from
// each user, and returns what Append returned.
func (w *world) fill(t testing.TB) []audit.Entry {
	t.Helper()
	body := []byte(`{"amount":"1.5","asset":"ETH","to":"0x00000000000000000000000000000000000000aa"}`)
	records := []audit.Record{
		{Kind: "wallet.created", Actor: w.alice.id, Subject: "w-1", Details: []byte(`{"network":"Ethereum"}`),
			Evidence: [][]byte{w.evidence(t, w.alice, "Wallets:Create", "wallets", []byte(`{"network":"Ethereum"}`))}},
		{Kind: "request.received", Actor: w.bob.id, Subject: "r-1", Details: body,
			Evidence: [][]byte{w.evidence(t, w.bob, "Wallets:Transfer", "wallets/w-1", body)}},
		{Kind: "policy.evaluated", Actor: "system", Subject: "r-1", Details: []byte(`{"outcome":"RequireApproval"}`)},
		{Kind: "approval.decided", Actor: w.carol.id, Subject: "r-1", Details: []byte(`{"decision":"approve"}`),
			Evidence: [][]byte{w.evidence(t, w.carol, "Requests:Approve", "requests/r-1", []byte(`{"decision":"approve"}`))}},
		{Kind: "request.signed", Actor: "system", Subject: "r-1",
			Evidence: [][]byte{
				w.evidence(t, w.bob, "Wallets:Transfer", "wallets/w-1", body),
				w.evidence(t, w.alice, "Requests:Approve", "requests/r-1", []byte(`{"decision":"approve"}`)),
			}},
		{Kind: "request.confirmed", Actor: "system", Subject: "r-1"},
	}
	out := make([]audit.Entry, 0, len(records))
	for _, r := range records {
		e, err := w.log.AppendNow(w.ctx, r)
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}
