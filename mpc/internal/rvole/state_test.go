package rvole

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/internal/ot"
)

func TestStateRoundTrip(t *testing.T) {
	t.Parallel()
	a, b := freshPair(t)
	ab, err := a.MarshalBinary()
	require.NoError(t, err)
	bb, err := b.MarshalBinary()
	require.NoError(t, err)
	a2, err := ParseAlice(ab)
	require.NoError(t, err)
	b2, err := ParseBob(bb)
	require.NoError(t, err)
	in := [L]curve.Scalar{randomScalar(t), randomScalar(t)}
	c, d, chi := run(t, a2, b2, randomSID(t), in)
	require.True(t, c[0].Add(d[0]).Equal(in[0].Mul(chi)))

	b2.banned.Store(true)
	bb, err = b2.MarshalBinary()
	require.NoError(t, err)
	b3, err := ParseBob(bb)
	require.NoError(t, err)
	assert.False(t, b3.Usable())

	for _, bad := range [][]byte{nil, {1}, bb[:len(bb)-1]} {
		_, err = ParseBob(bad)
		assert.ErrorIs(t, err, ot.ErrMalformedState)
		_, err = ParseAlice(bad)
		assert.ErrorIs(t, err, ot.ErrMalformedState)
	}
}

func FuzzParseState(f *testing.F) {
	a, b := freshPair(f)
	ab, err := a.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	bb, err := b.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ab)
	f.Add(bb)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseAlice(data)
		_, _ = ParseBob(data)
	})
}
