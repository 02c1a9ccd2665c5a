package custody_test

import (
	"context"
	"testing"

	"github.com/cairn-mpc/cairn/custody"
)

// BenchmarkTransfer is the end-to-end latency of a transfer that needs no
// approval, on the in-memory 3-of-5 cluster with the evidence gate on:
// authn (verify and spend the user action), permission, the EVM adapter
// building the transaction on the simulated chain, policies, the signers'
// gates, threshold ECDSA, attaching and broadcasting, each step stored with
// its audit entry. The client's signing of the user action and the mining
// of blocks are outside the timer; so is confirmation.
//
// The presigned variant fills the coordinator's pool of ECDSA
// presignatures first (outside the timer), so each signature is the online
// step only.
func BenchmarkTransfer(b *testing.B) {
	for _, presigned := range []bool{false, true} {
		name := "threeRound"
		if presigned {
			name = "presigned"
		}
		b.Run(name, func(b *testing.B) {
			benchTransfer(b, newFixture(b), presigned)
		})
	}
}

func benchTransfer(b *testing.B, f *fixture, presigned bool) {
	ctx := context.Background()
	body := custody.TransferRequest{WalletID: f.wallet.ID, To: payee, Amount: milliEther(1)}
	act, err := body.Action()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if i%16 == 0 {
			f.env.Chain.Mine()
		}
		if presigned {
			if _, err := f.env.Cluster.Coordinator.Presign(ctx, f.wallet.KeyID, 1); err != nil {
				b.Fatal(err)
			}
		}
		tok := f.alice.Sign(b, act)
		b.StartTimer()
		r, err := f.env.Service.Transfer(ctx, tok, body)
		if err != nil {
			b.Fatal(err)
		}
		if r.Status != custody.StatusBroadcasted {
			b.Fatalf("status %s: %v", r.Status, r.Reasons)
		}
	}
}
