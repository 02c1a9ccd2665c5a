package ot

import (
	"crypto/rand"
	"testing"
)

// Every decoder of peer bytes in this package, driven with arbitrary input
// from seeds that are real messages. None may panic; errors are expected.

func FuzzNewBaseReceiver(f *testing.F) {
	b := fixture()
	f.Add(b.key)
	f.Add(b.choice)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, _, _ = NewBaseReceiver(testPair, msg, nil)
	})
}

func FuzzBaseSenderChallenge(f *testing.F) {
	b := fixture()
	f.Add(b.choice)
	f.Add(b.chal)
	f.Fuzz(func(t *testing.T, msg []byte) {
		s, _, err := NewBaseSender(testPair, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.Challenge(msg)
	})
}

func FuzzBaseReceiverRespond(f *testing.F) {
	b := fixture()
	f.Add(b.chal)
	f.Add(b.resp)
	f.Fuzz(func(t *testing.T, msg []byte) {
		r := &BaseReceiver{pair: testPair, step: 1}
		_, _ = rand.Read(r.delta[:])
		_, _ = r.Respond(msg)
	})
}

func FuzzBaseSenderOpen(f *testing.F) {
	b := fixture()
	f.Add(b.resp)
	f.Add(b.opn)
	f.Fuzz(func(t *testing.T, msg []byte) {
		s := &BaseSender{pair: testPair, step: 2}
		_, _, _ = s.Open(msg)
	})
}

func FuzzBaseReceiverFinish(f *testing.F) {
	b := fixture()
	f.Add(b.opn)
	f.Add(b.resp)
	f.Fuzz(func(t *testing.T, msg []byte) {
		r := &BaseReceiver{pair: testPair, step: 2}
		_, _ = rand.Read(r.delta[:])
		_, _ = r.Finish(msg)
	})
}

func FuzzSenderExtend(f *testing.F) {
	const n = 64
	_, recv := freshStates(f)
	var session [32]byte
	_, msg, err := recv.Extend(session, make([]byte, n/8), n, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg)
	f.Add(msg[:100])
	f.Add([]byte{1, 0x80})
	f.Fuzz(func(t *testing.T, msg []byte) {
		send, _ := freshStates(t)
		_, _ = send.Extend(session, n, msg, nil)
	})
}
