package policy

import (
	"fmt"
	"sync"

	"github.com/cairn-mpc/cairn/store"
	"github.com/fxamacker/cbor/v2"
)

// Records are stored as deterministic CBOR (fxamacker/cbor, core
// deterministic encoding, times as RFC 3339 with nanoseconds). Each carries
// schemaVersion in field "v"; a record of another version is refused with
// store.ErrSchema. Rules and actions, being interfaces, are stored as a kind
// and the CBOR of the concrete value.

const schemaVersion = 1

var codec = sync.OnceValues(func() (cbor.EncMode, cbor.DecMode) {
	opts := cbor.CoreDetEncOptions()
	opts.Time = cbor.TimeRFC3339Nano
	enc, err := opts.EncMode()
	if err != nil {
		panic(err) // static options
	}
	dec, err := cbor.DecOptions{MaxArrayElements: 1 << 16, MaxMapPairs: 1 << 16}.DecMode()
	if err != nil {
		panic(err)
	}
	return enc, dec
})

func marshal(v any) ([]byte, error) {
	enc, _ := codec()
	b, err := enc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("policy: encode: %w", err)
	}
	return b, nil
}

func unmarshal(b []byte, v any) error {
	_, dec := codec()
	if err := dec.Unmarshal(b, v); err != nil {
		return fmt.Errorf("policy: decode: %w: %w", store.ErrCorrupt, err)
	}
	return nil
}

func checkVersion(v int) error {
	if v != schemaVersion {
		return fmt.Errorf("policy: record version %d, want %d: %w", v, schemaVersion, store.ErrSchema)
	}
	return nil
}

type policyRecord struct {
	V          int             `cbor:"v"`
	ID         string          `cbor:"id"`
	Name       string          `cbor:"name"`
	Kind       ActivityKind    `cbor:"kind"`
	RuleKind   RuleKind        `cbor:"ruleKind"`
	Rule       cbor.RawMessage `cbor:"rule"`
	ActionKind ActionKind      `cbor:"actionKind"`
	Action     cbor.RawMessage `cbor:"action"`
	Filters    Filters         `cbor:"filters"`
	Status     Status          `cbor:"status"`
	CreatedAt  int64           `cbor:"created"`
	UpdatedAt  int64           `cbor:"updated"`
}

func toPolicyRecord(p *Policy) (*policyRecord, error) {
	rule, err := marshal(p.Rule)
	if err != nil {
		return nil, err
	}
	action, err := marshal(p.Action)
	if err != nil {
		return nil, err
	}
	return &policyRecord{
		V: schemaVersion, ID: p.ID, Name: p.Name, Kind: p.ActivityKind,
		RuleKind: p.Rule.RuleKind(), Rule: rule,
		ActionKind: p.Action.ActionKind(), Action: action,
		Filters: p.Filters, Status: p.Status,
		CreatedAt: unixNano(p.CreatedAt), UpdatedAt: unixNano(p.UpdatedAt),
	}, nil
}

func (r *policyRecord) policy() (Policy, error) {
	if err := checkVersion(r.V); err != nil {
		return Policy{}, err
	}
	rule, err := decodeRule(r.RuleKind, r.Rule)
	if err != nil {
		return Policy{}, err
	}
	action, err := decodeAction(r.ActionKind, r.Action)
	if err != nil {
		return Policy{}, err
	}
	return Policy{
		ID: r.ID, Name: r.Name, ActivityKind: r.Kind, Rule: rule, Action: action,
		Filters: r.Filters, Status: r.Status,
		CreatedAt: fromUnixNano(r.CreatedAt), UpdatedAt: fromUnixNano(r.UpdatedAt),
	}, nil
}

func decodeRule(k RuleKind, b []byte) (Rule, error) {
	switch k {
	case KindAlwaysTrigger:
		return decodeAs[AlwaysTrigger](b)
	case KindTransactionAmountLimit:
		return decodeAs[TransactionAmountLimit](b)
	case KindTransactionAmountVelocity:
		return decodeAs[TransactionAmountVelocity](b)
	case KindTransactionCountVelocity:
		return decodeAs[TransactionCountVelocity](b)
	case KindTransactionRecipientWhitelist:
		return decodeAs[TransactionRecipientWhitelist](b)
	case KindExpression:
		return decodeAs[Expression](b)
	}
	return nil, fmt.Errorf("policy: unknown rule kind %q: %w", k, store.ErrCorrupt)
}

