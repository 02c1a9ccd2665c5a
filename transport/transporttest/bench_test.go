package transporttest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/internal/cputime"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
	"github.com/cairn-mpc/cairn/transport/transporttest"
)

// BenchmarkThroughput measures frames per second from one node to another
// on loopback, with at most window frames in flight (NATS drops frames a
// subscriber cannot keep up with, so an unbounded sender would measure
// loss, not throughput).
func BenchmarkThroughput(b *testing.B) {
	const window = 256
	cases := []struct {
		name string
		f    transporttest.Factory
	}{
		{"memory", memoryNetwork},
		{"memory+e2e", secured(memoryNetwork, e2e.X25519)},
		{"tcp-mtls", tcpNetwork},
		{"tcp-mtls+e2e", secured(tcpNetwork, e2e.X25519)},
		{"tcp-mtls+e2e-mlkem", secured(tcpNetwork, e2e.MLKEM768X25519)},
		{"nats+e2e", natsNetwork},
	}
	for _, tc := range cases {
		for _, size := range []int{256, 4 << 10} {
			b.Run(fmt.Sprintf("%s/size=%d", tc.name, size), func(b *testing.B) {
				n := tc.f(b, []transport.NodeID{"node-1", "node-2"})
				src, dst := n.Endpoints["node-1"], n.Endpoints["node-2"]
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				payload := make([]byte, size)
				got := make(chan int, window)
				go func() {
					count := 0
					for count < b.N {
						if _, err := dst.Receive(ctx); err != nil {
							break
						}
						count++
						if count%(window/4) == 0 || count == b.N {
							got <- count
						}
					}
					close(got)
				}()
				b.SetBytes(int64(size))
				b.ResetTimer()
				start, cpu := time.Now(), cputime.Process()
				acked := 0
				for sent := 0; sent < b.N; {
					for ; sent < b.N && sent-acked < window; sent++ {
						if err := src.Send(ctx, "node-2", payload); err != nil {
							b.Fatal(err)
						}
					}
					c, ok := <-got
					if !ok {
						b.Fatalf("receiver stopped after %d of %d frames", acked, b.N)
					}
					acked = c
				}
				for acked < b.N {
					c, ok := <-got
					if !ok {
						b.Fatalf("receiver stopped after %d of %d frames", acked, b.N)
					}
					acked = c
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
				if d := cputime.Process() - cpu; d > 0 {
					// Both ends run in this process: the CPU one frame costs.
					b.ReportMetric(float64(d.Microseconds())/float64(b.N), "cpu-µs/frame")
					b.ReportMetric(float64(b.N)/d.Seconds(), "frames/cpu-s")
				}
			})
		}
	}
}
