package tcp

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

func FuzzDecodeHello(f *testing.F) {
	h, err := encodeHello("node-1", "node-2")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h)
	f.Add([]byte{})
	f.Add([]byte{1, 0x83, 0x02, 0x60, 0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHello(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v does not wrap ErrProtocol", err)
			}
			return
		}
		if h.Version != protocolVersion || h.From == "" || h.To == "" {
			t.Fatalf("accepted %+v", h)
		}
	})
}

// FuzzReadFrame reads frames from arbitrary bytes: it never panics and never
// returns data over the limit.
func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	_ = writeFrame(w, kindData, []byte("payload"))
	_ = writeFrame(w, kindKeepalive, nil)
	_ = w.Flush()
	f.Add(buf.Bytes(), 16)
	f.Add([]byte{0, 0, 0, 0}, 16)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'D'}, 1<<20)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max < 0 || max > 1<<20 {
			return
		}
		r := bufio.NewReader(bytes.NewReader(in))
		for range 64 {
			_, data, err := readFrame(r, max)
			if err != nil {
				return
			}
			if len(data) > max {
				t.Fatalf("frame of %d bytes over the %d limit", len(data), max)
			}
		}
	})
}
