package authn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
)

const (
	opSign   = "Wallets:Sign"
	resource = "wallets/wa-1/signatures"
)

var payload = []byte(`{"kind":"Transaction","transaction":"0x02f86c0180843b9aca00"}`)

// signerKind registers a credential of one kind for a user and returns
// its signer and credential.
type signerKind struct {
	name     string
	register func(t testing.TB, f *fixture, id string) (authntest.Signer, *authn.Credential)
}

var signerKinds = []signerKind{
	{"passkey", func(t testing.TB, f *fixture, id string) (authntest.Signer, *authn.Credential) {
		return f.passkey(t, id)
	}},
	{"Ed25519", keyKind(authn.Ed25519)},
	{"ECDSA-P256", keyKind(authn.ECDSAP256)},
	{"ECDSA-secp256k1", keyKind(authn.ECDSASecp256k1)},
}

func keyKind(alg authn.Algorithm) func(t testing.TB, f *fixture, id string) (authntest.Signer, *authn.Credential) {
	return func(t testing.TB, f *fixture, id string) (authntest.Signer, *authn.Credential) {
		return f.key(t, id, alg, authn.Key)
	}
}

// forEachSignerKind runs test, in parallel, for every credential kind that
// signs actions, each on a fresh fixture where alice holds one credential
// of that kind.
func forEachSignerKind(t *testing.T, test func(t *testing.T, f *fixture, alice *authn.Identity, s authntest.Signer, cred *authn.Credential)) {
	t.Helper()
	for _, k := range signerKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			alice := f.user(t, "alice")
			s, cred := k.register(t, f, alice.ID)
			test(t, f, alice, s, cred)
		})
	}
}

func TestActionSigning(t *testing.T) {
	t.Parallel()
	forEachSignerKind(t, func(t *testing.T, f *fixture, alice *authn.Identity, s authntest.Signer, cred *authn.Credential) {

		ch, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		require.NotNil(t, ch.Binding)
		assert.Equal(t, []byte(ch.Challenge), ch.Binding.Challenge())
		assert.Equal(t, authn.PayloadHash(payload), []byte(ch.Binding.PayloadHash))
		assert.Equal(t, f.clock.Now().Add(authn.DefaultActionChallengeTTL), ch.ExpiresAt)

		a, err := s.Answer(ch)
		require.NoError(t, err)
		tok, ev, err := f.svc.CompleteAction(f.ctx, ch.ID, a)
		require.NoError(t, err)
		assert.Equal(t, alice.ID, ev.Principal)
		assert.Equal(t, []byte(cred.ID), []byte(ev.CredentialID))

		got, err := f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		require.NoError(t, err)
		assert.Equal(t, ev.Binding.Challenge(), got.Binding.Challenge())
		require.NoError(t, got.Verify(cred.PublicKey), "evidence verifies offline")
		require.NoError(t, got.Binding.Matches(opSign, resource, payload))

		_, err = f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		require.ErrorIs(t, err, authn.ErrActionReplayed)
	})
}

func TestActionTokenBoundToRequest(t *testing.T) {
	t.Parallel()
	forEachSignerKind(t, func(t *testing.T, f *fixture, alice *authn.Identity, s authntest.Signer, cred *authn.Credential) {
		tok, _, err := authntest.SignAction(f.ctx, f.svc, s, alice.ID, opSign, resource, payload)
		require.NoError(t, err)

		changed := append([]byte(nil), payload...)
		changed[len(changed)-3] ^= 1
		for _, c := range []struct {
			name          string
			op, res       string
			body          []byte
			wantInMessage string
		}{
			{"operation", "Wallets:Create", resource, payload, "operation"},
			{"resource", opSign, "wallets/wa-2/signatures", payload, "resource"},
			{"payload one byte", opSign, resource, changed, "payload"},
			{"payload truncated", opSign, resource, payload[:len(payload)-1], "payload"},
			{"empty payload", opSign, resource, nil, "payload"},
		} {
			_, err := f.svc.VerifyAction(f.ctx, tok, c.op, c.res, c.body)
			require.ErrorIs(t, err, authn.ErrActionMismatch, c.name)
			assert.Contains(t, err.Error(), c.wantInMessage, c.name)
		}
		// A mismatch does not consume the token: the request it was
		// signed for still goes through, once.
		_, err = f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		require.NoError(t, err)
		_, err = f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		require.ErrorIs(t, err, authn.ErrActionReplayed)
	})
}

