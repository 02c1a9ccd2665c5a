package rvole

import (
	"testing"

	"github.com/cairn-mpc/cairn/internal/curve"
)

// FuzzAliceMultiply feeds arbitrary bytes to Alice as Bob's message.
func FuzzAliceMultiply(f *testing.F) {
	a, b := freshPair(f)
	sid := NewSessionID([]byte("fuzz"), nil, alice, bob, nil)
	_, m1, err := b.Start(sid, nil)
	if err != nil {
		f.Fatal(err)
	}
	in := [L]curve.Scalar{curve.Secp256k1.ScalarFromUint64(7), curve.Secp256k1.ScalarFromUint64(11)}
	_, m2, err := a.Multiply(sid, in, m1, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(m1)
	f.Add(m2)
	f.Add(m1[:64])
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, _ := freshPair(t)
		_, _, _ = a.Multiply(sid, in, msg, nil)
	})
}

// FuzzBobFinish feeds arbitrary bytes to Bob as Alice's message.
func FuzzBobFinish(f *testing.F) {
	a, b := freshPair(f)
	sid := NewSessionID([]byte("fuzz"), nil, alice, bob, nil)
	sess, m1, err := b.Start(sid, nil)
	if err != nil {
		f.Fatal(err)
	}
	in := [L]curve.Scalar{curve.Secp256k1.ScalarFromUint64(7), curve.Secp256k1.ScalarFromUint64(11)}
	_, m2, err := a.Multiply(sid, in, m1, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(m2)
	f.Add(m1)
	f.Add(m2[:100])
	f.Fuzz(func(t *testing.T, msg []byte) {
		s := *sess // a fresh copy of the session for each input
		s.bob = NewBob(b.ot)
		_, _ = s.Finish(msg)
	})
}
