package authn_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
)

func TestKeyCredentialLogin(t *testing.T) {
	t.Parallel()
	for _, alg := range keyAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			alice := f.user(t, "alice")
			k, cred := f.key(t, alice.ID, alg, authn.Key)
			assert.Equal(t, k.PublicKey(), cred.PublicKey)
			assert.Equal(t, k.CredentialID(), []byte(cred.ID))

			sess, tok, err := authntest.Login(f.ctx, f.svc, k, alice.ID)
			require.NoError(t, err)
			assert.Equal(t, alice.ID, sess.Principal)

			// A key credential also answers a discoverable login.
			ch, err := f.svc.BeginDiscoverableLogin(f.ctx)
			require.NoError(t, err)
			sess2, _, err := f.svc.FinishLogin(f.ctx, ch.ID, k.Assert(ch.Challenge))
			require.NoError(t, err)
			assert.Equal(t, alice.ID, sess2.Principal)

			got, err := f.svc.VerifySession(f.ctx, tok)
			require.NoError(t, err)
			assert.Equal(t, sess.ID, got.ID)
		})
	}
}

func TestKeyRegistrationRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	bob := f.user(t, "bob")
	k, _ := f.key(t, alice.ID, authn.Ed25519, authn.Key)

	// The same key cannot be registered twice, by anyone.
	ch, err := f.svc.BeginKeyRegistration(f.ctx, bob.ID, authn.Key)
	require.NoError(t, err)
	_, err = f.svc.FinishKeyRegistration(f.ctx, ch.ID, k.Attest(ch.Challenge), "stolen")
	require.ErrorIs(t, err, authn.ErrCredentialExists)

	// An attestation over another challenge.
	k2 := authntest.MustKeySigner(authn.ECDSASecp256k1)
	_, err = f.svc.FinishKeyRegistration(f.ctx, ch.ID, k2.Attest(make([]byte, 32)), "k2")
	require.ErrorIs(t, err, authn.ErrChallengeMismatch)

	// A signature by another key than the one attested.
	att := authn.KeyAttestation{
		Algorithm: authn.ECDSASecp256k1, PublicKey: k2.PublicKey().Key,
		ClientData: authn.KeyClientData(authn.KeyCreate, ch.Challenge),
	}
	att.Signature = authntest.MustKeySigner(authn.ECDSASecp256k1).Sign(att.ClientData)
	_, err = f.svc.FinishKeyRegistration(f.ctx, ch.ID, mustJSON(t, att), "k2")
	require.ErrorIs(t, err, authn.ErrInvalidAttestation)
	require.ErrorIs(t, err, authn.ErrBadSignature)

	// A login-type signature is not an attestation.
	att.ClientData = authn.KeyClientData(authn.KeyGet, ch.Challenge)
	att.Signature = k2.Sign(att.ClientData)
	_, err = f.svc.FinishKeyRegistration(f.ctx, ch.ID, mustJSON(t, att), "k2")
	require.ErrorIs(t, err, authn.ErrChallengeMismatch)

	// After the refusals the challenge still works.
	_, err = f.svc.FinishKeyRegistration(f.ctx, ch.ID, k2.Attest(ch.Challenge), "k2")
	require.NoError(t, err)

	// Expired.
	ch, err = f.svc.BeginKeyRegistration(f.ctx, bob.ID, authn.Key)
	require.NoError(t, err)
	f.clock.Advance(authn.DefaultCeremonyTTL)
	_, err = f.svc.FinishKeyRegistration(f.ctx, ch.ID, authntest.MustKeySigner(authn.Ed25519).Attest(ch.Challenge), "late")
	require.ErrorIs(t, err, authn.ErrChallengeExpired)

	_, err = f.svc.BeginKeyRegistration(f.ctx, bob.ID, authn.Passkey)
	require.ErrorIs(t, err, authn.ErrInvalidArgument)
}

func TestCompressedKeysAreNormalized(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	k := authntest.MustKeySigner(authn.ECDSAP256)
	uncompressed := k.PublicKey().Key
	compressed := append([]byte{2 + uncompressed[64]&1}, uncompressed[1:33]...)
	ch, err := f.svc.BeginKeyRegistration(f.ctx, alice.ID, authn.Key)
	require.NoError(t, err)
	att := authn.KeyAttestation{Algorithm: authn.ECDSAP256, PublicKey: compressed, ClientData: authn.KeyClientData(authn.KeyCreate, ch.Challenge)}
	att.Signature = k.Sign(att.ClientData)
	cred, err := f.svc.FinishKeyRegistration(f.ctx, ch.ID, mustJSON(t, att), "compressed")
	require.NoError(t, err)
	assert.Equal(t, []byte(uncompressed), []byte(cred.PublicKey.Key))
	assert.Equal(t, k.CredentialID(), []byte(cred.ID))
	id, err := authn.KeyCredentialID(authn.ECDSAP256, compressed)
	require.NoError(t, err)
	assert.Equal(t, []byte(cred.ID), id)
}