func TestActionExpiry(t *testing.T) {
	t.Parallel()
	forEachSignerKind(t, func(t *testing.T, f *fixture, alice *authn.Identity, s authntest.Signer, cred *authn.Credential) {

		ch, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		a, err := s.Answer(ch)
		require.NoError(t, err)
		f.clock.Advance(authn.DefaultActionChallengeTTL)
		_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, a)
		require.ErrorIs(t, err, authn.ErrChallengeExpired)

		tok, _, err := authntest.SignAction(f.ctx, f.svc, s, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		f.clock.Advance(authn.DefaultActionTokenTTL)
		_, err = f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		require.ErrorIs(t, err, authn.ErrTokenExpired)
	})
}

func TestActionChallengeIsSingleUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	k, _ := f.key(t, alice.ID, authn.Ed25519, authn.Key)
	ch, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
	require.NoError(t, err)
	_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, k.Assert(ch.Challenge))
	require.NoError(t, err)
	_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, k.Assert(ch.Challenge))
	require.ErrorIs(t, err, authn.ErrUnknownChallenge)
}

func TestActionFromAnotherUsersCredential(t *testing.T) {
	t.Parallel()
	for _, k := range signerKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			alice := f.user(t, "alice")
			bob := f.user(t, "bob")
			_, _ = k.register(t, f, alice.ID)
			bobs, _ := k.register(t, f, bob.ID)

			ch, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
			require.NoError(t, err)
			var a []byte
			switch s := bobs.(type) {
			case *authntest.Passkey:
				a = s.AssertChallenge(ch.Challenge) // alice's allow list does not hold bob's passkey
			case *authntest.KeySigner:
				a = s.Assert(ch.Challenge)
			}
			_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, a)
			require.ErrorIs(t, err, authn.ErrCredentialNotOwned)
		})
	}
}

func TestActionRevokedCredential(t *testing.T) {
	t.Parallel()
	forEachSignerKind(t, func(t *testing.T, f *fixture, alice *authn.Identity, s authntest.Signer, cred *authn.Credential) {
		_, _ = f.key(t, alice.ID, authn.Ed25519, authn.Key) // alice keeps another credential

		// A token obtained before the revocation dies with it.
		tok, _, err := authntest.SignAction(f.ctx, f.svc, s, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		ch, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		a, err := s.Answer(ch)
		require.NoError(t, err)

		require.NoError(t, f.svc.RevokeCredential(f.ctx, cred.ID))
		_, err = f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		require.ErrorIs(t, err, authn.ErrInvalidToken)
		_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, a)
		require.ErrorIs(t, err, authn.ErrCredentialRevoked)

		ch, err = f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		assert.NotContains(t, ch.AllowCredentials, cred.ID)
	})
}

func TestActionDeactivatedUser(t *testing.T) {
	t.Parallel()
	forEachSignerKind(t, func(t *testing.T, f *fixture, alice *authn.Identity, s authntest.Signer, cred *authn.Credential) {
		tok, _, err := authntest.SignAction(f.ctx, f.svc, s, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		ch, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		a, err := s.Answer(ch)
		require.NoError(t, err)

		require.NoError(t, f.svc.DeactivateIdentity(f.ctx, alice.ID))
		_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, a)
		require.ErrorIs(t, err, authn.ErrIdentityDeactivated)
		_, err = f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
		require.ErrorIs(t, err, authn.ErrIdentityDeactivated)
		_, err = f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		require.ErrorIs(t, err, authn.ErrInvalidToken, "deactivation revokes tokens")
		_, _, err = authntest.Login(f.ctx, f.svc, s, alice.ID)
		require.ErrorIs(t, err, authn.ErrIdentityDeactivated)

		require.NoError(t, f.svc.ActivateIdentity(f.ctx, alice.ID))
		_, _, err = authntest.SignAction(f.ctx, f.svc, s, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
	})
}

func TestActionPasskeyRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		setup func(p *authntest.Passkey)
		want  error
	}{
		{"wrong origin", func(p *authntest.Passkey) { p.SetRelyingParty(rpID, "https://cairn.example.evil") }, authn.ErrOrigin},
		{"wrong RP ID", func(p *authntest.Passkey) { p.SetRelyingParty("evil.example", rpOrigin) }, authn.ErrRPID},
		{"counter regression", func(p *authntest.Passkey) { p.SetCounting(true); p.SetCounter(0) }, authn.ErrCounterRegression},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			alice := f.user(t, "alice")
			p, _ := f.passkey(t, alice.ID)
			if c.want == authn.ErrCounterRegression {
				p.SetCounting(true)
				p.SetCounter(10)
				_, _, err := authntest.SignAction(f.ctx, f.svc, p, alice.ID, opSign, resource, payload)
				require.NoError(t, err)
			}
			c.setup(p)
			_, _, err := authntest.SignAction(f.ctx, f.svc, p, alice.ID, opSign, resource, payload)
			require.ErrorIs(t, err, c.want)
		})
	}
}

