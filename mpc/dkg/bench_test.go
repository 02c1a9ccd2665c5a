package dkg

import (
	"fmt"
	"testing"

	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
)

// BenchmarkDKG runs a whole ceremony per iteration, every party in this
// process through roundtest (which signs and opens every envelope), so the
// figure is the total CPU time of all n parties, not one party's latency.
func BenchmarkDKG(b *testing.B) {
	for _, c := range curves {
		for _, tn := range []struct{ t, n int }{{2, 3}, {3, 5}, {7, 10}} {
			b.Run(fmt.Sprintf("%s/%d-of-%d", c.Name(), tn.t, tn.n), func(b *testing.B) {
				cl := newCluster(b, c, tn.t, tn.n)
				b.ReportAllocs()
				for b.Loop() {
					parties := make(map[round.PartyID]roundtest.Party, tn.n)
					for _, id := range cl.ids {
						r, out, err := Start(cl.config(id))
						if err != nil {
							b.Fatal(err)
						}
						parties[id] = roundtest.Party{Round: r, Out: out}
					}
					res, err := cl.net.Run(parties)
					if err != nil || len(res) != tn.n {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
