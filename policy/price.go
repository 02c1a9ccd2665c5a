package policy

import (
	"context"
	"fmt"
	"math/big"
)

// PriceSource values assets in fiat currencies for the value rules. It must
// be safe for concurrent use. An error (ErrNoPrice or any other) makes every
// value rule that needs the price trigger: value rules fail closed.
type PriceSource interface {
	// Price returns the price of asset in currency (an ISO 4217 code, e.g.
	// "USD"), or an error wrapping ErrNoPrice if it has none.
	Price(ctx context.Context, asset, currency string) (Price, error)
}

// Price is the exact value of an asset's smallest unit in a fiat currency.
// The zero Price is invalid (and treated as no price); make one with
// NewPrice.
type Price struct {
	perSmallest *big.Rat
}

// NewPrice returns the price of an asset whose whole unit is worth perUnit
// (a plain decimal string, e.g. "3456.78") and has decimals decimal places
// (18 for ETH, 8 for BTC), so that one smallest unit is worth
// perUnit / 10^decimals.
func NewPrice(perUnit string, decimals uint8) (Price, error) {
	r, err := parseDecimal(perUnit)
	if err != nil {
		return Price{}, invalid("Price.PerUnit", "%q %v", perUnit, err)
	}
	if decimals > 77 {
		return Price{}, invalid("Price.Decimals", "%d is more than 77", decimals)
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)
	r.Quo(r, new(big.Rat).SetInt(scale))
	return Price{perSmallest: r}, nil
}

// Valid reports whether p was made by NewPrice.
func (p Price) Valid() bool { return p.perSmallest != nil }

// Value returns the exact value of amount smallest units. p must be valid.
func (p Price) Value(amount *big.Int) *big.Rat {
	v := new(big.Rat).SetInt(amount)
	return v.Mul(v, p.perSmallest)
}

// StaticPrice is one entry of a StaticPrices table.
type StaticPrice struct {
	Asset    string
	Currency string
	// PerUnit and Decimals are as for NewPrice.
	PerUnit  string
	Decimals uint8
}

// StaticPrices is a fixed price table, for tests, examples and integrators
// who refresh prices by building a new table. It is immutable and safe for
// concurrent use.
type StaticPrices struct {
	prices map[[2]string]Price
}

// NewStaticPrices builds a table; a duplicate (asset, currency) pair, an
// invalid currency or an invalid price is an error.
func NewStaticPrices(entries ...StaticPrice) (*StaticPrices, error) {
	t := &StaticPrices{prices: make(map[[2]string]Price, len(entries))}
	for i, e := range entries {
		field := fmt.Sprintf("StaticPrices[%d]", i)
		if e.Asset == "" {
			return nil, invalid(field+".Asset", "is empty")
		}
		if !validCurrency(e.Currency) {
			return nil, invalid(field+".Currency", "%q is not an ISO 4217 code", e.Currency)
		}
		k := [2]string{e.Asset, e.Currency}
		if _, dup := t.prices[k]; dup {
			return nil, invalid(field, "duplicate price for %s in %s", e.Asset, e.Currency)
		}
		p, err := NewPrice(e.PerUnit, e.Decimals)
		if err != nil {
			return nil, within(field, err)
		}
		t.prices[k] = p
	}
	return t, nil
}

// Price implements PriceSource.
func (t *StaticPrices) Price(_ context.Context, asset, currency string) (Price, error) {
	p, ok := t.prices[[2]string{asset, currency}]
	if !ok {
		return Price{}, fmt.Errorf("%w for %q in %s", ErrNoPrice, asset, currency)
	}
	return p, nil
}
