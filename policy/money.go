package policy

import (
	"errors"
	"math/big"
	"strings"
)

// Fiat values are exact. A limit or a price is written as a plain decimal
// string ("10000", "3456.78", "0.00001234"): digits, at most one '.', no
// sign, no exponent. Inside the engine it is a *big.Rat, and a value is
// amount × price computed in rationals, so no rounding happens before a
// comparison. Only the reasons shown to humans round (to at most 6 decimals).

// maxDecimalDigits bounds decimal strings, so a hostile config cannot make
// arithmetic slow.
const maxDecimalDigits = 60

var errNegative = errors.New("is negative")

// parseDecimal parses a non-negative plain decimal string exactly.
func parseDecimal(s string) (*big.Rat, error) {
	if strings.HasPrefix(s, "-") {
		return nil, errNegative
	}
	if s == "" {
		return nil, errors.New("is empty")
	}
	if len(s) > maxDecimalDigits+1 {
		return nil, errors.New("has too many digits")
	}
	dot, digits := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return nil, errors.New("is not a plain decimal number (digits and at most one '.')")
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || digits == 0 {
		return nil, errors.New("is not a decimal number")
	}
	return r, nil
}

// validCurrency reports whether c looks like an ISO 4217 code.
func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// formatMoney renders an exact value for a reason: up to 6 decimals, at
// least 2, then the currency.
func formatMoney(r *big.Rat, currency string) string {
	s := r.FloatString(6)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		end := len(s)
		for end > i+3 && s[end-1] == '0' {
			end--
		}
		s = s[:end]
	}
	return s + " " + currency
}

// cmpRat compares x and y like x.Cmp(y), without allocating when both are
// integers (the common case: prices and limits are usually whole).
func cmpRat(x, y *big.Rat) int {
	if x.IsInt() && y.IsInt() {
		return x.Num().Cmp(y.Num())
	}
	return x.Cmp(y)
}
