package policy_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/policy"
)

// FuzzHistoryRecords: the velocity history's decoders never panic on
// damaged records, and a decoded aggregate re-encodes to a fixed point.
func FuzzHistoryRecords(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 'E', 'T', 'H', 0})
	f.Add([]byte{3, 'E', 'T', 'H', 1, 2, 0x01, 0x00})
	f.Add([]byte{2, 1, 2, 3, 'B', 'T', 'C', 1, 7, 3, 'E', 'T', 'H', 2, 1, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		re, _, err := policy.DecodeHistoryRecords(b)
		if err != nil {
			return
		}
		again, _, err := policy.DecodeHistoryRecords(re)
		require.NoError(t, err)
		require.Equal(t, re, again)
	})
}
