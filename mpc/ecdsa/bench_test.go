package ecdsa

import (
	"crypto/sha256"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
)

// stats is what drive measures: the time spent in party 1's rounds (wall
// and process CPU time), and the payload bytes each party sends each other
// party (a broadcast counts once per recipient).
type stats struct {
	self    time.Duration
	selfCPU time.Duration
	bytes   map[[2]round.PartyID]int
}

// drive runs parties to completion in one process without envelopes, so
// that a benchmark measures the protocol and not the runner's signatures.
// It fails b on any error.
func drive(b *testing.B, parties map[round.PartyID]roundtest.Party, st *stats) map[round.PartyID]any {
	type queued struct {
		to round.PartyID
		m  round.Message
	}
	cur := map[round.PartyID]round.Round{}
	ids := slices.Sorted(maps.Keys(parties))
	var queue []queued
	route := func(out []round.Message) {
		for _, m := range out {
			for _, to := range ids {
				if to != m.From && (m.IsBroadcast() || m.To == to) {
					queue = append(queue, queued{to, m})
					if st != nil && st.bytes != nil {
						st.bytes[[2]round.PartyID{m.From, to}] += len(m.Payload)
					}
				}
			}
		}
	}
	for _, id := range ids {
		cur[id] = parties[id].Round
		route(parties[id].Out)
	}
	timed := func(id round.PartyID, f func() error) {
		t0, c0 := time.Now(), processCPU()
		err := f()
		if id == 1 && st != nil {
			st.self += time.Since(t0)
			st.selfCPU += processCPU() - c0
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	got := map[round.PartyID]int{}
	results := map[round.PartyID]any{}
	for len(results) < len(parties) {
		var rest []queued
		for _, q := range queue {
			if r := cur[q.to]; r == nil || r.Number() != q.m.Round {
				rest = append(rest, q)
				continue
			}
			timed(q.to, func() error { return cur[q.to].Store(q.m) })
			got[q.to]++
		}
		queue = rest
		for _, id := range ids {
			r := cur[id]
			if r == nil {
				continue
			}
			if o, ok := r.(*round.Output); ok {
				results[id], cur[id] = o.Result, nil
				continue
			}
			exp, n := r.Expect(), 0
			if exp.Broadcast {
				n += len(ids) - 1
			}
			if exp.Direct {
				n += len(ids) - 1
			}
			if got[id] < n {
				continue
			}
			var next round.Round
			var out []round.Message
			timed(id, func() (err error) { next, out, err = r.Finalize(); return })
			cur[id], got[id] = next, 0
			route(out)
		}
	}
	return results
}

// report adds ms/party and cpu-ms/party (party 1's share of the work, wall
// and CPU time), B/party/peer, and cpu-ns/op: the process CPU time per
// ceremony of all parties since cpu0, steadier than ns/op when other work
// shares the machine.
func report(b *testing.B, st *stats, n int, peers int, cpu0 time.Duration) {
	b.ReportMetric(float64(st.self.Nanoseconds())/float64(n)/1e6, "ms/party")
	b.ReportMetric(float64(st.selfCPU.Nanoseconds())/float64(n)/1e6, "cpu-ms/party")
	if cpu0 >= 0 {
		b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
	}
	if st.bytes != nil {
		total := 0
		for k, v := range st.bytes {
			if k[0] == 1 {
				total += v
			}
		}
		b.ReportMetric(float64(total)/float64(n)/float64(peers), "B/party/peer")
	}
}

func BenchmarkKeygen3of5(b *testing.B) {
	parties := ids(5)
	net := roundtest.NewNetwork(parties)
	st := &stats{bytes: map[[2]round.PartyID]int{}}
	n := 0
	cpu0 := processCPU()
	for b.Loop() {
		sess := freshSession(b, "ecdsa-keygen", parties)
		start := startAll(b, parties, func(id round.PartyID) (round.Round, []round.Message, error) {
			return NewKeygen(KeygenConfig{Session: sess, Self: id, Parties: parties, Threshold: 3, Evidence: net.Keyring})
		})
		drive(b, start, st)
		n++
	}
	report(b, st, n, 4, cpu0)
}

// driveParallel runs parties to completion in lock step, every party's
// Store and Finalize calls of a round in a goroutine of its own, so that
// the parties share the machine's cores as separate processes would. The
// protocols here expect a message from every other party in every round.
func driveParallel(b *testing.B, parties map[round.PartyID]roundtest.Party) map[round.PartyID]any {
	ids := slices.Sorted(maps.Keys(parties))
	cur := map[round.PartyID]round.Round{}
	inbox := map[round.PartyID][]round.Message{}
	route := func(out []round.Message) {
		for _, m := range out {
			for _, to := range ids {
				if to != m.From && (m.IsBroadcast() || m.To == to) {
					inbox[to] = append(inbox[to], m)
				}
			}
		}
	}
	for _, id := range ids {
		cur[id] = parties[id].Round
		route(parties[id].Out)
	}
	results := map[round.PartyID]any{}
	for len(results) < len(ids) {
		outs := make([][]round.Message, len(ids))
		next := make([]round.Round, len(ids))
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for k, id := range ids {
			r := cur[id]
			if r == nil {
				continue
			}
			msgs := inbox[id]
			inbox[id] = nil
			wg.Go(func() {
				for _, m := range msgs {
					if errs[k] = r.Store(m); errs[k] != nil {
						return
					}
				}
				next[k], outs[k], errs[k] = r.Finalize()
			})
		}
		wg.Wait()
		for k, id := range ids {
			if errs[k] != nil {
				b.Fatal(errs[k])
			}
			if cur[id] == nil {
				continue
			}
			if o, ok := next[k].(*round.Output); ok {
				results[id], cur[id] = o.Result, nil
			} else {
				cur[id] = next[k]
			}
			route(outs[k])
		}
	}
	return results
}

// BenchmarkKeygen3of5Parallel is BenchmarkKeygen3of5 with the five parties
// in goroutines of their own: ns/op is the wall time of the ceremony in one
// process on all the machine's cores.
func BenchmarkKeygen3of5Parallel(b *testing.B) {
	parties := ids(5)
	net := roundtest.NewNetwork(parties)
	cpu0 := processCPU()
	for b.Loop() {
		sess := freshSession(b, "ecdsa-keygen", parties)
		start := startAll(b, parties, func(id round.PartyID) (round.Round, []round.Message, error) {
			return NewKeygen(KeygenConfig{Session: sess, Self: id, Parties: parties, Threshold: 3, Evidence: net.Keyring})
		})
		res := driveParallel(b, start)
		if _, ok := res[1].(*KeyShare); !ok {
			b.Fatal("no key share")
		}
	}
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkSign3of5Parallel is BenchmarkSign3of5 with the three signers in
// goroutines of their own (wall time on all cores).
func BenchmarkSign3of5Parallel(b *testing.B) {
	keys := cachedKeys(b, 3, 5)
	signers := []round.PartyID{1, 3, 5}
	digest := sha256.Sum256([]byte("bench"))
	cpu0 := processCPU()
	for b.Loop() {
		sess := freshSession(b, "ecdsa-sign", signers)
		start := startAll(b, signers, func(id round.PartyID) (round.Round, []round.Message, error) {
			return NewSigning(keys[id], SignRequest{Session: sess, Signers: signers, Digest: digest[:]}, Config{})
		})
		res := driveParallel(b, start)
		if _, ok := res[1].(*Signature); !ok {
			b.Fatal("no signature")
		}
	}
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func BenchmarkSign3of5(b *testing.B) {
	keys := cachedKeys(b, 3, 5)
	signers := []round.PartyID{1, 3, 5}
	digest := sha256.Sum256([]byte("bench"))
	st := &stats{bytes: map[[2]round.PartyID]int{}}
	n := 0
	cpu0 := processCPU()
	for b.Loop() {
		sess := freshSession(b, "ecdsa-sign", signers)
		start := startAll(b, signers, func(id round.PartyID) (round.Round, []round.Message, error) {
			return NewSigning(keys[id], SignRequest{Session: sess, Signers: signers, Digest: digest[:]}, Config{})
		})
		res := drive(b, start, st)
		if _, ok := res[1].(*Signature); !ok {
			b.Fatal("no signature")
		}
		n++
	}
	report(b, st, n, len(signers)-1, cpu0)
}

func BenchmarkPresign3of5(b *testing.B) {
	keys := cachedKeys(b, 3, 5)
	signers := []round.PartyID{1, 3, 5}
	st := &stats{bytes: map[[2]round.PartyID]int{}}
	n := 0
	cpu0 := processCPU()
	for b.Loop() {
		sess := freshSession(b, "ecdsa-presign", signers)
		start := startAll(b, signers, func(id round.PartyID) (round.Round, []round.Message, error) {
			return NewPresigning(keys[id], SignRequest{Session: sess, Signers: signers}, Config{})
		})
		drive(b, start, st)
		n++
	}
	report(b, st, n, len(signers)-1, cpu0)
}

// BenchmarkOnline3of5 is the online step alone: each iteration consumes a
// presignature made outside the timer.
func BenchmarkOnline3of5(b *testing.B) {
	keys := cachedKeys(b, 3, 5)
	signers := []round.PartyID{1, 3, 5}
	digest := sha256.Sum256([]byte("bench online"))
	st := &stats{bytes: map[[2]round.PartyID]int{}}
	var allCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sess := freshSession(b, "ecdsa-presign", signers)
		start := startAll(b, signers, func(id round.PartyID) (round.Round, []round.Message, error) {
			return NewPresigning(keys[id], SignRequest{Session: sess, Signers: signers}, Config{})
		})
		pres := drive(b, start, nil)
		online := freshSession(b, "ecdsa-online", signers)
		b.StartTimer()
		c0 := processCPU()
		start = map[round.PartyID]roundtest.Party{}
		for _, id := range signers {
			t0, c1 := time.Now(), processCPU()
			r, out, err := NewOnlineSigning(keys[id], pres[id].(*Presignature), online, digest[:])
			if id == 1 {
				st.self += time.Since(t0)
				st.selfCPU += processCPU() - c1
			}
			if err != nil {
				b.Fatal(err)
			}
			start[id] = roundtest.Party{Round: r, Out: out}
		}
		res := drive(b, start, st)
		allCPU += processCPU() - c0
		if _, ok := res[1].(*Signature); !ok {
			b.Fatal("no signature")
		}
	}
	report(b, st, b.N, len(signers)-1, -1)
	b.ReportMetric(float64(allCPU.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
