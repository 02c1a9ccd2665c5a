package audit

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// seedEntries is a short chain without evidence (the seed corpus under
// testdata/fuzz holds chains with real evidence).
func seedEntries(t testing.TB) []Entry {
	t.Helper()
	var out []Entry
	prev := make([]byte, HashSize)
	for i, r := range []Record{
		{Kind: "wallet.created", Actor: "u-1", Subject: "w-1", Details: []byte(`{"network":"Ethereum"}`)},
		{Kind: "request.refused", Actor: "system", Subject: "r-<1>&"},
		{Kind: "k"},
	} {
		e := Entry{Seq: uint64(i + 1), Time: time.Unix(1795000000, int64(i)).UTC(), Record: r, Prev: prev}
		h, err := entryHash(&e)
		require.NoError(t, err)
		e.Hash = h
		prev = h
		out = append(out, e)
	}
	return out
}

// FuzzRead: Read never panics, refuses with ErrMalformed, and what it
// accepts is exactly what Export writes for the entries it returns.
func FuzzRead(f *testing.F) {
	var export []byte
	for _, e := range seedEntries(f) {
		line, err := marshalLine(&e)
		require.NoError(f, err)
		export = append(append(export, line...), '\n')
	}
	f.Add(export)
	f.Add(export[:len(export)-1])
	f.Add([]byte{})
	f.Add([]byte("\n"))
	f.Add([]byte(`{"v":1,"seq":1,"time":"2026-11-21T12:00:00Z","kind":"k","prev":"00","hash":"00"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		entries, err := Read(bytes.NewReader(in))
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		var again []byte
		for i := range entries {
			line, err := marshalLine(&entries[i])
			require.NoError(t, err)
			again = append(append(again, line...), '\n')
		}
		if len(in) > 0 && in[len(in)-1] != '\n' {
			in = append(in, '\n')
		}
		require.Equal(t, string(in), string(again))
		// Verification of whatever was read ends in a verdict, not a panic.
		_ = VerifyEntries(context.Background(), entries, nil)
	})
}

// FuzzDecodeStored: decoding a stored entry never panics, and what it
// accepts re-encodes to exactly the stored bytes.
func FuzzDecodeStored(f *testing.F) {
	for _, e := range seedEntries(f) {
		body, err := encodeBody(&e)
		require.NoError(f, err)
		v, err := encodeStored(body, e.Hash)
		require.NoError(f, err)
		f.Add(v)
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, v []byte) {
		e, err := decodeStored(v)
		if err != nil {
			require.ErrorIs(t, err, ErrTampered)
			return
		}
		body, err := encodeBody(&e)
		require.NoError(t, err)
		again, err := encodeStored(body, e.Hash)
		require.NoError(t, err)
		require.Equal(t, string(v), string(again))
		_ = VerifyEntries(context.Background(), []Entry{e}, nil)
	})
}
