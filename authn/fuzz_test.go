package authn_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
)

// realValues are what real clients sent to a Service: the seeds of every
// fuzz target.
type realValues struct {
	keyAssertions     [][]byte
	passkeyAssertions [][]byte
	keyClientData     [][]byte
	webAuthnClient    [][]byte
	keyAttestations   [][]byte
	passkeyResponses  [][]byte
	recoveries        [][]byte
	evidence          [][]byte
}

func collectRealValues(t testing.TB) *realValues {
	t.Helper()
	f := newFixture(t)
	rv := &realValues{}
	alice := f.user(t, "alice")
	for _, alg := range keyAlgorithms {
		k := authntest.MustKeySigner(alg)
		ch, err := f.svc.BeginKeyRegistration(f.ctx, alice.ID, authn.Key)
		require.NoError(t, err)
		att := k.Attest(ch.Challenge)
		_, err = f.svc.FinishKeyRegistration(f.ctx, ch.ID, att, string(alg))
		require.NoError(t, err)
		rv.keyAttestations = append(rv.keyAttestations, att)

		tok, ev, err := authntest.SignAction(f.ctx, f.svc, k, alice.ID, opSign, resource, payload)
		require.NoError(t, err)
		_, err = f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
		require.NoError(t, err)
		a := k.Assert(ev.Binding.Challenge())
		rv.keyAssertions = append(rv.keyAssertions, a)
		rv.keyClientData = append(rv.keyClientData, ev.ClientData)
		bin, err := ev.MarshalBinary()
		require.NoError(t, err)
		rv.evidence = append(rv.evidence, bin)
	}

	ch, err := f.svc.BeginPasskeyRegistration(f.ctx, alice.ID)
	require.NoError(t, err)
	p := authntest.NewPasskey(rpID, rpOrigin)
	resp, err := p.Register(ch.Options)
	require.NoError(t, err)
	_, err = f.svc.FinishPasskeyRegistration(f.ctx, ch.ID, resp, "p")
	require.NoError(t, err)
	rv.passkeyResponses = append(rv.passkeyResponses, resp)

	p.SetCounting(true)
	ach, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
	require.NoError(t, err)
	a, err := p.Assert(ach.Options)
	require.NoError(t, err)
	_, ev, err := f.svc.CompleteAction(f.ctx, ach.ID, a)
	require.NoError(t, err)
	rv.passkeyAssertions = append(rv.passkeyAssertions, a)
	rv.webAuthnClient = append(rv.webAuthnClient, ev.ClientData)
	bin, err := ev.MarshalBinary()
	require.NoError(t, err)
	rv.evidence = append(rv.evidence, bin)

	rk, _ := f.key(t, alice.ID, authn.Ed25519, authn.RecoveryKey)
	rch, err := f.svc.BeginRecovery(f.ctx, alice.ID)
	require.NoError(t, err)
	set, _, _, _ := newSet(t, rch)
	req, err := rk.SignRecovery(rch.Challenge, set)
	require.NoError(t, err)
	rv.recoveries = append(rv.recoveries, req)
	return rv
}

// isInputError reports whether err is one of the refusals a parser may
// give for bad input.
func isInputError(err error, also ...error) bool {
	for _, e := range append([]error{authn.ErrMalformed, authn.ErrTooLarge}, also...) {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func addAll(f *testing.F, seeds ...[][]byte) {
	for _, s := range seeds {
		for _, b := range s {
			f.Add(b)
		}
	}
	f.Add([]byte(nil))
	f.Add([]byte("{}"))
}

func FuzzParseAssertion(f *testing.F) {
	rv := collectRealValues(f)
	addAll(f, rv.keyAssertions, rv.passkeyAssertions)
	f.Fuzz(func(t *testing.T, b []byte) {
		id, _, err := authn.ParseAssertion(b)
		if err != nil {
			assert.True(t, isInputError(err), "unexpected error kind: %v", err)
			return
		}
		assert.NotEmpty(t, id)
	})
}

func FuzzParseKeyClientData(f *testing.F) {
	rv := collectRealValues(f)
	addAll(f, rv.keyClientData)
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, challenge, err := authn.ParseKeyClientData(b)
		if err != nil {
			assert.True(t, isInputError(err), "unexpected error kind: %v", err)
			return
		}
		assert.Equal(t, b, authn.KeyClientData(typ, challenge), "only the canonical encoding parses")
	})
}

func FuzzParseWebAuthnClientData(f *testing.F) {
	rv := collectRealValues(f)
	addAll(f, rv.webAuthnClient)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := authn.ParseWebAuthnClientData(b); err != nil {
			assert.True(t, isInputError(err), "unexpected error kind: %v", err)
		}
	})
}

func FuzzParseKeyAttestation(f *testing.F) {
	rv := collectRealValues(f)
	addAll(f, rv.keyAttestations)
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := authn.ParseKeyAttestation(b)
		if err != nil {
			assert.True(t, isInputError(err, authn.ErrChallengeMismatch, authn.ErrInvalidAttestation), "unexpected error kind: %v", err)
			return
		}
		_, err = authn.KeyCredentialID(pub.Algorithm, pub.Key)
		assert.NoError(t, err, "a parsed key is a valid key")
	})
}

func FuzzParsePasskeyAttestation(f *testing.F) {
	rv := collectRealValues(f)
	addAll(f, rv.passkeyResponses)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := authn.ParsePasskeyAttestation(b); err != nil {
			assert.True(t, isInputError(err), "unexpected error kind: %v", err)
		}
	})
}

func FuzzParseRecovery(f *testing.F) {
	rv := collectRealValues(f)
	addAll(f, rv.recoveries)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := authn.ParseRecovery(b); err != nil {
			assert.True(t, isInputError(err, authn.ErrChallengeMismatch, authn.ErrInvalidAttestation,
				authn.ErrInvalidArgument, authn.ErrWrongCredentialKind), "unexpected error kind: %v", err)
		}
	})
}

func FuzzEvidence(f *testing.F) {
	rv := collectRealValues(f)
	addAll(f, rv.evidence)
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev authn.Evidence
		if err := ev.UnmarshalBinary(b); err != nil {
			assert.ErrorIs(t, err, authn.ErrMalformed)
			return
		}
		// Verification of arbitrary evidence must fail cleanly, never panic.
		_ = ev.Verify(ev.PublicKey)
	})
}
