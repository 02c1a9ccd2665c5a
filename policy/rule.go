package policy

import (
	"fmt"
	"time"
)

// RuleKind names a rule type; it is how rules are stored.
type RuleKind string

// The rule kinds.
const (
	KindAlwaysTrigger                 RuleKind = "AlwaysTrigger"
	KindTransactionAmountLimit        RuleKind = "TransactionAmountLimit"
	KindTransactionAmountVelocity     RuleKind = "TransactionAmountVelocity"
	KindTransactionCountVelocity      RuleKind = "TransactionCountVelocity"
	KindTransactionRecipientWhitelist RuleKind = "TransactionRecipientWhitelist"
	KindExpression                    RuleKind = "Expression"
)

// Timeframe bounds of the velocity rules, inclusive.
const (
	MinTimeframe = time.Minute
	MaxTimeframe = 30 * 24 * time.Hour
)

// Rule decides whether a policy triggers for an activity. The rules are the
// types in this package whose names match the RuleKind constants; the
// interface is closed.
type Rule interface {
	// RuleKind names the rule.
	RuleKind() RuleKind
	// validate checks the configuration for a policy of activity kind k.
	validate(k ActivityKind) error
	// compile turns a valid configuration into its evaluator.
	compile(c *compiler) (evaluator, error)
}

// AlwaysTrigger triggers for every activity the policy's filters match.
type AlwaysTrigger struct{}

// TransactionAmountLimit triggers when the activity's value exceeds Limit.
// It fails closed: it triggers when the value cannot be known (unknown
// amount, a raw hash, no price source, no price).
type TransactionAmountLimit struct {
	// Limit is a non-negative plain decimal string in Currency, e.g. "10000"
	// or "2500.50". The rule triggers when value > Limit.
	Limit string
	// Currency is an ISO 4217 code, e.g. "USD".
	Currency string
}

// TransactionAmountVelocity triggers when the value of the activities signed
// from the same wallet within the last Timeframe, this one included, exceeds
// Limit. Past activities are valued at the price source's current price. It
// fails closed: an activity in the window (this one included) whose value
// cannot be known makes it trigger.
type TransactionAmountVelocity struct {
	// Limit and Currency are as for TransactionAmountLimit.
	Limit    string
	Currency string
	// Timeframe is between MinTimeframe and MaxTimeframe.
	Timeframe time.Duration
}

// TransactionCountVelocity triggers when the number of activities signed
// from the same wallet within the last Timeframe, this one included, exceeds
// Limit.
type TransactionCountVelocity struct {
	// Limit is non-negative.
	Limit int64
	// Timeframe is between MinTimeframe and MaxTimeframe.
	Timeframe time.Duration
}

// TransactionRecipientWhitelist triggers when the recipient is not one of
// Addresses, or cannot be known (a raw hash, an unparsed transaction).
// Addresses are compared exactly: normalise them (and the activity's
// recipient) the same way, e.g. lower-case for EVM.
type TransactionRecipientWhitelist struct {
	// Addresses is not empty and holds no empty string.
	Addresses []string
}

// Expression triggers when a CEL expression over the activity is true. It is
// compiled and type-checked (it must be of type bool) when the policy is
// created. An evaluation error (say, it reads amount when the amount is
// unknown) makes it trigger: it fails closed. The variables are listed in
// ExpressionVariables.
type Expression struct {
	CEL string
}

// RuleKind implements Rule.
func (AlwaysTrigger) RuleKind() RuleKind { return KindAlwaysTrigger }

// RuleKind implements Rule.
func (TransactionAmountLimit) RuleKind() RuleKind { return KindTransactionAmountLimit }

// RuleKind implements Rule.
func (TransactionAmountVelocity) RuleKind() RuleKind { return KindTransactionAmountVelocity }

// RuleKind implements Rule.
func (TransactionCountVelocity) RuleKind() RuleKind { return KindTransactionCountVelocity }

// RuleKind implements Rule.
func (TransactionRecipientWhitelist) RuleKind() RuleKind { return KindTransactionRecipientWhitelist }

// RuleKind implements Rule.
func (Expression) RuleKind() RuleKind { return KindExpression }

func (AlwaysTrigger) validate(ActivityKind) error { return nil }

func (r TransactionAmountLimit) validate(k ActivityKind) error {
	if err := transactionOnly(k); err != nil {
		return err
	}
	return validateMoney(r.Limit, r.Currency)
}

func (r TransactionAmountVelocity) validate(k ActivityKind) error {
	if err := transactionOnly(k); err != nil {
		return err
	}
	if err := validateMoney(r.Limit, r.Currency); err != nil {
		return err
	}
	return validateTimeframe(r.Timeframe)
}

func (r TransactionCountVelocity) validate(k ActivityKind) error {
	if err := transactionOnly(k); err != nil {
		return err
	}
	if r.Limit < 0 {
		return invalid("Limit", "%d is negative", r.Limit)
	}
	return validateTimeframe(r.Timeframe)
}

func (r TransactionRecipientWhitelist) validate(k ActivityKind) error {
	if err := transactionOnly(k); err != nil {
		return err
	}
	if len(r.Addresses) == 0 {
		return invalid("Addresses", "is empty (use AlwaysTrigger to match every recipient)")
	}
	for i, a := range r.Addresses {
		if a == "" {
			return invalid(fmt.Sprintf("Addresses[%d]", i), "is empty")
		}
	}
	return nil
}

func (r Expression) validate(ActivityKind) error {
	_, err := compileExpression(r.CEL)
	return err
}

func transactionOnly(k ActivityKind) error {
	if k != WalletsSign {
		return invalid("", "transaction rules apply only to %s activities, not %s", WalletsSign, k)
	}
	return nil
}

func validateMoney(limit, currency string) error {
	if _, err := parseDecimal(limit); err != nil {
		return invalid("Limit", "%q %v", limit, err)
	}
	if !validCurrency(currency) {
		return invalid("Currency", "%q is not an ISO 4217 code", currency)
	}
	return nil
}

func validateTimeframe(d time.Duration) error {
	if d < MinTimeframe || d > MaxTimeframe {
		return invalid("Timeframe", "%v is outside %v … %v", d, MinTimeframe, MaxTimeframe)
	}
	return nil
}
