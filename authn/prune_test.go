package authn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
)

func TestPruneDeletesOnlyWhatExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	k, _ := f.key(t, alice.ID, authn.Ed25519, authn.Key)

	// Expiring: a challenge, a session, a consumed and an unused action token.
	_, err := f.svc.BeginLogin(f.ctx, alice.ID)
	require.NoError(t, err)
	_, _, err = authntest.Login(f.ctx, f.svc, k, alice.ID)
	require.NoError(t, err)
	used, _, err := authntest.SignAction(f.ctx, f.svc, k, alice.ID, opSign, resource, payload)
	require.NoError(t, err)
	_, err = f.svc.VerifyAction(f.ctx, used, opSign, resource, payload)
	require.NoError(t, err)
	_, _, err = authntest.SignAction(f.ctx, f.svc, k, alice.ID, opSign, resource, payload)
	require.NoError(t, err)

	n, err := f.svc.Prune(f.ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing has expired yet")

	f.clock.Advance(authn.DefaultSessionTTL)
	_, live, err := authntest.Login(f.ctx, f.svc, k, alice.ID)
	require.NoError(t, err)

	n, err = f.svc.Prune(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, 4, n, "one challenge, one session, two action tokens")
	assert.Zero(t, f.store.count("authn.challenges"))
	assert.Zero(t, f.store.count("authn.actions"))
	assert.Zero(t, f.store.count("authn.owner-actions"))
	assert.Equal(t, 1, f.store.count("authn.sessions"))
	assert.Equal(t, 1, f.store.count("authn.owner-sessions"))
	_, err = f.svc.VerifySession(f.ctx, live)
	require.NoError(t, err)
}
