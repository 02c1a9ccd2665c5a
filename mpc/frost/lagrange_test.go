package frost

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// TestLagrangeMatchesCurve checks the math/big coefficients against
// curve.Lagrange and the interpolation identity at other points.
func TestLagrangeMatchesCurve(t *testing.T) {
	t.Parallel()
	for _, c := range []curve.Curve{curve.Secp256k1, curve.Edwards25519} {
		for _, set := range [][]round.PartyID{{1}, {1, 2}, {2, 5, 9}, {1, 3, 4, 7, 65535}} {
			ls := lagrangeAt(c, set, 0)
			raw := make([]uint16, len(set))
			for i, id := range set {
				raw[i] = uint16(id)
			}
			sum := c.NewScalar()
			for i, id := range set {
				want, err := curve.Lagrange(c, uint16(id), raw)
				require.NoError(t, err)
				assert.True(t, want.Equal(ls[i]), "%s %v λ_%d", c.Name(), set, id)
				sum = sum.Add(ls[i])
			}
			assert.True(t, sum.Equal(c.ScalarFromUint64(1)), "coefficients at 0 sum to 1")
			// Interpolating f(x) = 3 + 5x + 7x² (degree < 3 only when |set| ≥ 3).
			if len(set) >= 3 {
				coeffs := []curve.Scalar{c.ScalarFromUint64(3), c.ScalarFromUint64(5), c.ScalarFromUint64(7)}
				for _, x := range []round.PartyID{0, 6, 1000} {
					acc := c.NewScalar()
					for i, l := range lagrangeAt(c, set, x) {
						acc = acc.Add(l.Mul(curve.EvalPolynomial(c, coeffs, c.ScalarFromUint64(uint64(set[i])))))
					}
					assert.True(t, acc.Equal(curve.EvalPolynomial(c, coeffs, c.ScalarFromUint64(uint64(x)))), "%s f(%d)", c.Name(), x)
				}
			}
		}
	}
}
