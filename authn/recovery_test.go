package authn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
)

// recoveryUser is a user with a passkey, a key credential, a recovery key,
// a live session and an unused action token.
type recoveryUser struct {
	id       string
	passkey  *authntest.Passkey
	key      *authntest.KeySigner
	recovery *authntest.KeySigner
	session  authn.Token
	action   authn.Token
}

func newRecoveryUser(t *testing.T, f *fixture, name string) *recoveryUser {
	t.Helper()
	u := &recoveryUser{id: f.user(t, name).ID}
	u.passkey, _ = f.passkey(t, u.id)
	u.key, _ = f.key(t, u.id, authn.ECDSAP256, authn.Key)
	u.recovery, _ = f.key(t, u.id, authn.Ed25519, authn.RecoveryKey)
	var err error
	_, u.session, err = authntest.Login(f.ctx, f.svc, u.passkey, u.id)
	require.NoError(t, err)
	u.action, _, err = authntest.SignAction(f.ctx, f.svc, u.key, u.id, opSign, resource, payload)
	require.NoError(t, err)
	return u
}

// newSet makes a new credential set answering recovery challenge ch: a
// passkey, a secp256k1 key and a new recovery key.
func newSet(t testing.TB, ch *authn.Challenge) ([]authn.NewCredential, *authntest.Passkey, *authntest.KeySigner, *authntest.KeySigner) {
	t.Helper()
	p := authntest.NewPasskey(rpID, rpOrigin)
	resp, err := p.Register(ch.Options)
	require.NoError(t, err)
	k := authntest.MustKeySigner(authn.ECDSASecp256k1)
	rk := authntest.MustKeySigner(authn.ECDSAP256)
	return []authn.NewCredential{
		{Kind: authn.Passkey, Name: "new phone", Attestation: resp},
		{Kind: authn.Key, Name: "new key", Attestation: k.Attest(ch.Challenge)},
		{Kind: authn.RecoveryKey, Name: "new recovery", Attestation: rk.Attest(ch.Challenge)},
	}, p, k, rk
}

func TestRecoveryReplacesCredentialsAndRevokesTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := newRecoveryUser(t, f, "alice")
	old, err := f.svc.Credentials(f.ctx, u.id)
	require.NoError(t, err)
	require.Len(t, old, 3)

	ch, err := f.svc.BeginRecovery(f.ctx, u.id)
	require.NoError(t, err)
	set, p, k, rk := newSet(t, ch)
	req, err := u.recovery.SignRecovery(ch.Challenge, set)
	require.NoError(t, err)
	creds, err := f.svc.CompleteRecovery(f.ctx, ch.ID, req)
	require.NoError(t, err)
	require.Len(t, creds, 3)
	assert.Equal(t, p.ID(), []byte(creds[0].ID))
	assert.Equal(t, k.CredentialID(), []byte(creds[1].ID))
	assert.Equal(t, authn.RecoveryKey, creds[2].Kind)

	// Every old credential is revoked, every old token dead.
	all, err := f.svc.Credentials(f.ctx, u.id)
	require.NoError(t, err)
	require.Len(t, all, 6)
	for _, c := range all {
		isOld := false
		for _, o := range old {
			isOld = isOld || string(o.ID) == string(c.ID)
		}
		assert.Equal(t, isOld, c.Revoked(), "credential %s", c.Name)
	}
	_, err = f.svc.VerifySession(f.ctx, u.session)
	require.ErrorIs(t, err, authn.ErrInvalidToken)
	_, err = f.svc.VerifyAction(f.ctx, u.action, opSign, resource, payload)
	require.ErrorIs(t, err, authn.ErrInvalidToken)

	// Old credentials are refused, new ones work.
	ch2, err := f.svc.BeginLogin(f.ctx, u.id)
	require.NoError(t, err)
	_, _, err = f.svc.FinishLogin(f.ctx, ch2.ID, u.passkey.AssertChallenge(ch2.Challenge))
	require.ErrorIs(t, err, authn.ErrCredentialRevoked)
	_, _, err = f.svc.FinishLogin(f.ctx, ch2.ID, u.key.Assert(ch2.Challenge))
	require.ErrorIs(t, err, authn.ErrCredentialRevoked)
	_, _, err = authntest.Login(f.ctx, f.svc, p, u.id)
	require.NoError(t, err)
	_, _, err = authntest.SignAction(f.ctx, f.svc, k, u.id, opSign, resource, payload)
	require.NoError(t, err)

	// The old recovery key cannot recover again; the new one can.
	ch3, err := f.svc.BeginRecovery(f.ctx, u.id)
	require.NoError(t, err)
	set3, _, _, _ := newSet(t, ch3)
	req, err = u.recovery.SignRecovery(ch3.Challenge, set3)
	require.NoError(t, err)
	_, err = f.svc.CompleteRecovery(f.ctx, ch3.ID, req)
	require.ErrorIs(t, err, authn.ErrCredentialRevoked)
	req, err = rk.SignRecovery(ch3.Challenge, set3)
	require.NoError(t, err)
	_, err = f.svc.CompleteRecovery(f.ctx, ch3.ID, req)
	require.NoError(t, err)
}

func TestRecoveryRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := newRecoveryUser(t, f, "alice")
	mallory := newRecoveryUser(t, f, "mallory")

	ch, err := f.svc.BeginRecovery(f.ctx, u.id)
	require.NoError(t, err)
	set, _, _, _ := newSet(t, ch)
	before := f.store.snapshot()

	// Signed by a login key, not a recovery key.
	req, err := u.key.SignRecovery(ch.Challenge, set)
	require.NoError(t, err)
	_, err = f.svc.CompleteRecovery(f.ctx, ch.ID, req)
	require.ErrorIs(t, err, authn.ErrWrongCredentialKind)

	// Signed by another user's recovery key.
	req, err = mallory.recovery.SignRecovery(ch.Challenge, set)
	require.NoError(t, err)
	_, err = f.svc.CompleteRecovery(f.ctx, ch.ID, req)
	require.ErrorIs(t, err, authn.ErrCredentialNotOwned)

	// The set changed after signing: an attacker swaps in their own key.
	req, err = u.recovery.SignRecovery(ch.Challenge, set)
	require.NoError(t, err)
	swapped := append([]authn.NewCredential(nil), set...)
	swapped[1] = authn.NewCredential{Kind: authn.Key, Name: "new key", Attestation: authntest.MustKeySigner(authn.ECDSASecp256k1).Attest(ch.Challenge)}
	var signed authn.RecoveryRequest
	require.NoError(t, jsonUnmarshal(req, &signed))
	signed.Credentials = swapped
	_, err = f.svc.CompleteRecovery(f.ctx, ch.ID, mustJSON(t, signed))
	require.ErrorIs(t, err, authn.ErrChallengeMismatch)

	// A key attested over another challenge.
	bad := append([]authn.NewCredential(nil), set...)
	bad[1].Attestation = authntest.MustKeySigner(authn.Ed25519).Attest(make([]byte, 32))
	req, err = u.recovery.SignRecovery(ch.Challenge, bad)
	require.NoError(t, err)
	_, err = f.svc.CompleteRecovery(f.ctx, ch.ID, req)
	require.ErrorIs(t, err, authn.ErrChallengeMismatch)

	// Only recovery keys: nothing to log in with.
	req, err = u.recovery.SignRecovery(ch.Challenge, set[2:])
	require.NoError(t, err)
	_, err = f.svc.CompleteRecovery(f.ctx, ch.ID, req)
	require.ErrorIs(t, err, authn.ErrMalformed)

	assert.Equal(t, before, f.store.snapshot(), "a refused recovery changes nothing")
	_, err = f.svc.VerifySession(f.ctx, u.session)
	require.NoError(t, err)

	// Expired.
	f.clock.Advance(authn.DefaultCeremonyTTL)
	req, err = u.recovery.SignRecovery(ch.Challenge, set)
	require.NoError(t, err)
	_, err = f.svc.CompleteRecovery(f.ctx, ch.ID, req)
	require.ErrorIs(t, err, authn.ErrChallengeExpired)

	// No recovery key.
	bob := f.user(t, "bob")
	_, _ = f.key(t, bob.ID, authn.Ed25519, authn.Key)
	_, err = f.svc.BeginRecovery(f.ctx, bob.ID)
	require.ErrorIs(t, err, authn.ErrNoRecoveryKey)
}
