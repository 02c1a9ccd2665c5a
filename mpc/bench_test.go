package mpc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/frost"
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
				c := newCluster(b, tn[1])
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

// BenchmarkSignOverMemory measures a whole FROST signing ceremony of t
// signers over the in-memory transport, each signer in its own goroutine
// with its own runner: both protocol rounds, their echoes, share checks,
// aggregation and verification at every signer.
func BenchmarkSignOverMemory(b *testing.B) {
	for _, suite := range []*frost.Suite{frost.Ed25519, frost.Secp256k1, frost.BIP340} {
		for _, tn := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d-of-%d", suite.Name(), tn[0], tn[1]), func(b *testing.B) {
				c := newCluster(b, tn[1])
				keys := c.frostKeys(b, suite, tn[0])
				signers := c.parties[:tn[0]]
				msg := make([]byte, 32)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for id, r := range c.runSign(keys, signers, msg, nil, nil, nil) {
						if r.err != nil {
							b.Fatalf("party %d: %v", id, r.err)
						}
					}
				}
			})
		}
	}
}
