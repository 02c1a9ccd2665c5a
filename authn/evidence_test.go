package authn_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/authn/authntest"
)

// signedEvidence returns the evidence of one verified action and the
// credential that signed it.
func signedEvidence(t *testing.T, k signerKind) (*authn.Evidence, *authn.Credential) {
	t.Helper()
	f := newFixture(t)
	alice := f.user(t, "alice")
	s, cred := k.register(t, f, alice.ID)
	tok, _, err := authntest.SignAction(f.ctx, f.svc, s, alice.ID, opSign, resource, payload)
	require.NoError(t, err)
	ev, err := f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
	require.NoError(t, err)
	return ev, cred
}

func TestEvidenceRoundTripsAndVerifiesOffline(t *testing.T) {
	t.Parallel()
	for _, k := range signerKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			ev, cred := signedEvidence(t, k)
			require.NoError(t, ev.Verify(cred.PublicKey))

			bin, err := ev.MarshalBinary()
			require.NoError(t, err)
			var fromBin authn.Evidence
			require.NoError(t, fromBin.UnmarshalBinary(bin))
			require.NoError(t, fromBin.Verify(cred.PublicKey))
			again, err := fromBin.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, bin, again, "the encoding is deterministic")

			js, err := json.Marshal(ev)
			require.NoError(t, err)
			var fromJSON authn.Evidence
			require.NoError(t, json.Unmarshal(js, &fromJSON))
			require.NoError(t, fromJSON.Verify(cred.PublicKey))
			require.NoError(t, fromJSON.Binding.Matches(opSign, resource, payload))
		})
	}
}

type tamperCase struct {
	name   string
	tamper func(e *authn.Evidence)
	want   error
}

func TestEvidenceTamperingIsDetected(t *testing.T) {
	t.Parallel()
	for _, k := range signerKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			ev, cred := signedEvidence(t, k)
			flip := func(b authn.Base64URL, i int) authn.Base64URL {
				c := append(authn.Base64URL(nil), b...)
				c[i] ^= 1
				return c
			}
			cases := []tamperCase{
				{"operation", func(e *authn.Evidence) { e.Binding.Operation = "Keys:Export" }, authn.ErrChallengeMismatch},
				{"resource", func(e *authn.Evidence) { e.Binding.Resource = "wallets/wa-2" }, authn.ErrChallengeMismatch},
				{"payload hash", func(e *authn.Evidence) { e.Binding.PayloadHash = flip(e.Binding.PayloadHash, 31) }, authn.ErrChallengeMismatch},
				{"nonce", func(e *authn.Evidence) { e.Binding.Nonce = flip(e.Binding.Nonce, 0) }, authn.ErrChallengeMismatch},
				{"expiry", func(e *authn.Evidence) { e.Binding.ExpiresAt = e.Binding.ExpiresAt.Add(time.Hour) }, authn.ErrChallengeMismatch},
				{"RP ID", func(e *authn.Evidence) { e.Binding.RPID = "evil.example" }, authn.ErrChallengeMismatch},
				{"principal", func(e *authn.Evidence) { e.Principal, e.Binding.Principal = "us-mallory", "us-mallory" }, authn.ErrChallengeMismatch},
				{"principal outside the binding", func(e *authn.Evidence) { e.Principal = "us-mallory" }, authn.ErrChallengeMismatch},
				{"signature", func(e *authn.Evidence) { e.Signature = flip(e.Signature, len(e.Signature)-1) }, authn.ErrBadSignature},
			}
			if k.name == "passkey" {
				cases = append(cases,
					tamperCase{"authenticator counter", func(e *authn.Evidence) { e.AuthenticatorData = flip(e.AuthenticatorData, 36) }, authn.ErrBadSignature},
					tamperCase{"authenticator RP hash", func(e *authn.Evidence) { e.AuthenticatorData = flip(e.AuthenticatorData, 0) }, authn.ErrRPID},
				)
			}
			for _, c := range cases {
				e := *ev
				c.tamper(&e)
				require.ErrorIs(t, e.Verify(cred.PublicKey), c.want, c.name)
			}

			// Another key of the same kind.
			var other authn.PublicKey
			if k.name == "passkey" {
				_, otherCred := signedEvidence(t, k)
				other = otherCred.PublicKey
			} else {
				other = authntest.MustKeySigner(cred.PublicKey.Algorithm).PublicKey()
			}
			require.ErrorIs(t, ev.Verify(other), authn.ErrBadSignature)
			// A key of another kind.
			wrong := authntest.MustKeySigner(authn.Ed25519).PublicKey()
			if k.name != "passkey" {
				wrong = authn.PublicKey{Algorithm: authn.WebAuthn, Key: []byte{0xa0}}
			}
			require.ErrorIs(t, ev.Verify(wrong), authn.ErrWrongCredentialKind)

			var bad authn.Evidence
			require.ErrorIs(t, bad.UnmarshalBinary([]byte{1, 0xff}), authn.ErrMalformed)
		})
	}
}

// Evidence comes from outside: what it says reaches an error shortened.
func TestEvidenceErrorQuotesShort(t *testing.T) {
	t.Parallel()
	ev, cred := signedEvidence(t, signerKinds[1])
	e := *ev
	e.Principal = strings.Repeat("m", 1<<16)
	err := e.Verify(cred.PublicKey)
	require.ErrorIs(t, err, authn.ErrChallengeMismatch)
	assert.Less(t, len(err.Error()), 1024)
}