func decodeAction(k ActionKind, b []byte) (Action, error) {
	switch k {
	case KindBlock:
		return decodeAs[Block](b)
	case KindNoAction:
		return decodeAs[NoAction](b)
	case KindRequestApproval:
		return decodeAs[RequestApproval](b)
	}
	return nil, fmt.Errorf("policy: unknown action kind %q: %w", k, store.ErrCorrupt)
}

func decodeAs[T any](b []byte) (T, error) {
	var v T
	err := unmarshal(b, &v)
	return v, err
}

func encodePolicy(p *Policy) ([]byte, error) {
	r, err := toPolicyRecord(p)
	if err != nil {
		return nil, err
	}
	return marshal(r)
}

func decodePolicy(b []byte) (Policy, error) {
	var r policyRecord
	if err := unmarshal(b, &r); err != nil {
		return Policy{}, err
	}
	return r.policy()
}

// approvalRecord, permissionRecord and assignmentRecord store the public
// types as they are, with the version beside them.
type approvalRecord struct {
	V        int      `cbor:"v"`
	Approval Approval `cbor:"approval"`
}

type permissionRecord struct {
	V          int        `cbor:"v"`
	Permission Permission `cbor:"permission"`
}

type assignmentRecord struct {
	V          int        `cbor:"v"`
	Assignment Assignment `cbor:"assignment"`
}

type changeRecord struct {
	V          int           `cbor:"v"`
	ID         string        `cbor:"id"`
	Kind       ChangeKind    `cbor:"kind"`
	Initiator  string        `cbor:"initiator"`
	Status     ChangeStatus  `cbor:"status"`
	Policy     *policyRecord `cbor:"policy,omitempty"`
	Permission *Permission   `cbor:"permission,omitempty"`
	Assignment *Assignment   `cbor:"assignment,omitempty"`
	ApprovalID string        `cbor:"approvalId,omitempty"`
	Reason     string        `cbor:"reason,omitempty"`
	CreatedAt  int64         `cbor:"created"`
	ResolvedAt int64         `cbor:"resolved"`
}

func encodeChange(c *Change) ([]byte, error) {
	r := changeRecord{
		V: schemaVersion, ID: c.ID, Kind: c.Kind, Initiator: c.Initiator, Status: c.Status,
		Permission: c.Permission, Assignment: c.Assignment, ApprovalID: c.ApprovalID,
		Reason: c.Reason, CreatedAt: unixNano(c.CreatedAt), ResolvedAt: unixNano(c.ResolvedAt),
	}
	if c.Policy != nil {
		pr, err := toPolicyRecord(c.Policy)
		if err != nil {
			return nil, err
		}
		r.Policy = pr
	}
	return marshal(&r)
}

func decodeChange(b []byte) (Change, error) {
	var r changeRecord
	if err := unmarshal(b, &r); err != nil {
		return Change{}, err
	}
	if err := checkVersion(r.V); err != nil {
		return Change{}, err
	}
	c := Change{
		ID: r.ID, Kind: r.Kind, Initiator: r.Initiator, Status: r.Status,
		Permission: r.Permission, Assignment: r.Assignment, ApprovalID: r.ApprovalID,
		Reason: r.Reason, CreatedAt: fromUnixNano(r.CreatedAt), ResolvedAt: fromUnixNano(r.ResolvedAt),
	}
	if r.Policy != nil {
		p, err := r.Policy.policy()
		if err != nil {
			return Change{}, err
		}
		c.Policy = &p
	}
	return c, nil
}

func encodeApproval(a *Approval) ([]byte, error) {
	return marshal(&approvalRecord{V: schemaVersion, Approval: *a})
}

func decodeApproval(b []byte) (Approval, error) {
	var r approvalRecord
	if err := unmarshal(b, &r); err != nil {
		return Approval{}, err
	}
	return r.Approval, checkVersion(r.V)
}

func encodePermission(p *Permission) ([]byte, error) {
	return marshal(&permissionRecord{V: schemaVersion, Permission: *p})
}

func decodePermission(b []byte) (Permission, error) {
	var r permissionRecord
	if err := unmarshal(b, &r); err != nil {
		return Permission{}, err
	}
	return r.Permission, checkVersion(r.V)
}

func encodeAssignment(a *Assignment) ([]byte, error) {
	return marshal(&assignmentRecord{V: schemaVersion, Assignment: *a})
}

func decodeAssignment(b []byte) (Assignment, error) {
	var r assignmentRecord
	if err := unmarshal(b, &r); err != nil {
		return Assignment{}, err
	}
	return r.Assignment, checkVersion(r.V)
}
