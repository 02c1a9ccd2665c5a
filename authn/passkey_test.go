package authn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
)

func TestPasskeyRegistrationAndLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")

	p, cred := f.passkey(t, alice.ID)
	assert.Equal(t, authn.Passkey, cred.Kind)
	assert.Equal(t, alice.ID, cred.Owner)
	assert.Equal(t, authn.WebAuthn, cred.PublicKey.Algorithm)
	assert.Equal(t, p.ID(), []byte(cred.ID))

	sess, tok, err := authntest.Login(f.ctx, f.svc, p, alice.ID)
	require.NoError(t, err)
	assert.Equal(t, alice.ID, sess.Principal)
	assert.Equal(t, []byte(cred.ID), []byte(sess.CredentialID))
	assert.False(t, sess.Scoped)
	assert.Equal(t, f.clock.Now().Add(authn.DefaultSessionTTL), sess.ExpiresAt)

	got, err := f.svc.VerifySession(f.ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, sess.ID, got.ID)
	assert.Equal(t, alice.ID, got.Principal)
}

func TestPasskeyDiscoverableLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	bob := f.user(t, "bob")
	pa, _ := f.passkey(t, alice.ID)
	pb, _ := f.passkey(t, bob.ID)

	for _, c := range []struct {
		p    *authntest.Passkey
		want string
	}{{pa, alice.ID}, {pb, bob.ID}} {
		ch, err := f.svc.BeginDiscoverableLogin(f.ctx)
		require.NoError(t, err)
		assert.Empty(t, ch.AllowCredentials)
		a, err := c.p.Assert(ch.Options)
		require.NoError(t, err)
		sess, _, err := f.svc.FinishLogin(f.ctx, ch.ID, a)
		require.NoError(t, err)
		assert.Equal(t, c.want, sess.Principal)
	}
}

func TestPasskeyRegistrationExcludesRegistered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	_, _ = f.passkey(t, alice.ID)
	ch, err := f.svc.BeginPasskeyRegistration(f.ctx, alice.ID)
	require.NoError(t, err)
	// A second passkey registers alongside the first.
	p2 := authntest.NewPasskey(rpID, rpOrigin)
	resp, err := p2.Register(ch.Options)
	require.NoError(t, err)
	_, err = f.svc.FinishPasskeyRegistration(f.ctx, ch.ID, resp, "second")
	require.NoError(t, err)
	creds, err := f.svc.Credentials(f.ctx, alice.ID)
	require.NoError(t, err)
	assert.Len(t, creds, 2)
}

func TestPasskeyRegistrationRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name         string
		rpID, origin string
		want         error
	}{
		{"wrong origin", rpID, "https://evil.example", authn.ErrOrigin},
		{"wrong RP ID", "evil.example", rpOrigin, authn.ErrRPID},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			alice := f.user(t, "alice")
			ch, err := f.svc.BeginPasskeyRegistration(f.ctx, alice.ID)
			require.NoError(t, err)
			p := authntest.NewPasskey(c.rpID, c.origin)
			resp, err := p.Register(ch.Options)
			require.NoError(t, err)
			_, err = f.svc.FinishPasskeyRegistration(f.ctx, ch.ID, resp, "p")
			require.ErrorIs(t, err, c.want)
			assert.Zero(t, f.store.count("authn.credentials"))
		})
	}
}

func TestPasskeyLoginRefusals(t *testing.T) {
	t.Parallel()
	t.Run("wrong origin", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		alice := f.user(t, "alice")
		p, _ := f.passkey(t, alice.ID)
		p.SetRelyingParty(rpID, "https://evil.example")
		_, _, err := authntest.Login(f.ctx, f.svc, p, alice.ID)
		require.ErrorIs(t, err, authn.ErrOrigin)
	})
	t.Run("wrong RP ID", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		alice := f.user(t, "alice")
		p, _ := f.passkey(t, alice.ID)
		p.SetRelyingParty("evil.example", rpOrigin)
		_, _, err := authntest.Login(f.ctx, f.svc, p, alice.ID)
		require.ErrorIs(t, err, authn.ErrRPID)
	})
	t.Run("no user verification", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		alice := f.user(t, "alice")
		p, _ := f.passkey(t, alice.ID)
		p.SetUserVerification(false)
		_, _, err := authntest.Login(f.ctx, f.svc, p, alice.ID)
		require.ErrorIs(t, err, authn.ErrInvalidAssertion)
	})
	t.Run("counter regression", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		alice := f.user(t, "alice")
		p, cred := f.passkey(t, alice.ID)
		p.SetCounting(true)
		_, _, err := authntest.Login(f.ctx, f.svc, p, alice.ID)
		require.NoError(t, err)
		_, _, err = authntest.Login(f.ctx, f.svc, p, alice.ID)
		require.NoError(t, err)
		stored, err := f.svc.Credential(f.ctx, cred.ID)
		require.NoError(t, err)
		assert.Equal(t, uint32(2), stored.SignCount)

		p.SetCounter(0) // a clone that has signed less: next assertion reports 1
		_, _, err = authntest.Login(f.ctx, f.svc, p, alice.ID)
		require.ErrorIs(t, err, authn.ErrCounterRegression)
		stored, err = f.svc.Credential(f.ctx, cred.ID)
		require.NoError(t, err)
		assert.Equal(t, uint32(2), stored.SignCount, "a refused assertion must not move the counter")
	})
	t.Run("non-counting authenticator", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		alice := f.user(t, "alice")
		p, _ := f.passkey(t, alice.ID)
		for range 3 {
			_, _, err := authntest.Login(f.ctx, f.svc, p, alice.ID)
			require.NoError(t, err)
		}
	})
	t.Run("another user's passkey", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		alice := f.user(t, "alice")
		bob := f.user(t, "bob")
		_, _ = f.passkey(t, alice.ID)
		pb, _ := f.passkey(t, bob.ID)
		ch, err := f.svc.BeginLogin(f.ctx, alice.ID)
		require.NoError(t, err)
		_, _, err = f.svc.FinishLogin(f.ctx, ch.ID, pb.AssertChallenge(ch.Challenge))
		require.ErrorIs(t, err, authn.ErrCredentialNotOwned)
	})
	t.Run("service account cannot hold a passkey", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		sa, err := f.svc.CreateServiceAccount(f.ctx, "bot", nil)
		require.NoError(t, err)
		_, err = f.svc.BeginPasskeyRegistration(f.ctx, sa.ID)
		require.ErrorIs(t, err, authn.ErrWrongCredentialKind)
	})
}

// A user with several passkeys logs in with each; the counter of one is
// stored on that one alone.
func TestPasskeyLoginWithEachOfSeveral(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	p1, c1 := f.passkey(t, alice.ID)
	p2, c2 := f.passkey(t, alice.ID)
	p2.SetCounting(true)
	for _, p := range []*authntest.Passkey{p1, p2, p2} {
		sess, _, err := authntest.Login(f.ctx, f.svc, p, alice.ID)
		require.NoError(t, err)
		assert.Equal(t, alice.ID, sess.Principal)
	}
	s1, err := f.svc.Credential(f.ctx, c1.ID)
	require.NoError(t, err)
	s2, err := f.svc.Credential(f.ctx, c2.ID)
	require.NoError(t, err)
	assert.Zero(t, s1.SignCount)
	assert.Equal(t, uint32(2), s2.SignCount)
}
