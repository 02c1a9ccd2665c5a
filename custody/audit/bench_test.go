package audit_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/custody/audit"
	"github.com/cairn-mpc/cairn/store"
)

// BenchmarkAppend measures Append on store/bolt: in a transaction of its
// own (AppendNow, one fsync each), and inside a caller's transaction that
// also writes the state change, as custody does. "evidence" records carry
// a passkey's and a key credential's evidence, which Append decodes and
// checks under their own keys.
func BenchmarkAppend(b *testing.B) {
	w := newWorld(b)
	body := []byte(`{"amount":"1.5","asset":"ETH","to":"0x00000000000000000000000000000000000000aa"}`)
	plain := audit.Record{Kind: "request.received", Actor: w.bob.id, Subject: "r-1", Details: body}
	withEvidence := plain
	withEvidence.Evidence = [][]byte{
		w.evidence(b, w.bob, "Wallets:Transfer", "wallets/w-1", body),
		w.evidence(b, w.alice, "Requests:Approve", "requests/r-1", body),
	}
	for _, c := range []struct {
		name string
		r    audit.Record
	}{{"plain", plain}, {"evidence", withEvidence}} {
		b.Run("AppendNow/"+c.name, func(b *testing.B) {
			for b.Loop() {
				_, err := w.log.AppendNow(w.ctx, c.r)
				require.NoError(b, err)
			}
		})
		b.Run("InCallerTx/"+c.name, func(b *testing.B) {
			for b.Loop() {
				err := w.db.Update(w.ctx, func(tx store.Tx) error {
					if err := tx.Put("custody.requests", []byte("r-1"), body); err != nil {
						return err
					}
					_, err := w.log.Append(w.ctx, tx, c.r)
					return err
				})
				require.NoError(b, err)
			}
		})
	}
	require.NoError(b, w.log.Verify(w.ctx, w.keys))
}
