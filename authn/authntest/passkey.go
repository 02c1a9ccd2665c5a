// Package authntest lets tests act as the users of an authn.Service: a
// virtual passkey authenticator (github.com/descope/virtualwebauthn) and a
// key-credential signer, each producing exactly the JSON a real client
// would send.
//
// They are for tests only: private keys live in memory, unprotected.
package authntest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/descope/virtualwebauthn"
)

// Passkey is a virtual authenticator holding one discoverable ECDSA P-256
// credential. It is safe for concurrent use.
type Passkey struct {
	mu       sync.Mutex
	rp       virtualwebauthn.RelyingParty
	auth     virtualwebauthn.Authenticator
	cred     virtualwebauthn.Credential
	counting bool
}

// NewPasskey returns an authenticator for the relying party rpID, used
// from origin. Its counter stays at zero (like most platform passkeys)
// until SetCounting(true).
func NewPasskey(rpID, origin string) *Passkey {
	return &Passkey{
		rp:   virtualwebauthn.RelyingParty{ID: rpID, Name: rpID, Origin: origin},
		auth: virtualwebauthn.NewAuthenticator(),
		cred: newP256Credential(),
	}
}

// newP256Credential returns a credential whose key virtualwebauthn
// encodes correctly. It writes COSE coordinates with big.Int.Bytes, which
// drops leading zero bytes, so about one key in 128 would yield a COSE key
// that go-webauthn rightly refuses; such keys are skipped.
func newP256Credential() virtualwebauthn.Credential {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic("authntest: generating P-256 key: " + err.Error())
		}
		pub, err := k.PublicKey.Bytes()
		if err != nil || pub[1] == 0 || pub[33] == 0 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic("authntest: encoding P-256 key: " + err.Error())
		}
		return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der)
	}
}

// ID returns the credential id.
func (p *Passkey) ID() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.cred.ID)
}

// SetCounting makes the authenticator increment its signature counter
// before each assertion, as security keys do.
func (p *Passkey) SetCounting(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counting = on
}

// SetCounter sets the signature counter, to simulate a clone.
func (p *Passkey) SetCounter(n uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cred.Counter = n
}

// SetRelyingParty changes the RP ID and origin the authenticator signs
// for, to simulate a phishing site or a misconfigured client.
func (p *Passkey) SetRelyingParty(rpID, origin string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rp.ID, p.rp.Origin = rpID, origin
}

// SetUserVerification makes the authenticator report (or not) that it
// verified the user.
func (p *Passkey) SetUserVerification(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.auth.Options.UserNotVerified = !on
}

// Register answers creation options (authn.Challenge.Options of a
// passkey registration or recovery) with a registration response.
func (p *Passkey) Register(options json.RawMessage) ([]byte, error) {
	opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		return nil, fmt.Errorf("authntest: creation options: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cred.IsExcludedForAttestation(*opts) {
		return nil, errors.New("authntest: credential is excluded by the relying party")
	}
	p.auth.Options.UserHandle = []byte(opts.UserID)
	return []byte(virtualwebauthn.CreateAttestationResponse(p.rp, p.auth, p.cred, *opts)), nil
}

// Assert answers request options (authn.Challenge.Options of a login or
// an action) with an assertion. For a discoverable login (no allow list)
// it answers with its credential and user handle.
func (p *Passkey) Assert(options json.RawMessage) ([]byte, error) {
	if len(options) == 0 {
		return nil, errors.New("authntest: no request options: the challenge has no passkey to answer it")
	}
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		return nil, fmt.Errorf("authntest: request options: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(opts.AllowCredentials) > 0 && !p.cred.IsAllowedForAssertion(*opts) {
		return nil, errors.New("authntest: credential is not in the allow list")
	}
	if p.counting {
		p.cred.Counter++
	}
	return []byte(virtualwebauthn.CreateAssertionResponse(p.rp, p.auth, p.cred, *opts)), nil
}

// AssertChallenge signs challenge with the passkey regardless of request
// options, as a compromised or buggy client might, to test refusals. The
// assertion names this passkey's credential.
func (p *Passkey) AssertChallenge(challenge []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counting {
		p.cred.Counter++
	}
	opts := virtualwebauthn.AssertionOptions{Challenge: challenge, RelyingPartyID: p.rp.ID}
	return []byte(virtualwebauthn.CreateAssertionResponse(p.rp, p.auth, p.cred, opts))
}
