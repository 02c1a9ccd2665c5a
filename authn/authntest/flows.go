package authntest

import (
	"context"

	"github.com/cairn-mpc/cairn/authn"
)

// Signer is a credential a test can answer challenges with: a *Passkey or
// a *KeySigner.
type Signer interface {
	// Answer returns the assertion JSON answering a login or action
	// challenge.
	Answer(ch *authn.Challenge) ([]byte, error)
}

// Answer answers ch through its request options.
func (p *Passkey) Answer(ch *authn.Challenge) ([]byte, error) { return p.Assert(ch.Options) }

// Answer signs ch's challenge.
func (k *KeySigner) Answer(ch *authn.Challenge) ([]byte, error) { return k.Assert(ch.Challenge), nil }

// RegisterPasskey creates a virtual passkey for rpID and origin and
// registers it for identity id.
func RegisterPasskey(ctx context.Context, svc *authn.Service, id, rpID, origin string) (*Passkey, *authn.Credential, error) {
	ch, err := svc.BeginPasskeyRegistration(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	p := NewPasskey(rpID, origin)
	resp, err := p.Register(ch.Options)
	if err != nil {
		return nil, nil, err
	}
	cred, err := svc.FinishPasskeyRegistration(ctx, ch.ID, resp, "virtual passkey")
	if err != nil {
		return nil, nil, err
	}
	return p, cred, nil
}

// RegisterKey generates a key for alg and registers it for identity id as
// a credential of kind (authn.Key or authn.RecoveryKey).
func RegisterKey(ctx context.Context, svc *authn.Service, id string, alg authn.Algorithm, kind authn.CredentialKind) (*KeySigner, *authn.Credential, error) {
	k, err := NewKeySigner(alg)
	if err != nil {
		return nil, nil, err
	}
	ch, err := svc.BeginKeyRegistration(ctx, id, kind)
	if err != nil {
		return nil, nil, err
	}
	cred, err := svc.FinishKeyRegistration(ctx, ch.ID, k.Attest(ch.Challenge), string(alg)+" key")
	if err != nil {
		return nil, nil, err
	}
	return k, cred, nil
}

// Login logs identity id in with s.
func Login(ctx context.Context, svc *authn.Service, s Signer, id string) (*authn.Session, authn.Token, error) {
	ch, err := svc.BeginLogin(ctx, id)
	if err != nil {
		return nil, "", err
	}
	a, err := s.Answer(ch)
	if err != nil {
		return nil, "", err
	}
	return svc.FinishLogin(ctx, ch.ID, a)
}

// SignAction has principal sign operation on resource with payload using
// s, and returns the action token the request must carry.
func SignAction(ctx context.Context, svc *authn.Service, s Signer, principal, operation, resource string, payload []byte) (authn.Token, *authn.Evidence, error) {
	ch, err := svc.InitAction(ctx, principal, operation, resource, payload)
	if err != nil {
		return "", nil, err
	}
	a, err := s.Answer(ch)
	if err != nil {
		return "", nil, err
	}
	return svc.CompleteAction(ctx, ch.ID, a)
}
