package policy

import (
	"math/big"
	"strconv"
	"time"
)

// window returns the totals of the activity's wallet history within the last
// tf, the window (now−tf, now], memoised per timeframe, without the
// activity's own entry if it is being rechecked.
func (s *evalState) window(tf time.Duration) (*windowResult, error) {
	if w, ok := s.windows.get(tf); ok {
		return w, nil
	}
	if s.newest == 0 {
		d, err := newestDay(s.tx, s.activity.WalletID)
		if err != nil {
			return nil, err
		}
		s.newest = d
	}
	end := s.now.UnixNano()
	start := end - int64(tf) + 1
	w := &windowResult{}
	if s.newest >= 0 && s.newest >= start/dayNs {
		var err error
		if w, err = queryWindow(s.tx, s.activity.WalletID, start, end); err != nil {
			return nil, err
		}
	}
	if s.own != nil && s.own.ns >= start && s.own.ns <= end {
		if err := w.remove(s.own); err != nil {
			return nil, err
		}
	}
	s.windows.put(tf, w)
	return w, nil
}

type countVelocityEval struct {
	limit     int64
	timeframe time.Duration
	// Reason parts, built once: "Number of transactions (" n + above/within.
	above, within string
}

func (r TransactionCountVelocity) compile(*compiler) (evaluator, error) {
	mid := ") in the last " + formatTimeframe(r.Timeframe)
	limit := strconv.FormatInt(r.Limit, 10)
	return &countVelocityEval{
		limit:     r.Limit,
		timeframe: r.Timeframe,
		above:     mid + " is above limit (" + limit + ")",
		within:    mid + " is within limit (" + limit + ")",
	}, nil
}

func (e *countVelocityEval) evaluate(s *evalState) (bool, string, error) {
	w, err := s.window(e.timeframe)
	if err != nil {
		return false, "", err
	}
	n := w.count + 1 // this activity counts
	if w.countText == "" {
		w.countText = "Number of transactions (" + strconv.FormatUint(n, 10)
	}
	if n > uint64(e.limit) {
		return true, w.countText + e.above, nil
	}
	return false, w.countText + e.within, nil
}

type amountVelocityEval struct {
	limit     *big.Rat
	currency  string
	timeframe time.Duration
	// Reason parts, built once.
	prefix, above, within, unknown string
}

func (r TransactionAmountVelocity) compile(*compiler) (evaluator, error) {
	limit, err := parseDecimal(r.Limit)
	if err != nil {
		return nil, invalid("Limit", "%q %v", r.Limit, err)
	}
	shown, window := formatMoney(limit, r.Currency), "in the last "+formatTimeframe(r.Timeframe)
	return &amountVelocityEval{
		limit:     limit,
		currency:  r.Currency,
		timeframe: r.Timeframe,
		prefix:    "Value sent " + window + " (",
		above:     ") is above limit (" + shown + ")",
		within:    ") is within limit (" + shown + ")",
		unknown:   " (velocity limit " + shown + " " + window + ")",
	}, nil
}

func (e *amountVelocityEval) evaluate(s *evalState) (bool, string, error) {
	t, err := s.total(e.timeframe, e.currency)
	if err != nil {
		return false, "", err
	}
	switch {
	case t.value == nil:
		return true, t.unknown + e.unknown, nil
	case cmpRat(t.value, e.limit) > 0:
		return true, e.prefix + t.shown + e.above, nil
	}
	return false, e.prefix + t.shown + e.within, nil
}

// total returns the value of the activity plus the wallet's history within
// the last tf, in currency, or why it is unknown; memoised.
func (s *evalState) total(tf time.Duration, currency string) (valueResult, error) {
	k := totalKey{tf, currency}
	if r, ok := s.totals.get(k); ok {
		return r, nil
	}
	r, err := s.computeTotal(tf, currency)
	if err != nil {
		return valueResult{}, err
	}
	s.totals.put(k, r)
	return r, nil
}

func (s *evalState) computeTotal(tf time.Duration, currency string) (valueResult, error) {
	v := s.value(currency)
	if v.value == nil {
		return v, nil
	}
	w, err := s.window(tf)
	if err != nil {
		return valueResult{}, err
	}
	if w.unknown > 0 {
		return valueResult{unknown: "value sent is unknown: " +
			strconv.FormatUint(w.unknown, 10) + " earlier activities have an unknown amount"}, nil
	}
	if len(w.sums) == 0 {
		return v, nil // nothing else sent in the window
	}
	total := new(big.Rat).Set(v.value)
	for _, as := range w.sums {
		p, why := s.price(as.asset, currency)
		if why != "" {
			return valueResult{unknown: "value sent is unknown: " + why}, nil
		}
		total.Add(total, p.Value(as.sum))
	}
	return valueResult{value: total, shown: formatMoney(total, currency)}, nil
}
