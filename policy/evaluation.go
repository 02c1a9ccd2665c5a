package policy

import (
	"context"
	"math/big"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// evaluator is a compiled rule.
type evaluator interface {
	// evaluate reports whether the rule triggers and why. An error means
	// the evaluation itself failed (the store, the context) and aborts the
	// whole Evaluate; a rule that cannot know something triggers instead.
	evaluate(s *evalState) (triggered bool, reason string, err error)
}

// compiler holds what compiling rules needs.
type compiler struct {
	programs *programCache
}

// evalState is one evaluation of one activity against the policy set. It
// memoises what several policies need: the activity's value per currency and
// the velocity windows.
type evalState struct {
	ctx      context.Context
	tx       store.Tx
	activity *Activity
	now      time.Time
	prices   PriceSource

	values  memo[string, valueResult]
	windows memo[time.Duration, *windowResult]
	totals  memo[totalKey, valueResult]
	newest  int64         // the wallet's newest history day; -1: none; 0: not read yet
	own     *historyEntry // the activity's own history entry, left out of windows (Recheck)
	cel     *celActivation
	quoted  string // the recipient, quoted, once needed
}

// totalKey names a velocity total: the value sent in one window, in one
// currency.
type totalKey struct {
	timeframe time.Duration
	currency  string
}

// valueResult is a value in one currency, or why it is unknown.
type valueResult struct {
	value   *big.Rat // nil when unknown
	shown   string   // value as reasons show it
	unknown string
}

// value returns the activity's value in currency, memoised.
func (s *evalState) value(currency string) valueResult {
	if r, ok := s.values.get(currency); ok {
		return r
	}
	r := s.computeValue(currency)
	s.values.put(currency, r)
	return r
}

func (s *evalState) computeValue(currency string) valueResult {
	a := s.activity
	switch {
	case a.Payload == PayloadHash:
		return valueResult{unknown: "value is unknown: the payload is a raw hash"}
	case a.Amount == nil:
		return valueResult{unknown: "value is unknown: the amount is unknown"}
	case a.Amount.Sign() == 0:
		return valueResult{value: new(big.Rat), shown: formatMoney(new(big.Rat), currency)}
	}
	p, why := s.price(a.Asset, currency)
	if why != "" {
		return valueResult{unknown: why}
	}
	v := p.Value(a.Amount)
	return valueResult{value: v, shown: formatMoney(v, currency)}
}

// price looks up a price; on failure it returns the reason the value is
// unknown.
func (s *evalState) price(asset, currency string) (Price, string) {
	if s.prices == nil {
		return Price{}, "value is unknown: no price source is configured"
	}
	p, err := s.prices.Price(s.ctx, asset, currency)
	if err != nil {
		return Price{}, "value is unknown: " + err.Error()
	}
	if !p.Valid() {
		return Price{}, "value is unknown: the price source returned an invalid price for " + asset
	}
	return p, ""
}

// memo is a small associative list: an evaluation memoises a handful of
// currencies and timeframes, for which a slice beats a map.
type memo[K comparable, V any] struct {
	keys []K
	vals []V
}

func (m *memo[K, V]) get(k K) (V, bool) {
	for i := range m.keys {
		if m.keys[i] == k {
			return m.vals[i], true
		}
	}
	var zero V
	return zero, false
}

func (m *memo[K, V]) put(k K, v V) {
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}
