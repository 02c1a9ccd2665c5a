package rvole

import (
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/internal/curve"
)

// BenchmarkMultiply is one multiplication of one ordered pair, both sides
// and both messages: Bob's Start, Alice's Multiply, Bob's Finish. It reports
// the bytes each side sends; in DKLs23 every party is Bob towards each
// counterparty and Alice towards each, so it sends one message of each kind
// per counterparty per signature.
func BenchmarkMultiply(b *testing.B) {
	a, bb := freshPair(b)
	in := [L]curve.Scalar{randomScalar(b), randomScalar(b)}
	var m1len, m2len int
	cpu0 := processCPU()
	for b.Loop() {
		sid := randomSID(b)
		sess, m1, err := bb.Start(sid, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, m2, err := a.Multiply(sid, in, m1, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sess.Finish(m2); err != nil {
			b.Fatal(err)
		}
		m1len, m2len = len(m1), len(m2)
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(m1len), "B/bob-msg")
	b.ReportMetric(float64(m2len), "B/alice-msg")
	b.ReportMetric(float64(m1len+m2len), "B/party/peer/sig")
}

func BenchmarkMultiplyParts(b *testing.B) {
	a, bb := freshPair(b)
	in := [L]curve.Scalar{randomScalar(b), randomScalar(b)}
	sid := randomSID(b)
	sess, m1, err := bb.Start(sid, nil)
	if err != nil {
		b.Fatal(err)
	}
	_, m2, err := a.Multiply(sid, in, m1, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("BobStart", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			_, _, _ = bb.Start(sid, nil)
		}
		reportCPU(b, cpu0)
	})
	b.Run("AliceMultiply", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			_, _, _ = a.Multiply(sid, in, m1, nil)
		}
		reportCPU(b, cpu0)
	})
	b.Run("BobFinish", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			s := *sess
			_, _ = s.Finish(m2)
		}
		reportCPU(b, cpu0)
	})
}

// reportCPU adds cpu-ns/op: the process CPU time per iteration since cpu0,
// steadier than ns/op when other work shares the machine.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
