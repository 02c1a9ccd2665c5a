package policy

import (
	"math/big"
	"strconv"
	"time"
)

// Evaluators of the rules that read only the activity (and prices). The
// velocity rules are in velocity_rule.go, Expression in expression.go.

type alwaysEval struct{}

func (AlwaysTrigger) compile(*compiler) (evaluator, error) { return alwaysEval{}, nil }

func (alwaysEval) evaluate(*evalState) (bool, string, error) {
	return true, "AlwaysTrigger", nil
}

type amountLimitEval struct {
	limit    *big.Rat
	currency string
	// Reason parts, built once.
	above, within, unknown string
}

func (r TransactionAmountLimit) compile(*compiler) (evaluator, error) {
	limit, err := parseDecimal(r.Limit)
	if err != nil {
		return nil, invalid("Limit", "%q %v", r.Limit, err)
	}
	shown := formatMoney(limit, r.Currency)
	return &amountLimitEval{
		limit:    limit,
		currency: r.Currency,
		above:    ") is above limit (" + shown + ")",
		within:   ") is within limit (" + shown + ")",
		unknown:  " (limit " + shown + ")",
	}, nil
}

func (e *amountLimitEval) evaluate(s *evalState) (bool, string, error) {
	v := s.value(e.currency)
	switch {
	case v.value == nil:
		return true, v.unknown + e.unknown, nil
	case cmpRat(v.value, e.limit) > 0:
		return true, "Amount (" + v.shown + e.above, nil
	}
	return false, "Amount (" + v.shown + e.within, nil
}

type whitelistEval struct {
	addresses map[string]struct{}
}

func (r TransactionRecipientWhitelist) compile(*compiler) (evaluator, error) {
	m := make(map[string]struct{}, len(r.Addresses))
	for _, a := range r.Addresses {
		m[a] = struct{}{}
	}
	return &whitelistEval{addresses: m}, nil
}

func (e *whitelistEval) evaluate(s *evalState) (bool, string, error) {
	a := s.activity
	switch {
	case a.Payload == PayloadHash:
		return true, "Recipient is unknown: the payload is a raw hash", nil
	case a.Recipient == "":
		return true, "Recipient is unknown", nil
	}
	if s.quoted == "" {
		s.quoted = "Recipient " + strconv.Quote(a.Recipient)
	}
	if _, ok := e.addresses[a.Recipient]; ok {
		return false, s.quoted + " is whitelisted", nil
	}
	return true, s.quoted + " is not whitelisted", nil
}

// formatTimeframe renders a timeframe for reasons: "24h0m0s" reads badly.
func formatTimeframe(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	}
	return d.String()
}

func plural(n int64, unit string) string {
	s := strconv.FormatInt(n, 10) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}
