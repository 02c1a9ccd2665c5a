package policy

import (
	"context"
	"math/big"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// WindowTotals exposes the velocity index to the external tests: the count,
// unknown-amount count and per-asset sums of wallet's history with time in
// [s, e].
func WindowTotals(ctx context.Context, st store.Store, wallet string, s, e time.Time) (count, unknown uint64, sums map[string]*big.Int, err error) {
	err = st.View(ctx, func(tx store.Tx) error {
		w, err := queryWindow(tx, wallet, s.UnixNano(), e.UnixNano())
		if err != nil {
			return err
		}
		count, unknown = w.count, w.unknown
		for _, as := range w.sums {
			if sums == nil {
				sums = make(map[string]*big.Int)
			}
			sums[as.asset] = as.sum
		}
		return nil
	})
	return count, unknown, sums, err
}

// RecordHistory appends a to the velocity history at t, as an allowed
// Submit does.
func RecordHistory(ctx context.Context, st store.Store, a Activity, t time.Time) error {
	return st.Update(ctx, func(tx store.Tx) error { return recordHistory(tx, &a, t) })
}

// RecordHistoryBatch appends many activities in one transaction, for
// benchmarks that need a long history.
func RecordHistoryBatch(ctx context.Context, st store.Store, as []Activity, at []time.Time) error {
	return st.Update(ctx, func(tx store.Tx) error {
		for i := range as {
			if err := recordHistory(tx, &as[i], at[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// DecodeHistoryRecords runs both history decoders on b. When b decodes as
// an aggregate it returns its re-encoding, which must decode to the same.
func DecodeHistoryRecords(b []byte) (reencoded []byte, entryErr, aggErr error) {
	entryErr = decodeEntry(b, &windowResult{})
	var w windowResult
	if aggErr = decodeAggregate(b, &w); aggErr == nil {
		reencoded = encodeAggregate(&w)
	}
	return reencoded, entryErr, aggErr
}

// DropHistoryIDs deletes the velocity history's ID index, leaving the
// history as a store written before the index existed.
func DropHistoryIDs(ctx context.Context, st store.Store) error {
	return st.Update(ctx, func(tx store.Tx) error {
		var keys [][]byte
		if err := tx.ForEach(historyIDsBucket, nil, func(k, _ []byte) error {
			keys = append(keys, k)
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(historyIDsBucket, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// HistoryIDCount returns the number of keys in the history's ID index.
func HistoryIDCount(ctx context.Context, st store.Store) (n int, err error) {
	err = st.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(historyIDsBucket, nil, func(_, _ []byte) error { n++; return nil })
	})
	return n, err
}
