package custody

import (
	"context"
	"fmt"
	"io"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/custody/audit"
)

// AuditLog returns up to limit audit entries from sequence number from
// (limit ≤ 0: all).
func (s *Service) AuditLog(ctx context.Context, from uint64, limit int) ([]audit.Entry, error) {
	return s.audit.Entries(ctx, from, limit)
}

// ExportAuditLog writes the audit log as JSON Lines for offline
// verification with VerifyAuditLog.
func (s *Service) ExportAuditLog(ctx context.Context, w io.Writer) error {
	return s.audit.Export(ctx, w)
}

// VerifyAuditLog checks the stored audit log: the hash chain, and every
// signed user action in it against the credential authn registered. The
// first failure is an *audit.VerifyError naming the entry.
func (s *Service) VerifyAuditLog(ctx context.Context) error {
	return s.audit.Verify(ctx, CredentialKeys(s.cfg.Authn))
}

// VerifyAuditLog checks an exported audit log offline: the hash chain, and
// every signed user action under the key keys gives for its credential
// (CredentialKeys over authn, or a table the auditor trusts). The first
// failure is an *audit.VerifyError naming the entry.
func VerifyAuditLog(ctx context.Context, export io.Reader, keys audit.KeyResolver) error {
	if export == nil || keys == nil {
		return fmt.Errorf("%w: an export and a key resolver are required", ErrInvalid)
	}
	entries, err := audit.Read(export)
	if err != nil {
		return err
	}
	return audit.VerifyEntries(ctx, entries, keys)
}

// CredentialKeys resolves credential ids to their registered keys.
func CredentialKeys(creds CredentialSource) audit.KeyResolver {
	return func(ctx context.Context, id []byte) (authn.PublicKey, error) {
		c, err := creds.Credential(ctx, id)
		if err != nil {
			return authn.PublicKey{}, err
		}
		return c.PublicKey, nil
	}
}
