package policy

import (
	"strconv"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// ExpressionVariables returns the variables an Expression rule sees, by
// name and CEL type. The expression must be of type bool.
//
// amount is bound only when the amount is known (not a raw hash, not nil)
// and fits a uint64; an expression that reads it otherwise fails to
// evaluate, and so triggers. Test amount_known first to avoid that, e.g.
// `amount_known && amount > 1000000`. recipient is "" when unknown. Integers
// compare across int and uint, so `amount > 5` type-checks.
func ExpressionVariables() map[string]string {
	return map[string]string{
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
}

// Limits on expressions, so a policy cannot make evaluation slow.
const (
	// MaxExpressionLength is the longest CEL source accepted, in bytes.
	MaxExpressionLength = 4096
	// MaxExpressionCost bounds the worst-case CEL cost of an expression,
	// estimated when the policy is created for activities within
	// MaxWalletTags and MaxActivityField (one unit is roughly one
	// comparison). Bounding it statically spares every evaluation the
	// runtime cost tracking.
	MaxExpressionCost = 10_000
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
	est, err := env.EstimateCost(ast, celSizes{})
	if err != nil {
		return nil, invalid("CEL", "cost cannot be estimated: %v", err)
	}
	if est.Max > MaxExpressionCost {
		return nil, invalid("CEL", "may cost up to %d to evaluate, more than %d", est.Max, MaxExpressionCost)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, invalid("CEL", "cannot be planned: %v", err)
	}
	return prg, nil
}

// celSizes tells the cost estimator how large the variables can be: the
// bounds Activity.validate enforces.
type celSizes struct{}

func (celSizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

func (celSizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	switch p := n.Path(); {
	case len(p) == 0:
		return nil
	case p[0] == "wallet_tags" && len(p) == 1:
		return &cost.SizeEstimate{Max: MaxWalletTags}
	default: // strings, and the tags' items
		return &cost.SizeEstimate{Max: MaxActivityField}
	}
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
	prg     cel.Program
	quoted  string // `Expression "…"`
	isTrue  string // the reasons, built once
	isFalse string
}

func (r Expression) compile(c *compiler) (evaluator, error) {
	prg, err := c.programs.get(r.CEL)
	if err != nil {
		return nil, err
	}
	q := "Expression " + strconv.Quote(r.CEL)
	return &expressionEval{prg: prg, quoted: q, isTrue: q + " is true", isFalse: q + " is false"}, nil
}

func (e *expressionEval) evaluate(s *evalState) (bool, string, error) {
	if s.cel == nil {
		s.cel = newCELActivation(s.activity)
	}
	out, _, err := e.prg.Eval(s.cel)
	switch {
	case err != nil:
		return true, e.quoted + " could not be evaluated: " + err.Error(), nil
	case out == types.True:
		return true, e.isTrue, nil
	case out == types.False:
		return false, e.isFalse, nil
	}
	// Unreachable for a type-checked bool expression; fail closed anyway.
	return true, e.quoted + " did not yield a bool", nil
}

// celActivation resolves the variables of ExpressionVariables from an
// activity. Values are boxed once per evaluation, not once per read.
type celActivation struct {
	vars [len(celVarNames)]any
	// hasAmount is false when amount is unbound (unknown or over uint64).
	hasAmount bool
}

var celVarNames = [...]string{
	"kind", "initiator", "wallet_id", "wallet_tags", "network", "asset",
	"amount", "amount_known", "recipient", "recipient_known", "payload",
}

const celAmount = 6 // index of "amount" in celVarNames

var _ interpreter.Activation = (*celActivation)(nil)

func newCELActivation(a *Activity) *celActivation {
	tags := a.WalletTags
	if tags == nil {
		tags = []string{}
	}
	recipient := ""
	if a.recipientKnown() {
		recipient = a.Recipient
	}
	c := &celActivation{vars: [...]any{
		string(a.Kind), a.Initiator, a.WalletID, tags, a.Network, a.Asset,
		nil, a.amountKnown(), recipient, a.recipientKnown(), string(a.Payload),
	}}
	if a.amountKnown() && a.Amount.IsUint64() {
		c.vars[celAmount], c.hasAmount = a.Amount.Uint64(), true
	}
	return c
}

func (c *celActivation) ResolveName(name string) (any, bool) {
	for i, n := range celVarNames {
		if n == name {
			if i == celAmount && !c.hasAmount {
				return nil, false
			}
			return c.vars[i], true
		}
	}
	return nil, false
}

func (c *celActivation) Parent() interpreter.Activation { return nil }
