package mpc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/round"
)

var benchSizes = [][2]int{{2, 3}, {3, 5}, {7, 10}}

// BenchmarkDKGOverMemory measures a whole DKG ceremony, every party in its
// own goroutine with its own runner, over the in-memory transport: envelope
// signing, echo broadcast and routing included.
func BenchmarkDKGOverMemory(b *testing.B) {
	for _, crv := range []curve.Curve{curve.Secp256k1, curve.Edwards25519} {
		for _, tn := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d-of-%d", crv.Name(), tn[0], tn[1]), func(b *testing.B) {
				t := &testing.T{}
				c := newCluster(t, tn[1])
				defer c.net.Close()
				ring := c.keyring()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					sess := round.NewSessionID(dkg.Protocol, nil, c.parties, []byte(fmt.Sprint(i)))
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					res := c.runProto(ctx, dkg.Protocol, sess, c.parties, nil, nil, func(id round.PartyID) (round.Round, []round.Message, error) {
						return dkg.Start(dkg.Config{Curve: crv, Session: sess, Self: id, Parties: c.parties, Threshold: tn[0], Evidence: ring})
					})
					cancel()
					for _, r := range res {
						if r.err != nil {
							b.Fatal(r.err)
						}
					}
				}
			})
		}
	}
}
