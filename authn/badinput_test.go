package authn_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
)

type badInput struct {
	name  string
	input []byte
	want  error
}

// badAssertions are answers to a login or action challenge that must be
// refused before anything is verified. real is a valid key assertion and
// realPasskey a valid passkey assertion, which the cases mutate.
func badAssertions(t *testing.T, real, realPasskey []byte) []badInput {
	t.Helper()
	var ka authn.KeyAssertion
	require.NoError(t, json.Unmarshal(real, &ka))
	with := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(real, &m))
		edit(m)
		return mustJSON(t, m)
	}
	withPasskey := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(realPasskey, &m))
		edit(m)
		return mustJSON(t, m)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	unknownID := bytes.Repeat([]byte{7}, 32)
	return []badInput{
		{"empty", nil, authn.ErrMalformed},
		{"not JSON", []byte("{"), authn.ErrMalformed},
		{"null", []byte("null"), authn.ErrMalformed},
		{"array", []byte("[]"), authn.ErrMalformed},
		{"string", []byte(`"key"`), authn.ErrMalformed},
		{"unknown type", []byte(`{"type":"password","id":"AA"}`), authn.ErrMalformed},
		{"trailing data", append(bytes.Clone(real), []byte(` {}`)...), authn.ErrMalformed},
		{"unknown member", with(func(m map[string]any) { m["extra"] = 1 }), authn.ErrMalformed},
		{"missing signature", with(func(m map[string]any) { delete(m, "signature") }), authn.ErrMalformed},
		{"id not base64url", with(func(m map[string]any) { m["id"] = "not base64!" }), authn.ErrMalformed},
		{"id padded", with(func(m map[string]any) { m["id"] = base64.URLEncoding.EncodeToString(ka.ID) }), authn.ErrMalformed},
		{"id standard alphabet", with(func(m map[string]any) { m["id"] = strings.NewReplacer("-", "+", "_", "/").Replace(b64(ka.ID)) + "+/" }), authn.ErrMalformed},
		{"id a number", with(func(m map[string]any) { m["id"] = 12 }), authn.ErrMalformed},
		{"empty id", with(func(m map[string]any) { m["id"] = "" }), authn.ErrMalformed},
		{"signature oversized", with(func(m map[string]any) { m["signature"] = b64(make([]byte, 1024)) }), authn.ErrMalformed},
		{"client data with whitespace", with(func(m map[string]any) {
			m["clientData"] = b64(bytes.Replace(ka.ClientData, []byte(`,`), []byte(`, `), 1))
		}), authn.ErrMalformed},
		{"client data reordered", with(func(m map[string]any) {
			var cd map[string]string
			require.NoError(t, json.Unmarshal(ka.ClientData, &cd))
			m["clientData"] = b64(fmt.Appendf(nil, `{"challenge":%q,"type":%q}`, cd["challenge"], cd["type"]))
		}), authn.ErrMalformed},
		{"client data unknown member", with(func(m map[string]any) {
			m["clientData"] = b64(append(bytes.TrimSuffix(ka.ClientData, []byte("}")), []byte(`,"origin":"x"}`)...))
		}), authn.ErrMalformed},
		{"client data unknown type", with(func(m map[string]any) {
			m["clientData"] = b64(bytes.Replace(ka.ClientData, []byte("key.get"), []byte("key.put"), 1))
		}), authn.ErrMalformed},
		{"client data not JSON", with(func(m map[string]any) { m["clientData"] = b64([]byte("\x00\x01")) }), authn.ErrMalformed},
		{"oversized", append([]byte(`{"type":"key","pad":"`), append(bytes.Repeat([]byte("A"), 20<<10), []byte(`"}`)...)...), authn.ErrTooLarge},
		{"unknown key credential", with(func(m map[string]any) { m["id"] = b64(unknownID) }), authn.ErrUnknownCredential},
		{"passkey garbage", []byte(`{"type":"public-key","id":"AA"}`), authn.ErrMalformed},
		{"passkey id not base64url", withPasskey(func(m map[string]any) { m["id"], m["rawId"] = "!!", "!!" }), authn.ErrMalformed},
		{"passkey client data not base64url", withPasskey(func(m map[string]any) {
			m["response"].(map[string]any)["clientDataJSON"] = "%%%"
		}), authn.ErrMalformed},
		{"passkey client data not JSON", withPasskey(func(m map[string]any) {
			m["response"].(map[string]any)["clientDataJSON"] = b64([]byte("{"))
		}), authn.ErrMalformed},
		{"passkey authenticator data short", withPasskey(func(m map[string]any) {
			m["response"].(map[string]any)["authenticatorData"] = b64([]byte{1, 2, 3})
		}), authn.ErrMalformed},
		{"unknown passkey", withPasskey(func(m map[string]any) { m["id"], m["rawId"] = b64(unknownID), b64(unknownID) }), authn.ErrUnknownCredential},
	}
}

func TestBadAssertionsAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	k, _ := f.key(t, alice.ID, authn.Ed25519, authn.Key)
	p, _ := f.passkey(t, alice.ID)
	login, err := f.svc.BeginLogin(f.ctx, alice.ID)
	require.NoError(t, err)
	action, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
	require.NoError(t, err)
	realPasskey, err := p.Assert(login.Options)
	require.NoError(t, err)
	cases := badAssertions(t, k.Assert(login.Challenge), realPasskey)

	before := f.store.snapshot()
	for _, c := range cases {
		require.NotPanics(t, func() {
			_, _, err := f.svc.FinishLogin(f.ctx, login.ID, c.input)
			require.ErrorIs(t, err, c.want, "login: %s", c.name)
			_, _, err = f.svc.CompleteAction(f.ctx, action.ID, c.input)
			require.ErrorIs(t, err, c.want, "action: %s", c.name)
		}, c.name)
	}
	assert.Equal(t, before, f.store.snapshot(), "nothing stored")

	for _, id := range []string{"", "ch-unknown", strings.Repeat("x", 10<<10)} {
		_, _, err := f.svc.FinishLogin(f.ctx, id, k.Assert(login.Challenge))
		require.ErrorIs(t, err, authn.ErrUnknownChallenge)
		_, _, err = f.svc.CompleteAction(f.ctx, id, k.Assert(action.Challenge))
		require.ErrorIs(t, err, authn.ErrUnknownChallenge)
	}
	assert.Equal(t, before, f.store.snapshot(), "nothing stored")

	// The real answers still work.
	_, _, err = f.svc.FinishLogin(f.ctx, login.ID, k.Assert(login.Challenge))
	require.NoError(t, err)
	_, _, err = f.svc.CompleteAction(f.ctx, action.ID, k.Assert(action.Challenge))
	require.NoError(t, err)
}

func TestBadRegistrationsAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	keyCh, err := f.svc.BeginKeyRegistration(f.ctx, alice.ID, authn.Key)
	require.NoError(t, err)
	pkCh, err := f.svc.BeginPasskeyRegistration(f.ctx, alice.ID)
	require.NoError(t, err)

	k := authntest.MustKeySigner(authn.ECDSAP256)
	real := k.Attest(keyCh.Challenge)
	with := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(real, &m))
		edit(m)
		return mustJSON(t, m)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	offCurve := append([]byte{4}, bytes.Repeat([]byte{1}, 64)...)
	keyCases := []badInput{
		{"empty", nil, authn.ErrMalformed},
		{"not JSON", []byte("{{"), authn.ErrMalformed},
		{"unknown algorithm", with(func(m map[string]any) { m["algorithm"] = "RSA" }), authn.ErrMalformed},
		{"WebAuthn algorithm", with(func(m map[string]any) { m["algorithm"] = "WebAuthn" }), authn.ErrMalformed},
		{"P-256 point off the curve", with(func(m map[string]any) { m["publicKey"] = b64(offCurve) }), authn.ErrMalformed},
		{"secp256k1 point off the curve", with(func(m map[string]any) {
			m["algorithm"] = "ECDSA-secp256k1"
			m["publicKey"] = b64(append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...))
		}), authn.ErrMalformed},
		{"Ed25519 key of 31 bytes", with(func(m map[string]any) { m["algorithm"], m["publicKey"] = "Ed25519", b64(make([]byte, 31)) }), authn.ErrMalformed},
		{"public key oversized", with(func(m map[string]any) { m["publicKey"] = b64(make([]byte, 2048)) }), authn.ErrTooLarge},
		{"public key bad base64", with(func(m map[string]any) { m["publicKey"] = "====" }), authn.ErrMalformed},
		{"oversized", bytes.Repeat([]byte(" "), 65<<10), authn.ErrTooLarge},
		{"unknown member", with(func(m map[string]any) { m["credentialId"] = "AA" }), authn.ErrMalformed},
	}
	pkCases := []badInput{
		{"empty", nil, authn.ErrMalformed},
		{"garbage", []byte(`{"type":"public-key","id":"AA","rawId":"AA","response":{}}`), authn.ErrMalformed},
		{"attestation object not CBOR", []byte(`{"type":"public-key","id":"AA","rawId":"AA","response":{"clientDataJSON":"e30","attestationObject":"AAAA"}}`), authn.ErrMalformed},
		{"oversized", bytes.Repeat([]byte(" "), 65<<10), authn.ErrTooLarge},
	}

	before := f.store.snapshot()
	for _, c := range keyCases {
		require.NotPanics(t, func() {
			_, err := f.svc.FinishKeyRegistration(f.ctx, keyCh.ID, c.input, "k")
			require.ErrorIs(t, err, c.want, c.name)
		})
	}
	for _, c := range pkCases {
		require.NotPanics(t, func() {
			_, err := f.svc.FinishPasskeyRegistration(f.ctx, pkCh.ID, c.input, "p")
			require.ErrorIs(t, err, c.want, c.name)
		})
	}
	_, err = f.svc.FinishKeyRegistration(f.ctx, keyCh.ID, real, "")
	require.ErrorIs(t, err, authn.ErrInvalidArgument)
	_, err = f.svc.FinishKeyRegistration(f.ctx, keyCh.ID, real, strings.Repeat("n", 257))
	require.ErrorIs(t, err, authn.ErrTooLarge)
	_, err = f.svc.FinishKeyRegistration(f.ctx, pkCh.ID, real, "k")
	require.ErrorIs(t, err, authn.ErrUnknownChallenge, "a passkey challenge does not register a key")
	assert.Equal(t, before, f.store.snapshot(), "nothing stored")

	_, err = f.svc.FinishKeyRegistration(f.ctx, keyCh.ID, real, "k")
	require.NoError(t, err)
}

func TestBadTokensAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice := f.user(t, "alice")
	k, _ := f.key(t, alice.ID, authn.Ed25519, authn.Key)
	_, stok, err := authntest.Login(f.ctx, f.svc, k, alice.ID)
	require.NoError(t, err)
	atok, _, err := authntest.SignAction(f.ctx, f.svc, k, alice.ID, opSign, resource, payload)
	require.NoError(t, err)

	// Same shape as a real token, last character changed.
	flipLast := func(tok authn.Token) authn.Token {
		s := []byte(string(tok))
		if s[len(s)-2] == 'A' {
			s[len(s)-2] = 'B'
		} else {
			s[len(s)-2] = 'A'
		}
		return authn.Token(s)
	}
	before := f.store.snapshot()
	for _, tok := range []authn.Token{"", "garbage", "cairn_st_", "cairn_st_!!!", authn.Token(strings.Repeat("a", 1<<20)), flipLast(stok), atok} {
		_, err := f.svc.VerifySession(f.ctx, tok)
		require.ErrorIs(t, err, authn.ErrInvalidToken)
	}
	for _, tok := range []authn.Token{"", "cairn_at_", flipLast(atok), stok} {
		_, err := f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		require.ErrorIs(t, err, authn.ErrInvalidToken)
	}
	assert.Equal(t, before, f.store.snapshot(), "nothing stored")
	_, err = f.svc.VerifyAction(f.ctx, atok, opSign, resource, payload)
	require.NoError(t, err)
}

func TestBadRecoveryRequestsAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := newRecoveryUser(t, f, "alice")
	ch, err := f.svc.BeginRecovery(f.ctx, u.id)
	require.NoError(t, err)
	set, _, _, _ := newSet(t, ch)
	real, err := u.recovery.SignRecovery(ch.Challenge, set)
	require.NoError(t, err)
	with := func(edit func(r *authn.RecoveryRequest)) []byte {
		var r authn.RecoveryRequest
		require.NoError(t, json.Unmarshal(real, &r))
		edit(&r)
		return mustJSON(t, r)
	}
	many := make([]authn.NewCredential, 17)
	for i := range many {
		many[i] = set[1]
	}
	cases := []badInput{
		{"empty", nil, authn.ErrMalformed},
		{"not JSON", []byte("nope"), authn.ErrMalformed},
		{"unknown member", []byte(`{"credentials":[],"assertion":{},"x":1}`), authn.ErrMalformed},
		{"no credentials", with(func(r *authn.RecoveryRequest) { r.Credentials = nil }), authn.ErrMalformed},
		{"too many credentials", with(func(r *authn.RecoveryRequest) { r.Credentials = many }), authn.ErrTooLarge},
		{"unknown kind", with(func(r *authn.RecoveryRequest) { r.Credentials[0].Kind = "Password" }), authn.ErrMalformed},
		{"empty name", with(func(r *authn.RecoveryRequest) { r.Credentials[1].Name = "" }), authn.ErrInvalidArgument},
		{"bad attestation", with(func(r *authn.RecoveryRequest) { r.Credentials[1].Attestation = []byte("{") }), authn.ErrMalformed},
		{"passkey assertion", with(func(r *authn.RecoveryRequest) { r.Assertion = u.passkey.AssertChallenge(ch.Challenge) }), authn.ErrWrongCredentialKind},
		{"no assertion", with(func(r *authn.RecoveryRequest) { r.Assertion = nil }), authn.ErrMalformed},
		{"oversized", bytes.Repeat([]byte(" "), 2<<20), authn.ErrTooLarge},
	}
	before := f.store.snapshot()
	for _, c := range cases {
		require.NotPanics(t, func() {
			_, err := f.svc.CompleteRecovery(f.ctx, ch.ID, c.input)
			require.ErrorIs(t, err, c.want, c.name)
		})
	}
	assert.Equal(t, before, f.store.snapshot(), "nothing stored")
	_, err = f.svc.CompleteRecovery(f.ctx, ch.ID, real)
	require.NoError(t, err)
}

func TestUnknownIdentities(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, id := range []string{"", "us-nobody", strings.Repeat("u", 4096)} {
		_, err := f.svc.Identity(f.ctx, id)
		require.ErrorIs(t, err, authn.ErrUnknownIdentity)
		_, err = f.svc.BeginLogin(f.ctx, id)
		require.ErrorIs(t, err, authn.ErrUnknownIdentity)
		_, err = f.svc.BeginPasskeyRegistration(f.ctx, id)
		require.ErrorIs(t, err, authn.ErrUnknownIdentity)
		_, err = f.svc.BeginKeyRegistration(f.ctx, id, authn.Key)
		require.ErrorIs(t, err, authn.ErrUnknownIdentity)
		_, err = f.svc.BeginRecovery(f.ctx, id)
		require.ErrorIs(t, err, authn.ErrUnknownIdentity)
		require.ErrorIs(t, f.svc.DeactivateIdentity(f.ctx, id), authn.ErrUnknownIdentity)
		require.ErrorIs(t, f.svc.RevokeTokens(f.ctx, id), authn.ErrUnknownIdentity)
	}
	for _, id := range [][]byte{nil, {1}, make([]byte, 4096)} {
		_, err := f.svc.Credential(f.ctx, id)
		require.ErrorIs(t, err, authn.ErrUnknownCredential)
		require.ErrorIs(t, f.svc.RevokeCredential(f.ctx, id), authn.ErrUnknownCredential)
	}
	_, err := f.svc.CreateUser(f.ctx, authn.ServiceAccount, "x")
	require.ErrorIs(t, err, authn.ErrInvalidArgument)
	_, err = f.svc.CreateUser(f.ctx, authn.Employee, "")
	require.ErrorIs(t, err, authn.ErrInvalidArgument)
	_, err = f.svc.CreateServiceAccount(f.ctx, "bot", []string{""})
	require.ErrorIs(t, err, authn.ErrInvalidArgument)
	_, err = f.svc.CreateServiceAccount(f.ctx, "bot", make([]string, 1000))
	require.ErrorIs(t, err, authn.ErrTooLarge)
	assert.Zero(t, f.store.count("authn.identities"))
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []authn.Config{
		{RPID: rpID, RPOrigins: []string{rpOrigin}},
		{Store: newMemStore(), RPOrigins: []string{rpOrigin}},
		{Store: newMemStore(), RPID: rpID},
		{Store: newMemStore(), RPID: "not a domain!", RPOrigins: []string{rpOrigin}},
	} {
		_, err := authn.New(cfg)
		require.ErrorIs(t, err, authn.ErrInvalidArgument)
	}
}
