package policy

import (
	"fmt"
	"slices"
	"time"
)

// Status is the life state of a policy or permission.
type Status string

// The statuses. Archived objects are kept, for audit, but no longer apply.
const (
	Active   Status = "Active"
	Archived Status = "Archived"
)

// Policy applies a rule to every activity of one kind that its filters
// match, and takes its action when the rule triggers.
type Policy struct {
	// ID is assigned by the engine when the policy is created.
	ID string
	// Name is for humans and reasons; not empty.
	Name string
	// ActivityKind is the kind of activity the policy applies to. It cannot
	// change once the policy exists.
	ActivityKind ActivityKind
	Rule         Rule
	Action       Action
	Filters      Filters
	// Status, CreatedAt and UpdatedAt are set by the engine.
	Status    Status
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Filters narrow the activities a policy applies to. Each non-empty field is
// one filter, and all of them must match (AND); no filter at all matches
// every activity of the policy's kind. An activity without a wallet matches
// no wallet filter.
type Filters struct {
	// WalletIDs matches an activity on any of these wallets.
	WalletIDs []string
	// WalletTagsAny matches a wallet that has at least one of these tags.
	WalletTagsAny []string
	// WalletTagsAll matches a wallet that has every one of these tags.
	WalletTagsAll []string
}

// Validate checks everything about p that does not depend on the store:
// name, kind, rule configuration (including compiling an Expression),
// action, filters. The error is a *ValidationError. A rule or action given
// as a pointer (&AlwaysTrigger{}) is replaced by its value.
func (p *Policy) Validate() error {
	p.normalize()
	if p.Name == "" {
		return invalid("Name", "is empty")
	}
	if !p.ActivityKind.Valid() {
		return invalid("ActivityKind", "unknown activity kind %q", p.ActivityKind)
	}
	if p.Rule == nil {
		return invalid("Rule", "is missing")
	}
	if err := p.Rule.validate(p.ActivityKind); err != nil {
		return within("Rule", err)
	}
	if p.Action == nil {
		return invalid("Action", "is missing")
	}
	if err := p.Action.validate(); err != nil {
		return within("Action", err)
	}
	if err := p.Filters.validate(); err != nil {
		return within("Filters", err)
	}
	if !p.Filters.empty() && p.ActivityKind.isChange() {
		return invalid("Filters", "%s activities have no wallet to filter on", p.ActivityKind)
	}
	return nil
}

func (f *Filters) empty() bool {
	return len(f.WalletIDs) == 0 && len(f.WalletTagsAny) == 0 && len(f.WalletTagsAll) == 0
}

func (f Filters) validate() error {
	for _, list := range [...]struct {
		name   string
		values []string
	}{{"WalletIDs", f.WalletIDs}, {"WalletTagsAny", f.WalletTagsAny}, {"WalletTagsAll", f.WalletTagsAll}} {
		for i, v := range list.values {
			if v == "" {
				return invalid(fmt.Sprintf("%s[%d]", list.name, i), "is empty")
			}
		}
	}
	return nil
}

// match reports whether the filters select a.
func (f *Filters) match(a *Activity) bool {
	if len(f.WalletIDs) > 0 && !slices.Contains(f.WalletIDs, a.WalletID) {
		return false
	}
	if len(f.WalletTagsAny) > 0 && !slices.ContainsFunc(f.WalletTagsAny, func(t string) bool {
		return slices.Contains(a.WalletTags, t)
	}) {
		return false
	}
	for _, t := range f.WalletTagsAll {
		if !slices.Contains(a.WalletTags, t) {
			return false
		}
	}
	return true
}

// clone returns a deep copy of p. Rules and actions are values whose only
// reference fields are slices, copied here.
func (p Policy) clone() Policy {
	p.Filters = Filters{
		WalletIDs:     slices.Clone(p.Filters.WalletIDs),
		WalletTagsAny: slices.Clone(p.Filters.WalletTagsAny),
		WalletTagsAll: slices.Clone(p.Filters.WalletTagsAll),
	}
	if r, ok := p.Rule.(TransactionRecipientWhitelist); ok {
		p.Rule = TransactionRecipientWhitelist{Addresses: slices.Clone(r.Addresses)}
	}
	if a, ok := p.Action.(RequestApproval); ok {
		p.Action = a.clone()
	}
	return p
}

func (r RequestApproval) clone() RequestApproval {
	r.Groups = slices.Clone(r.Groups)
	for i := range r.Groups {
		r.Groups[i].Approvers = slices.Clone(r.Groups[i].Approvers)
	}
	return r
}

// normalize turns a pointer rule or action (*AlwaysTrigger, *Block, …) into
// its value, so that both spellings are accepted and stored alike. A nil
// pointer becomes nil.
func (p *Policy) normalize() {
	switch r := p.Rule.(type) {
	case *AlwaysTrigger:
		p.Rule = derefRule(r)
	case *TransactionAmountLimit:
		p.Rule = derefRule(r)
	case *TransactionAmountVelocity:
		p.Rule = derefRule(r)
	case *TransactionCountVelocity:
		p.Rule = derefRule(r)
	case *TransactionRecipientWhitelist:
		p.Rule = derefRule(r)
	case *Expression:
		p.Rule = derefRule(r)
	}
	switch a := p.Action.(type) {
	case *Block:
		p.Action = derefAction(a)
	case *NoAction:
		p.Action = derefAction(a)
	case *RequestApproval:
		p.Action = derefAction(a)
	}
}

func derefRule[T Rule](r *T) Rule {
	if r == nil {
		return nil
	}
	return *r
}

func derefAction[T Action](a *T) Action {
	if a == nil {
		return nil
	}
	return *a
}
