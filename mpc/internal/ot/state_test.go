package ot

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStateRoundTrip(t *testing.T) {
	t.Parallel()
	send, recv := freshStates(t)
	sb, err := send.MarshalBinary()
	require.NoError(t, err)
	rb, err := recv.MarshalBinary()
	require.NoError(t, err)
	send2, err := ParseSender(sb)
	require.NoError(t, err)
	recv2, err := ParseReceiver(rb)
	require.NoError(t, err)
	assert.Equal(t, send.delta, send2.delta)
	assert.Equal(t, send.seeds, send2.seeds)
	assert.Equal(t, recv.seeds, recv2.seeds)
	assert.True(t, send2.Usable())

	// The restored pair still works together.
	const n = 100
	s := randomSession(t)
	choices := randomBytes(t, (n+7)/8)
	_, msg, err := recv2.Extend(s, choices, n, nil)
	require.NoError(t, err)
	_, err = send2.Extend(s, n, msg, nil)
	require.NoError(t, err)

	// A ban survives the round trip.
	send2.unusable.Store(true)
	sb, err = send2.MarshalBinary()
	require.NoError(t, err)
	send3, err := ParseSender(sb)
	require.NoError(t, err)
	assert.False(t, send3.Usable())

	for _, bad := range [][]byte{nil, {1}, sb[:len(sb)-1], rb} {
		_, err := ParseSender(bad)
		assert.ErrorIs(t, err, ErrMalformedState)
	}
	for _, bad := range [][]byte{nil, {1}, rb[:len(rb)-1], sb} {
		_, err := ParseReceiver(bad)
		assert.ErrorIs(t, err, ErrMalformedState)
	}
}

func FuzzParseState(f *testing.F) {
	send, recv := freshStates(f)
	sb, err := send.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	rb, err := recv.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sb)
	f.Add(rb)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseSender(b)
		_, _ = ParseReceiver(b)
	})
}
