package ot

import (
	"testing"
	"time"
)

// BenchmarkBaseOT is the base-OT setup of one ordered pair: both parties,
// all five messages, Kappa OTs.
func BenchmarkBaseOT(b *testing.B) {
	bytes := 0
	cpu0 := processCPU()
	for b.Loop() {
		r := runBase(b, testPair)
		bytes = len(r.key) + len(r.choice) + len(r.chal) + len(r.resp) + len(r.opn)
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(bytes), "B/setup")
}

// BenchmarkExtension is one use of the extension for the 416 OTs of a
// DKLs23 multiplication (κ + 2s with s = 80), both sides, with 96-byte pads
// (three scalars) per OT.
func BenchmarkExtension(b *testing.B) {
	const n = 416
	send, recv := freshStates(b)
	choices := randomBytes(b, n/8)
	var size int
	cpu0 := processCPU()
	for b.Loop() {
		session := randomSession(b)
		rb, msg, err := recv.Extend(session, choices, n, nil)
		if err != nil {
			b.Fatal(err)
		}
		size = len(msg)
		sb, err := send.Extend(session, n, msg, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := sb.Pads(96); err != nil {
			b.Fatal(err)
		}
		if _, err := rb.Pads(sb.Salt(), 96); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(size), "B/msg")
}

func BenchmarkExtensionParts(b *testing.B) {
	const n = 416
	send, recv := freshStates(b)
	choices := randomBytes(b, n/8)
	session := randomSession(b)
	rb, msg, err := recv.Extend(session, choices, n, nil)
	if err != nil {
		b.Fatal(err)
	}
	sb, err := send.Extend(session, n, msg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ReceiverExtend", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			_, _, _ = recv.Extend(session, choices, n, nil)
		}
		reportCPU(b, cpu0)
	})
	b.Run("SenderExtend", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			_, _ = send.Extend(session, n, msg, nil)
		}
		reportCPU(b, cpu0)
	})
	b.Run("SenderPads", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			_, _, _ = sb.Pads(96)
		}
		reportCPU(b, cpu0)
	})
	b.Run("ReceiverPads", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			_, _ = rb.Pads(sb.Salt(), 96)
		}
		reportCPU(b, cpu0)
	})
}

// reportCPU adds cpu-ns/op: the process CPU time per iteration since cpu0,
// steadier than ns/op when other work shares the machine.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
