package frost

import (
	"fmt"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
)

// BenchmarkSign measures a whole signing ceremony of t signers, every
// signer's work included (t commitments, t shares, t aggregations each
// verifying t−1 shares and the signature):
//
//   - protocol: the rounds alone, messages handed from round to round;
//   - protocol-deferred: the same with Config.DeferShareChecks;
//   - roundtest: through roundtest.Network, which also signs and verifies an
//     Ed25519 envelope per delivered message (2·t·(t−1) of them), as the real
//     runner does.
//
// ns/signer is the protocol time divided by t: one signer's cost.
func BenchmarkSign(b *testing.B) {
	for _, s := range suites {
		for _, tn := range [][2]int{{2, 3}, {3, 5}, {7, 10}} {
			keys := dealKeys(b, s, tn[0], tn[1], nil)
			signers := ids(tn[1])[:tn[0]]
			msg := make([]byte, 32)
			var tr *Taproot
			if s == BIP340 {
				tr = &Taproot{}
			}
			req := SignRequest{Session: newSession(b, signers), Signers: signers, Message: msg, Taproot: tr}
			name := fmt.Sprintf("%s/%d-of-%d", s.Name(), tn[0], tn[1])
			for _, mode := range []struct {
				name string
				cfg  Config
			}{{"protocol", Config{}}, {"protocol-deferred", Config{DeferShareChecks: true}}} {
				b.Run(name+"/"+mode.name, func(b *testing.B) {
					start := time.Now()
					for b.Loop() {
						rounds := map[round.PartyID]round.Round{}
						var out []round.Message
						for _, id := range signers {
							r, o, err := NewSigning(keys[id], req, mode.cfg)
							if err != nil {
								b.Fatal(err)
							}
							rounds[id] = r
							out = append(out, o...)
						}
						if err := runDirect(rounds, out); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/float64(len(signers)), "ns/signer")
				})
			}
			b.Run(name+"/roundtest", func(b *testing.B) {
				net := roundtest.NewNetwork(signers)
				for b.Loop() {
					parties := map[round.PartyID]roundtest.Party{}
					for _, id := range signers {
						r, o, err := NewSigning(keys[id], req, Config{})
						if err != nil {
							b.Fatal(err)
						}
						parties[id] = roundtest.Party{Round: r, Out: o}
					}
					if _, err := net.Run(parties); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSignPrecommitted measures the online step when commitments were
// exchanged in advance: one broadcast round, for all t signers.
func BenchmarkSignPrecommitted(b *testing.B) {
	for _, s := range suites {
		keys := dealKeys(b, s, 3, 5, nil)
		signers := ids(5)[:3]
		req := SignRequest{Session: newSession(b, signers), Signers: signers, Message: make([]byte, 32)}
		b.Run(s.Name()+"/3-of-5", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				nonces := map[round.PartyID]*Nonce{}
				var list []Commitment
				for _, id := range signers {
					n, err := Precommit(keys[id], nil)
					if err != nil {
						b.Fatal(err)
					}
					nonces[id] = n
					list = append(list, n.Commitment())
				}
				b.StartTimer()
				rounds := map[round.PartyID]round.Round{}
				var out []round.Message
				for _, id := range signers {
					r, o, err := NewPrecommittedSigning(keys[id], req, nonces[id], list, Config{})
					if err != nil {
						b.Fatal(err)
					}
					rounds[id] = r
					out = append(out, o...)
				}
				if err := runDirect(rounds, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// runDirect delivers every broadcast to every other party and finalizes
// rounds in lockstep until all have an Output.
func runDirect(rounds map[round.PartyID]round.Round, out []round.Message) error {
	for {
		if _, done := anyRound(rounds).(*round.Output); done {
			return nil
		}
		for id, r := range rounds {
			for _, m := range out {
				if m.From != id {
					if err := r.Store(m); err != nil {
						return err
					}
				}
			}
		}
		out = out[:0:0]
		for id, r := range rounds {
			next, o, err := r.Finalize()
			if err != nil {
				return err
			}
			rounds[id] = next
			out = append(out, o...)
		}
	}
}

func anyRound(rounds map[round.PartyID]round.Round) round.Round {
	for _, r := range rounds {
		return r
	}
	return nil
}
