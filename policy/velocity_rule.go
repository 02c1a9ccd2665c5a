package policy

import (
	"math/big"
	"strconv"
	"time"
)

// window returns the totals of the activity's wallet history within the last
// tf (now excluded from nothing: the window is (now−tf, now]), memoised per
// timeframe.
func (s *evalState) window(tf time.Duration) (*windowResult, error) {
	if w, ok := s.windows[tf]; ok {
		return w, nil
	}
	end := s.now.UnixNano()
	w, err := queryWindow(s.tx, s.activity.WalletID, end-int64(tf)+1, end)
	if err != nil {
		return nil, err
	}
	if s.windows == nil {
		s.windows = make(map[time.Duration]*windowResult)
	}
	s.windows[tf] = w
	return w, nil
}

type countVelocityEval struct {
	limit     int64
	timeframe time.Duration
	suffix    string // ") in the last 1 hour is above limit ("
}

func (r TransactionCountVelocity) compile(*compiler) (evaluator, error) {
	return &countVelocityEval{
		limit:     r.Limit,
		timeframe: r.Timeframe,
		suffix:    ") in the last " + formatTimeframe(r.Timeframe),
	}, nil
}

func (e *countVelocityEval) evaluate(s *evalState) (bool, string, error) {
	w, err := s.window(e.timeframe)
	if err != nil {
		return false, "", err
	}
	n := w.count + 1 // this activity counts
	limit := strconv.FormatInt(e.limit, 10)
	shown := "Number of transactions (" + strconv.FormatUint(n, 10) + e.suffix
	if n > uint64(e.limit) {
		return true, shown + " is above limit (" + limit + ")", nil
	}
	return false, shown + " is within limit (" + limit + ")", nil
}

type amountVelocityEval struct {
	limit     *big.Rat
	currency  string
	timeframe time.Duration
	shown     string
	window    string // "in the last 24 hours"
}

func (r TransactionAmountVelocity) compile(*compiler) (evaluator, error) {
	limit, err := parseDecimal(r.Limit)
	if err != nil {
		return nil, invalid("Limit", "%q %v", r.Limit, err)
	}
	return &amountVelocityEval{
		limit:     limit,
		currency:  r.Currency,
		timeframe: r.Timeframe,
		shown:     formatMoney(limit, r.Currency),
		window:    "in the last " + formatTimeframe(r.Timeframe),
	}, nil
}

func (e *amountVelocityEval) evaluate(s *evalState) (bool, string, error) {
	v := s.value(e.currency)
	if v.value == nil {
		return true, v.unknown + " (velocity limit " + e.shown + " " + e.window + ")", nil
	}
	w, err := s.window(e.timeframe)
	if err != nil {
		return false, "", err
	}
	if w.unknown > 0 {
		return true, "Value sent " + e.window + " is unknown: " +
			strconv.FormatUint(w.unknown, 10) + " earlier activities have an unknown amount", nil
	}
	total := new(big.Rat).Set(v.value)
	for _, asset := range w.assets() {
		p, why := s.price(asset, e.currency)
		if why != "" {
			return true, "Value sent " + e.window + " is unknown: " + why, nil
		}
		total.Add(total, p.Value(w.sums[asset]))
	}
	shown := "Value sent " + e.window + " (" + formatMoney(total, e.currency) + ")"
	if total.Cmp(e.limit) > 0 {
		return true, shown + " is above limit (" + e.shown + ")", nil
	}
	return false, shown + " is within limit (" + e.shown + ")", nil
}
