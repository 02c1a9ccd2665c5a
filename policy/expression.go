package policy

import (
	"strconv"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// ExpressionVariables documents the variables an Expression rule sees, by
// name and CEL type. The expression must be of type bool.
//
// amount is bound only when the amount is known (not a raw hash, not nil)
// and fits a uint64; an expression that reads it otherwise fails to
// evaluate, and so triggers. Test amount_known first to avoid that, e.g.
// `amount_known && amount > 1000000`. recipient is "" when unknown. Integers
// compare across int and uint, so `amount > 5` type-checks.
var ExpressionVariables = map[string]string{
	"kind":            "string",
	"initiator":       "string",
	"wallet_id":       "string",
	"wallet_tags":     "list(string)",
	"network":         "string",
	"asset":           "string",
	"amount":          "uint",
	"amount_known":    "bool",
	"recipient":       "string",
	"recipient_known": "bool",
	"payload":         "string",
}

// Limits on expressions, so a policy cannot make evaluation slow.
const (
	// MaxExpressionLength is the longest CEL source accepted, in bytes.
	MaxExpressionLength = 4096
	// maxExpressionCost bounds the CEL runtime cost of one evaluation.
	maxExpressionCost = 10_000
	// maxCachedPrograms bounds the compiled-program cache.
	maxCachedPrograms = 4096
)

var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("kind", cel.StringType),
		cel.Variable("initiator", cel.StringType),
		cel.Variable("wallet_id", cel.StringType),
		cel.Variable("wallet_tags", cel.ListType(cel.StringType)),
		cel.Variable("network", cel.StringType),
		cel.Variable("asset", cel.StringType),
		cel.Variable("amount", cel.UintType),
		cel.Variable("amount_known", cel.BoolType),
		cel.Variable("recipient", cel.StringType),
		cel.Variable("recipient_known", cel.BoolType),
		cel.Variable("payload", cel.StringType),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(MaxExpressionLength),
		cel.ParserRecursionLimit(100),
	)
})

// compileExpression parses, type-checks and plans src. Errors are
// *ValidationError for field "CEL".
func compileExpression(src string) (cel.Program, error) {
	if src == "" {
		return nil, invalid("CEL", "is empty")
	}
	if len(src) > MaxExpressionLength {
		return nil, invalid("CEL", "is longer than %d bytes", MaxExpressionLength)
	}
	env, err := celEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, invalid("CEL", "does not compile: %v", iss.Err())
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, invalid("CEL", "is of type %s, not bool", ast.OutputType())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(maxExpressionCost))
	if err != nil {
		return nil, invalid("CEL", "cannot be planned: %v", err)
	}
	return prg, nil
}

// programCache keeps compiled programs by source, so reloading the policy
// set does not recompile. cel.Program is safe for concurrent use.
type programCache struct {
	mu       sync.Mutex
	programs map[string]cel.Program
}

func (c *programCache) get(src string) (cel.Program, error) {
	c.mu.Lock()
	prg, ok := c.programs[src]
	c.mu.Unlock()
	if ok {
		return prg, nil
	}
	prg, err := compileExpression(src)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.programs == nil || len(c.programs) >= maxCachedPrograms {
		c.programs = make(map[string]cel.Program)
	}
	c.programs[src] = prg
	return prg, nil
}

type expressionEval struct {
	src string
	prg cel.Program
}

func (r Expression) compile(c *compiler) (evaluator, error) {
	prg, err := c.programs.get(r.CEL)
	if err != nil {
		return nil, err
	}
	return &expressionEval{src: r.CEL, prg: prg}, nil
}

func (e *expressionEval) evaluate(s *evalState) (bool, string, error) {
	if s.cel == nil {
		s.cel = newCELActivation(s.activity)
	}
	out, _, err := e.prg.Eval(s.cel)
	if err != nil {
		return true, "Expression " + strconv.Quote(e.src) + " could not be evaluated: " + err.Error(), nil
	}
	if out == types.True {
		return true, "Expression " + strconv.Quote(e.src) + " is true", nil
	}
	if out == types.False {
		return false, "Expression " + strconv.Quote(e.src) + " is false", nil
	}
	// Unreachable for a type-checked bool expression; fail closed anyway.
	return true, "Expression " + strconv.Quote(e.src) + " did not yield a bool", nil
}

// celActivation resolves the variables of ExpressionVariables from an
// activity without building a map per evaluation.
type celActivation struct {
	a      *Activity
	amount uint64
	hasAmt bool
}

var _ interpreter.Activation = (*celActivation)(nil)

func newCELActivation(a *Activity) *celActivation {
	act := &celActivation{a: a}
	if a.amountKnown() && a.Amount.IsUint64() {
		act.amount, act.hasAmt = a.Amount.Uint64(), true
	}
	return act
}

func (c *celActivation) ResolveName(name string) (any, bool) {
	a := c.a
	switch name {
	case "kind":
		return string(a.Kind), true
	case "initiator":
		return a.Initiator, true
	case "wallet_id":
		return a.WalletID, true
	case "wallet_tags":
		if a.WalletTags == nil {
			return []string{}, true
		}
		return a.WalletTags, true
	case "network":
		return a.Network, true
	case "asset":
		return a.Asset, true
	case "amount":
		return c.amount, c.hasAmt
	case "amount_known":
		return a.amountKnown(), true
	case "recipient":
		if !a.recipientKnown() {
			return "", true
		}
		return a.Recipient, true
	case "recipient_known":
		return a.recipientKnown(), true
	case "payload":
		return string(a.Payload), true
	}
	return nil, false
}

func (c *celActivation) Parent() interpreter.Activation { return nil }