func TestActionKeyRefusals(t *testing.T) {
	t.Parallel()
	for _, alg := range keyAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			alice := f.user(t, "alice")
			k, _ := f.key(t, alice.ID, alg, authn.Key)
			rk, _ := f.key(t, alice.ID, alg, authn.RecoveryKey)

			ch, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
			require.NoError(t, err)

			other := append([]byte(nil), ch.Challenge...)
			other[0] ^= 1
			_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, k.Assert(other))
			require.ErrorIs(t, err, authn.ErrChallengeMismatch)

			_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, forge(t, k, authn.KeyGet, ch.Challenge))
			require.ErrorIs(t, err, authn.ErrBadSignature)

			_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, forge(t, k, authn.KeyRecover, ch.Challenge))
			require.ErrorIs(t, err, authn.ErrChallengeMismatch, "a recovery-type signature cannot sign an action")

			_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, rk.Assert(ch.Challenge))
			require.ErrorIs(t, err, authn.ErrWrongCredentialKind, "a recovery key cannot sign an action")

			// After all these refusals the challenge is still good.
			_, _, err = f.svc.CompleteAction(f.ctx, ch.ID, k.Assert(ch.Challenge))
			require.NoError(t, err)
		})
	}
}

// forge returns k's assertion over typ and challenge; for KeyGet the
// signature is by another key of the same algorithm.
func forge(t *testing.T, k *authntest.KeySigner, typ authn.ClientDataType, challenge []byte) []byte {
	t.Helper()
	signer := k
	if typ == authn.KeyGet {
		signer = authntest.MustKeySigner(k.Algorithm())
	}
	cd := authn.KeyClientData(typ, challenge)
	return mustJSON(t, authn.KeyAssertion{Type: authn.KeyAssertionType, ID: k.CredentialID(), ClientData: cd, Signature: signer.Sign(cd)})
}

func TestActionChallengeAnswersOnlyItsCeremony(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	k, _ := f.key(t, alice.ID, authn.ECDSAP256, authn.Key)
	ch, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
	require.NoError(t, err)
	_, _, err = f.svc.FinishLogin(f.ctx, ch.ID, k.Assert(ch.Challenge))
	require.ErrorIs(t, err, authn.ErrUnknownChallenge)

	login, err := f.svc.BeginLogin(f.ctx, alice.ID)
	require.NoError(t, err)
	_, _, err = f.svc.CompleteAction(f.ctx, login.ID, k.Assert(login.Challenge))
	require.ErrorIs(t, err, authn.ErrUnknownChallenge)

	_, sessTok, err := f.svc.FinishLogin(f.ctx, login.ID, k.Assert(login.Challenge))
	require.NoError(t, err)
	_, err = f.svc.VerifyAction(f.ctx, authn.Token(string(sessTok)), opSign, resource, payload)
	require.ErrorIs(t, err, authn.ErrInvalidToken, "a session token is not an action token")
}

func TestVerifyActionConcurrentUseSucceedsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	k, _ := f.key(t, alice.ID, authn.Ed25519, authn.Key)
	tok, _, err := authntest.SignAction(f.ctx, f.svc, k, alice.ID, opSign, resource, payload)
	require.NoError(t, err)
	requireSpentOnce(t, f, tok, 16)
}

func TestActionPayloadCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	_, _ = f.key(t, alice.ID, authn.Ed25519, authn.Key)
	before := f.store.snapshot()
	_, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, make([]byte, authn.DefaultMaxPayloadSize+1))
	require.ErrorIs(t, err, authn.ErrTooLarge)
	_, err = f.svc.InitAction(f.ctx, alice.ID, string(make([]byte, 257)), resource, payload)
	require.ErrorIs(t, err, authn.ErrTooLarge)
	_, err = f.svc.InitAction(f.ctx, alice.ID, "", resource, payload)
	require.ErrorIs(t, err, authn.ErrInvalidArgument)
	_, err = f.svc.InitAction(f.ctx, "us-nobody", opSign, resource, payload)
	require.ErrorIs(t, err, authn.ErrUnknownIdentity)
	assert.Equal(t, before, f.store.snapshot())

	_, err = f.svc.InitAction(f.ctx, alice.ID, opSign, resource, make([]byte, authn.DefaultMaxPayloadSize))
	require.NoError(t, err)
}

func TestInitActionNeedsACredential(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	_, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
	require.ErrorIs(t, err, authn.ErrNoCredential)
	_, _ = f.key(t, alice.ID, authn.Ed25519, authn.RecoveryKey)
	_, err = f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
	require.ErrorIs(t, err, authn.ErrNoCredential, "a recovery key does not sign actions")
}
