package authn_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
	"github.com/cairn-mpc/cairn/store/bolt"
)

// TestOverBolt runs the whole life of a user over store/bolt, the store
// integrators use, across a restart: every credential kind logs in and
// signs, tokens survive the restart, a replay is still refused after it,
// and a recovery then ends everything old.
func TestOverBolt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "authn.db")
	db, err := bolt.Open(path, nil)
	require.NoError(t, err)
	f := newFixtureOn(t, db)
	alice := f.user(t, "alice")
	var signers []authntest.Signer
	for _, k := range signerKinds {
		s, _ := k.register(t, f, alice.ID)
		signers = append(signers, s)
	}
	rk, _ := f.key(t, alice.ID, authn.Ed25519, authn.RecoveryKey)

	var sessions, used, unused []authn.Token
	for _, s := range signers {
		_, tok, err := authntest.Login(f.ctx, f.svc, s, alice.ID)
		require.NoError(t, err)
		sessions = append(sessions, tok)
		tok, _, err = authntest.SignAction(f.ctx, f.svc, s, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		_, err = f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		require.NoError(t, err)
		used = append(used, tok)
		tok, _, err = authntest.SignAction(f.ctx, f.svc, s, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		unused = append(unused, tok)
	}

	// Restart: a new store handle and a new Service over the same file.
	require.NoError(t, db.Close())
	db, err = bolt.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	f2 := newFixtureOn(t, db)
	f2.clock.now = f.clock.Now()

	for i := range signers {
		_, err := f2.svc.VerifySession(f2.ctx, sessions[i])
		require.NoError(t, err)
		_, err = f2.svc.VerifyAction(f2.ctx, used[i], opSign, resource, payload)
		require.ErrorIs(t, err, authn.ErrActionReplayed)
	}
	_, err = f2.svc.VerifyAction(f2.ctx, unused[0], opSign, resource, payload)
	require.NoError(t, err)

	ch, err := f2.svc.BeginRecovery(f2.ctx, alice.ID)
	require.NoError(t, err)
	set, p, _, _ := newSet(t, ch)
	req, err := rk.SignRecovery(ch.Challenge, set)
	require.NoError(t, err)
	_, err = f2.svc.CompleteRecovery(f2.ctx, ch.ID, req)
	require.NoError(t, err)
	for i := range signers {
		_, err := f2.svc.VerifySession(f2.ctx, sessions[i])
		require.ErrorIs(t, err, authn.ErrInvalidToken)
		_, err = f2.svc.VerifyAction(f2.ctx, unused[i], opSign, resource, payload)
		require.ErrorIs(t, err, authn.ErrInvalidToken)
	}
	_, _, err = authntest.Login(f2.ctx, f2.svc, p, alice.ID)
	require.NoError(t, err)
}

func TestVerifyActionConcurrentUseOverBolt(t *testing.T) {
	t.Parallel()
	f, _ := newBoltFixture(t)
	alice := f.user(t, "alice")
	k, _ := f.key(t, alice.ID, authn.ECDSASecp256k1, authn.Key)
	tok, _, err := authntest.SignAction(f.ctx, f.svc, k, alice.ID, opSign, resource, payload)
	require.NoError(t, err)
	requireSpentOnce(t, f, tok, 8)
}
