package wire

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sample struct {
	_     struct{} `cbor:",toarray"`
	A     uint16
	B     []byte
	Items []string
}

type keyed struct {
	X int `cbor:"1,keyasint"`
	Y int `cbor:"2,keyasint"`
}

func TestRoundTripAndDeterminism(t *testing.T) {
	t.Parallel()
	v := sample{A: 7, B: []byte{1, 2, 3}, Items: []string{"a", "b"}}
	b1, err := Marshal(v)
	require.NoError(t, err)
	b2, err := Marshal(v)
	require.NoError(t, err)
	assert.Equal(t, b1, b2)
	assert.Equal(t, Version, b1[0])
	var got sample
	require.NoError(t, Unmarshal(b1, &got))
	assert.Equal(t, v.A, got.A)
	assert.Equal(t, v.B, got.B)
	assert.Equal(t, v.Items, got.Items)
}

func TestUnmarshalRejects(t *testing.T) {
	t.Parallel()
	good, err := Marshal(sample{A: 1})
	require.NoError(t, err)
	wrongVersion := append([]byte{Version + 1}, good[1:]...)
	trailing := append(append([]byte{}, good...), 0x00)
	// {1: 1, 1: 2}: a map with a duplicate key.
	dupKey := []byte{Version, 0xa2, 0x01, 0x01, 0x01, 0x02}
	// {1: 1, 3: 2}: key 3 is not a field of keyed.
	unknown := []byte{Version, 0xa2, 0x01, 0x01, 0x03, 0x02}
	// An indefinite-length byte string.
	indef := []byte{Version, 0x83, 0x01, 0x5f, 0x41, 0x00, 0xff, 0x80}
	// A tagged value.
	tagged := []byte{Version, 0xc1, 0x01}
	big := make([]byte, MaxSize+1)
	big[0] = Version
	cases := map[string]struct {
		b []byte
		v any
	}{
		"empty":         {nil, &sample{}},
		"version":       {wrongVersion, &sample{}},
		"trailing":      {trailing, &sample{}},
		"truncated":     {good[:len(good)-1], &sample{}},
		"duplicate key": {dupKey, &keyed{}},
		"unknown field": {unknown, &keyed{}},
		"indefinite":    {indef, &sample{}},
		"tag":           {tagged, &sample{}},
		"too large":     {big, &sample{}},
	}
	for name, tc := range cases {
		err := Unmarshal(tc.b, tc.v)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
}

func TestMarshalSizeLimit(t *testing.T) {
	t.Parallel()
	_, err := Marshal(sample{B: make([]byte, MaxSize)})
	assert.Error(t, err)
}

func FuzzUnmarshal(f *testing.F) {
	seed, _ := Marshal(sample{A: 3, B: []byte("seed"), Items: []string{"x"}})
	f.Add(seed)
	f.Add([]byte{Version, 0xa2, 0x01, 0x01, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s sample
		if Unmarshal(b, &s) != nil {
			return
		}
		// What decodes re-encodes, and the re-encoding decodes to the same value.
		again, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var s2 sample
		if err := Unmarshal(again, &s2); err != nil {
			t.Fatal(err)
		}
		if s.A != s2.A || string(s.B) != string(s2.B) || len(s.Items) != len(s2.Items) {
			t.Fatal("round trip changed the value")
		}
	})
}
