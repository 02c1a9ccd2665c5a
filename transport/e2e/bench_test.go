package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/internal/cputime"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
)

// BenchmarkSeal measures the per-frame cost of protection: sealing (one
// AES-GCM and one Ed25519 signature) and opening (one verification and one
// AES-GCM), in the steady state of an epoch and, with "rekey", when every
// frame sets up a new HPKE key (what the first frame of an epoch costs).
func BenchmarkSeal(b *testing.B) {
	for _, kem := range []e2e.KEM{e2e.X25519, e2e.MLKEM768X25519} {
		for _, rekey := range []bool{false, true} {
			for _, size := range []int{256, 4 << 10, 64 << 10} {
				name := fmt.Sprintf("%v/size=%d", kem, size)
				if rekey {
					name = fmt.Sprintf("%v/rekey/size=%d", kem, size)
				}
				c := newCluster(b, kem, "a", "b")
				if rekey {
					c.node["a"] = c.wrap(b, "a", func(cfg *e2e.Config) { cfg.RekeyAfter = 1 })
				}
				payload := make([]byte, size)
				b.Run(name+"/seal", func(b *testing.B) {
					b.SetBytes(int64(size))
					cpu := cputime.Process()
					for b.Loop() {
						if _, err := c.node["a"].Seal("b", payload); err != nil {
							b.Fatal(err)
						}
					}
					reportCPU(b, cpu)
				})
				b.Run(name+"/seal+open", func(b *testing.B) {
					b.SetBytes(int64(size))
					cpu := cputime.Process()
					defer reportCPU(b, cpu)
					for b.Loop() {
						fr, err := c.node["a"].Seal("b", payload)
						if err != nil {
							b.Fatal(err)
						}
						if _, ferr := c.node["b"].Open(transport.Frame{From: "a", Payload: fr}); ferr != nil {
							b.Fatal(ferr)
						}
					}
				})
			}
		}
	}
}

// reportCPU reports the process CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	if d := cputime.Process() - start; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