func TestSessionExpiryAndRevocation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	k, cred := f.key(t, alice.ID, authn.Ed25519, authn.Key)
	k2, _ := f.key(t, alice.ID, authn.ECDSAP256, authn.Key)

	_, tok, err := authntest.Login(f.ctx, f.svc, k, alice.ID)
	require.NoError(t, err)
	f.clock.Advance(authn.DefaultSessionTTL - time.Nanosecond)
	_, err = f.svc.VerifySession(f.ctx, tok)
	require.NoError(t, err)
	f.clock.Advance(time.Nanosecond)
	_, err = f.svc.VerifySession(f.ctx, tok)
	require.ErrorIs(t, err, authn.ErrTokenExpired)

	s1, tok1, err := authntest.Login(f.ctx, f.svc, k, alice.ID)
	require.NoError(t, err)
	_, tok2, err := authntest.Login(f.ctx, f.svc, k, alice.ID)
	require.NoError(t, err)
	_, tok3, err := authntest.Login(f.ctx, f.svc, k2, alice.ID)
	require.NoError(t, err)

	require.NoError(t, f.svc.RevokeSession(f.ctx, s1.ID))
	require.NoError(t, f.svc.RevokeSession(f.ctx, s1.ID), "revoking twice is fine")
	_, err = f.svc.VerifySession(f.ctx, tok1)
	require.ErrorIs(t, err, authn.ErrInvalidToken)
	_, err = f.svc.VerifySession(f.ctx, tok2)
	require.NoError(t, err)

	// Revoking a credential ends the sessions it opened, only those.
	require.NoError(t, f.svc.RevokeCredential(f.ctx, cred.ID))
	_, err = f.svc.VerifySession(f.ctx, tok2)
	require.ErrorIs(t, err, authn.ErrInvalidToken)
	_, err = f.svc.VerifySession(f.ctx, tok3)
	require.NoError(t, err)
	_, _, err = authntest.Login(f.ctx, f.svc, k, alice.ID)
	require.ErrorIs(t, err, authn.ErrCredentialRevoked)

	require.NoError(t, f.svc.RevokeTokens(f.ctx, alice.ID))
	_, err = f.svc.VerifySession(f.ctx, tok3)
	require.ErrorIs(t, err, authn.ErrInvalidToken)
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	bob := f.user(t, "bob")
	_, err := f.svc.BeginLogin(f.ctx, alice.ID)
	require.ErrorIs(t, err, authn.ErrNoCredential)

	ka, _ := f.key(t, alice.ID, authn.Ed25519, authn.Key)
	kb, _ := f.key(t, bob.ID, authn.Ed25519, authn.Key)
	rk, _ := f.key(t, alice.ID, authn.Ed25519, authn.RecoveryKey)

	ch, err := f.svc.BeginLogin(f.ctx, alice.ID)
	require.NoError(t, err)
	_, _, err = f.svc.FinishLogin(f.ctx, ch.ID, kb.Assert(ch.Challenge))
	require.ErrorIs(t, err, authn.ErrCredentialNotOwned)
	_, _, err = f.svc.FinishLogin(f.ctx, ch.ID, rk.Assert(ch.Challenge))
	require.ErrorIs(t, err, authn.ErrWrongCredentialKind)
	f.clock.Advance(authn.DefaultCeremonyTTL)
	_, _, err = f.svc.FinishLogin(f.ctx, ch.ID, ka.Assert(ch.Challenge))
	require.ErrorIs(t, err, authn.ErrChallengeExpired)
}

func TestServiceAccountTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	perms := []string{"Wallets:Read", "Wallets:Create", "Wallets:Transfers:Create"}
	sa, err := f.svc.CreateServiceAccount(f.ctx, "payouts", perms)
	require.NoError(t, err)
	assert.Equal(t, authn.ServiceAccount, sa.Kind)
	assert.Equal(t, []string{"Wallets:Create", "Wallets:Read", "Wallets:Transfers:Create"}, sa.Permissions)

	_, err = f.svc.BeginKeyRegistration(f.ctx, sa.ID, authn.RecoveryKey)
	require.ErrorIs(t, err, authn.ErrWrongCredentialKind)
	k, _ := f.key(t, sa.ID, authn.ECDSASecp256k1, authn.Key)

	// Login: the token carries the account's permissions.
	sess, tok, err := authntest.Login(f.ctx, f.svc, k, sa.ID)
	require.NoError(t, err)
	assert.True(t, sess.Scoped)
	assert.Equal(t, sa.Permissions, sess.Permissions)
	assert.Equal(t, f.clock.Now().Add(authn.DefaultServiceSessionTTL), sess.ExpiresAt)

	// Issued: a subset, never more.
	narrow, ntok, err := f.svc.IssueServiceToken(f.ctx, sa.ID, []string{"Wallets:Read"}, 10*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, []string{"Wallets:Read"}, narrow.Permissions)
	assert.Equal(t, f.clock.Now().Add(10*time.Minute), narrow.ExpiresAt)
	_, _, err = f.svc.IssueServiceToken(f.ctx, sa.ID, []string{"Wallets:Read", "Keys:Export"}, 0)
	require.ErrorIs(t, err, authn.ErrPermissionExceeded)
	long, _, err := f.svc.IssueServiceToken(f.ctx, sa.ID, nil, 100*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, f.clock.Now().Add(authn.DefaultServiceSessionTTL), long.ExpiresAt, "ttl is capped")

	// Narrowing the account narrows its live tokens.
	require.NoError(t, f.svc.SetServiceAccountPermissions(f.ctx, sa.ID, []string{"Wallets:Create"}))
	got, err := f.svc.VerifySession(f.ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, []string{"Wallets:Create"}, got.Permissions)
	got, err = f.svc.VerifySession(f.ctx, ntok)
	require.NoError(t, err)
	assert.Empty(t, got.Permissions)

	// A service account signs actions with its key.
	atok, _, err := authntest.SignAction(f.ctx, f.svc, k, sa.ID, "Wallets:Create", "wallets", []byte(`{}`))
	require.NoError(t, err)
	_, err = f.svc.VerifyAction(f.ctx, atok, "Wallets:Create", "wallets", []byte(`{}`))
	require.NoError(t, err)

	alice := f.user(t, "alice")
	_, _, err = f.svc.IssueServiceToken(f.ctx, alice.ID, nil, 0)
	require.ErrorIs(t, err, authn.ErrInvalidArgument)
	require.ErrorIs(t, f.svc.SetServiceAccountPermissions(f.ctx, alice.ID, nil), authn.ErrInvalidArgument)
}

func TestTokensAreNeverPrintedNorStored(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	st := newMemStore()
	svc, err := authn.New(authn.Config{
		Store: st, RPID: rpID, RPOrigins: []string{rpOrigin},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	f := &fixture{svc: svc, store: st, ctx: t.Context()}
	alice := f.user(t, "alice")
	p, _ := f.passkey(t, alice.ID)
	_, stok, err := authntest.Login(f.ctx, svc, p, alice.ID)
	require.NoError(t, err)
	atok, _, err := authntest.SignAction(f.ctx, svc, p, alice.ID, opSign, resource, payload)
	require.NoError(t, err)
	_, err = svc.VerifyAction(f.ctx, atok, opSign, resource, []byte("other"))
	require.Error(t, err)

	for _, tok := range []authn.Token{stok, atok} {
		raw := string(tok)
		require.NotEmpty(t, raw)
		for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %s %q %#v %+v", tok, tok, tok, tok, tok), err.Error()} {
			assert.NotContains(t, s, raw)
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", tok)
		assert.NotContains(t, buf.String(), raw)
		assert.NotContains(t, logs.String(), raw)
		for _, kv := range st.snapshot() {
			for k, v := range kv {
				assert.NotContains(t, k, raw)
				assert.False(t, bytes.Contains(v, []byte(raw)))
			}
		}
	}
	assert.Contains(t, logs.String(), "authn: login", "security events are logged")
}

// A client's challenge id reaches the log of a refusal shortened: it is
// checked (and refused) only inside the call.
func TestRefusedChallengeIDIsLoggedShort(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	svc, err := authn.New(authn.Config{
		Store: newMemStore(), RPID: rpID, RPOrigins: []string{rpOrigin},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	f := &fixture{svc: svc, ctx: t.Context()}
	alice := f.user(t, "alice")
	k, _ := f.key(t, alice.ID, authn.Ed25519, authn.Key)
	ch, err := svc.BeginLogin(f.ctx, alice.ID)
	require.NoError(t, err)
	long := strings.Repeat("x", 1<<16)
	_, _, err = svc.FinishLogin(f.ctx, long, k.Assert(ch.Challenge))
	require.ErrorIs(t, err, authn.ErrUnknownChallenge)
	_, _, err = svc.CompleteAction(f.ctx, long, k.Assert(ch.Challenge))
	require.ErrorIs(t, err, authn.ErrUnknownChallenge)
	assert.Contains(t, logs.String(), "authn: login refused")
	assert.Contains(t, logs.String(), "authn: action signature refused")
	assert.Less(t, logs.Len(), 2048)
}
