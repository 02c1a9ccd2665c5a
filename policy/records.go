package policy

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// Store layout. Every mutation is one store transaction, so nothing is ever
// half-saved.
const (
	metaBucket        = "policy.meta"        // generationKey, firstUserKey
	policiesBucket    = "policy.policies"    // policy ID → policyRecord
	approvalsBucket   = "policy.approvals"   // approval ID → approvalRecord
	pendingBucket     = "policy.pending"     // approval ID → empty, while pending
	changesBucket     = "policy.changes"     // change ID → changeRecord
	permissionsBucket = "policy.permissions" // permission ID → permissionRecord
	assignmentsBucket = "policy.assignments" // lp(identity) permission ID → assignmentRecord
)

var (
	// generationKey holds a random token replaced on every change to the
	// policy set; the engine's compiled snapshot is valid while it matches.
	generationKey = []byte("generation")
	// firstUserKey holds the identity Bootstrap gave the admin permission.
	firstUserKey = []byte("firstUser")
)

// newID returns a fresh random identifier with a readable prefix.
func newID(prefix string) string { return prefix + "-" + rand.Text() }

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// getRecord reads and decodes one record; a missing key is ErrNotFound
// naming what was looked for.
func getRecord[T any](tx store.Tx, bucket, what, id string, decode func([]byte) (T, error)) (T, error) {
	var zero T
	b, err := tx.Get(bucket, []byte(id))
	if errors.Is(err, store.ErrNotFound) {
		return zero, fmt.Errorf("%w: %s %q", ErrNotFound, what, id)
	}
	if err != nil {
		return zero, fmt.Errorf("policy: read %s %q: %w", what, id, err)
	}
	return decode(b)
}

// listRecords decodes every record of a bucket under prefix, in key order.
func listRecords[T any](tx store.Tx, bucket string, prefix []byte, decode func([]byte) (T, error)) ([]T, error) {
	var out []T
	err := tx.ForEach(bucket, prefix, func(_, v []byte) error {
		r, err := decode(v)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policy: list %s: %w", bucket, err)
	}
	return out, nil
}

func putRecord(tx store.Tx, bucket, id string, b []byte, err error) error {
	if err != nil {
		return err
	}
	if err := tx.Put(bucket, []byte(id), b); err != nil {
		return fmt.Errorf("policy: write %s %q: %w", bucket, id, err)
	}
	return nil
}

func getPolicy(tx store.Tx, id string) (Policy, error) {
	return getRecord(tx, policiesBucket, "policy", id, decodePolicy)
}

func putPolicy(tx store.Tx, p *Policy) error {
	b, err := encodePolicy(p)
	if err := putRecord(tx, policiesBucket, p.ID, b, err); err != nil {
		return err
	}
	return bumpGeneration(tx)
}

func bumpGeneration(tx store.Tx) error {
	if err := tx.Put(metaBucket, generationKey, []byte(rand.Text())); err != nil {
		return fmt.Errorf("policy: write generation: %w", err)
	}
	return nil
}

func getApproval(tx store.Tx, id string) (Approval, error) {
	return getRecord(tx, approvalsBucket, "approval", id, decodeApproval)
}

// putApproval stores a and keeps the pending index in step.
func putApproval(tx store.Tx, a *Approval) error {
	b, err := encodeApproval(a)
	if err := putRecord(tx, approvalsBucket, a.ID, b, err); err != nil {
		return err
	}
	if a.Status == ApprovalPending {
		return putRecord(tx, pendingBucket, a.ID, []byte{}, nil)
	}
	if err := tx.Delete(pendingBucket, []byte(a.ID)); err != nil {
		return fmt.Errorf("policy: write pending index: %w", err)
	}
	return nil
}

func getChange(tx store.Tx, id string) (Change, error) {
	return getRecord(tx, changesBucket, "change", id, decodeChange)
}

func putChange(tx store.Tx, c *Change) error {
	b, err := encodeChange(c)
	return putRecord(tx, changesBucket, c.ID, b, err)
}

func getPermission(tx store.Tx, id string) (Permission, error) {
	return getRecord(tx, permissionsBucket, "permission", id, decodePermission)
}

func putPermission(tx store.Tx, p *Permission) error {
	b, err := encodePermission(p)
	return putRecord(tx, permissionsBucket, p.ID, b, err)
}

// identityPrefix is the assignments key prefix of one identity
// (length-prefixed, so no identity's prefix is another's).
func identityPrefix(identity string) []byte { return appendString(nil, identity) }

func assignmentKey(identity, permissionID string) []byte {
	return append(identityPrefix(identity), permissionID...)
}
