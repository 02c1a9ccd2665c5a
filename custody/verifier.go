package custody

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/policy"
)

// CredentialSource gives the trusted record of a credential;
// *authn.Service implements it.
type CredentialSource interface {
	Credential(ctx context.Context, id []byte) (*authn.Credential, error)
}

// ActionVerifier checks a signed user action offline against the
// credentials authn registered. It is the policy.ActionVerifier the policy
// engine needs to accept approval decisions:
//
//	policy.NewEngine(policy.Config{Store: st, Verifier: custody.ActionVerifier{Credentials: authnSvc}})
type ActionVerifier struct {
	Credentials CredentialSource
}

// VerifyAction implements policy.ActionVerifier: evidence must be an
// authn.Evidence by identity, made with one of identity's credentials that
// is not revoked, whose signature verifies under that credential's
// registered key and whose binding is exactly action.
func (v ActionVerifier) VerifyAction(ctx context.Context, identity string, action policy.UserAction, evidence []byte) error {
	ev, err := verifyEvidence(ctx, v.Credentials, identity, evidence)
	if err != nil {
		return err
	}
	b := ev.Binding
	if b.Operation != action.Operation || b.Resource != action.Resource || len(b.PayloadHash) != sha256.Size || [sha256.Size]byte(b.PayloadHash) != action.PayloadHash {
		return fmt.Errorf("%w: the evidence was signed for another action", authn.ErrActionMismatch)
	}
	return nil
}

// verifyEvidence decodes a user action's evidence and checks its signature
// against the trusted credential; identity, if not empty, must be its
// principal and the credential's owner.
func verifyEvidence(ctx context.Context, creds CredentialSource, identity string, evidence []byte) (*authn.Evidence, error) {
	var ev authn.Evidence
	if err := ev.UnmarshalBinary(evidence); err != nil {
		return nil, err
	}
	if identity != "" && ev.Principal != identity {
		return nil, fmt.Errorf("%w: evidence by %q, not %q", authn.ErrCredentialNotOwned, ev.Principal, identity)
	}
	cred, err := creds.Credential(ctx, ev.CredentialID)
	if err != nil {
		return nil, err
	}
	if cred.Owner != ev.Principal {
		return nil, fmt.Errorf("%w: credential of %q used by %q", authn.ErrCredentialNotOwned, cred.Owner, ev.Principal)
	}
	if cred.Revoked() {
		return nil, fmt.Errorf("%w", authn.ErrCredentialRevoked)
	}
	if err := ev.Verify(cred.PublicKey); err != nil {
		return nil, err
	}
	return &ev, nil
}
