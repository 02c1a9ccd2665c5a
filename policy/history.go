package policy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/cairn-mpc/cairn/store"
)

// The velocity history: every Wallets:Sign activity that proceeds (allowed at
// once, or approved) is appended, per wallet, to bucket historyBucket, so the
// velocity rules hold across restarts.
//
// Keys are time-ordered newest first (times are stored bit-inverted) and
// carry three levels, so a window of any length costs a bounded number of
// reads, whatever the history's size:
//
//	'e' wallet ^hour ^nanos seq  → one entry (asset, amount)
//	'h' wallet ^day ^hour        → the hour's aggregate (count, unknown, sum per asset)
//	'd' wallet ^day              → the day's aggregate
//
// wallet is length-prefixed (uvarint), so one wallet's prefix is never
// another's. A window [s, e] reads the entries of its first and last hour,
// the hour aggregates of its first and last day, and the day aggregates in
// between: at most 2 hours of entries + 46 hour records + 30 day records
// for the longest timeframe.

const historyBucket = "policy.history"

const (
	hourNs = int64(time.Hour)
	dayNs  = 24 * hourNs
)

var historySeqKey = []byte("s")

// windowResult totals the history entries of one wallet within a window.
type windowResult struct {
	count   uint64
	unknown uint64     // entries whose amount is unknown
	sums    []assetSum // sorted by asset; a wallet moves few assets
	scratch big.Int
	// countText caches the count velocity rules' reason prefix.
	countText string
}

type assetSum struct {
	asset string
	sum   *big.Int
}

// sumFor returns asset's running sum, adding it if new. Comparing
// string(asset) does not allocate.
func (w *windowResult) sumFor(asset []byte) *big.Int {
	i := 0
	for ; i < len(w.sums); i++ {
		if w.sums[i].asset == string(asset) {
			return w.sums[i].sum
		}
		if w.sums[i].asset > string(asset) {
			break
		}
	}
	w.sums = slices.Insert(w.sums, i, assetSum{asset: string(asset), sum: new(big.Int)})
	return w.sums[i].sum
}

// addMag adds a big-endian magnitude to asset's sum.
func (w *windowResult) addMag(asset, mag []byte) {
	w.scratch.SetBytes(mag)
	sum := w.sumFor(asset)
	sum.Add(sum, &w.scratch)
}

// addEntry counts one entry; a nil amount is unknown.
func (w *windowResult) addEntry(asset string, amount *big.Int) {
	w.count++
	if amount == nil {
		w.unknown++
		return
	}
	sum := w.sumFor([]byte(asset))
	sum.Add(sum, amount)
}

func historyPrefix(kind byte, wallet string) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(wallet)+24)
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(wallet)))
	return append(b, wallet...)
}

func appendInverted(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, ^uint64(v)) }

func readInverted(b []byte) int64 { return int64(^binary.BigEndian.Uint64(b)) }

func entryPrefix(wallet string, hour int64) []byte {
	return appendInverted(historyPrefix('e', wallet), hour)
}

func hourKey(wallet string, hour int64) []byte {
	return appendInverted(appendInverted(historyPrefix('h', wallet), hour/24), hour)
}

func dayKey(wallet string, day int64) []byte {
	return appendInverted(historyPrefix('d', wallet), day)
}

// recordHistory appends an activity to its wallet's history at time t, in
// the caller's transaction.
func recordHistory(tx store.Tx, a *Activity, t time.Time) error {
	ns := t.UnixNano()
	if ns < 0 {
		return fmt.Errorf("policy: history time %v is before 1970", t)
	}
	var amount *big.Int
	if a.amountKnown() {
		amount = a.Amount
	}
	seq, err := nextSeq(tx)
	if err != nil {
		return err
	}
	hour, day := ns/hourNs, ns/dayNs
	key := binary.BigEndian.AppendUint64(appendInverted(entryPrefix(a.WalletID, hour), ns), seq)
	if err := tx.Put(historyBucket, key, encodeEntry(a.Asset, amount)); err != nil {
		return fmt.Errorf("policy: record history: %w", err)
	}
	for _, k := range [][]byte{hourKey(a.WalletID, hour), dayKey(a.WalletID, day)} {
		var agg windowResult
		if err := getAggregate(tx, k, &agg); err != nil {
			return err
		}
		agg.addEntry(a.Asset, amount)
		if err := tx.Put(historyBucket, k, encodeAggregate(&agg)); err != nil {
			return fmt.Errorf("policy: record history: %w", err)
		}
	}
	return nil
}

func nextSeq(tx store.Tx) (uint64, error) {
	var seq uint64
	switch v, err := tx.Get(historyBucket, historySeqKey); {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return 0, fmt.Errorf("policy: history sequence: %w", err)
	case len(v) != 8:
		return 0, fmt.Errorf("policy: history sequence: %w", store.ErrCorrupt)
	default:
		seq = binary.BigEndian.Uint64(v)
	}
	seq++
	if err := tx.Put(historyBucket, historySeqKey, binary.BigEndian.AppendUint64(nil, seq)); err != nil {
		return 0, fmt.Errorf("policy: history sequence: %w", err)
	}
	return seq, nil
}

// newestDay returns the day (Unix days) of wallet's newest history entry,
// or -1 if it has none: one cursor seek, which spares a wallet without
// recent history every window query.
func newestDay(tx store.Tx, wallet string) (int64, error) {
	day := int64(-1)
	prefix := historyPrefix('d', wallet)
	err := tx.ForEach(historyBucket, prefix, func(k, _ []byte) error {
		if len(k) != len(prefix)+8 {
			return fmt.Errorf("policy: history aggregate key: %w", store.ErrCorrupt)
		}
		day = readInverted(k[len(prefix):])
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, fmt.Errorf("policy: history: %w", err)
	}
	return day, nil
}

// queryWindow totals wallet's history entries with time in [s, e] (Unix
// nanoseconds, inclusive).
func queryWindow(tx store.Tx, wallet string, s, e int64) (*windowResult, error) {
	q := windowQuery{tx: tx, wallet: wallet, res: &windowResult{}}
	if s < 0 {
		s = 0
	}
	if e < s {
		return q.res, nil
	}
	if err := q.span(s, e); err != nil {
		return nil, err
	}
	return q.res, nil
}

type windowQuery struct {
	tx     store.Tx
	wallet string
	res    *windowResult
}

func (q *windowQuery) span(s, e int64) error {
	sd, ed := s/dayNs, e/dayNs
	if sd == ed {
		return q.inDay(sd, s, e)
	}
	if err := q.inDay(ed, ed*dayNs, e); err != nil {
		return err
	}
	if ed-sd > 1 {
		if err := q.fullRange(historyPrefix('d', q.wallet), sd+1, ed-1); err != nil {
			return err
		}
	}
	return q.inDay(sd, s, (sd+1)*dayNs-1)
}

func (q *windowQuery) inDay(d, s, e int64) error {
	if s == d*dayNs && e == (d+1)*dayNs-1 {
		return getAggregate(q.tx, dayKey(q.wallet, d), q.res)
	}
	sh, eh := s/hourNs, e/hourNs
	if sh == eh {
		return q.inHour(sh, s, e)
	}
	if err := q.inHour(eh, eh*hourNs, e); err != nil {
		return err
	}
	if eh-sh > 1 {
		if err := q.fullRange(appendInverted(historyPrefix('h', q.wallet), d), sh+1, eh-1); err != nil {
			return err
		}
	}
	return q.inHour(sh, s, (sh+1)*hourNs-1)
}

func (q *windowQuery) inHour(h, s, e int64) error {
	if s == h*hourNs && e == (h+1)*hourNs-1 {
		return getAggregate(q.tx, hourKey(q.wallet, h), q.res)
	}
	prefix := entryPrefix(q.wallet, h)
	err := q.tx.ForEach(historyBucket, prefix, func(k, v []byte) error {
		if len(k) != len(prefix)+16 {
			return fmt.Errorf("policy: history key: %w", store.ErrCorrupt)
		}
		t := readInverted(k[len(prefix):])
		switch {
		case t > e:
			return nil
		case t < s:
			return errStop
		}
		return decodeEntry(v, q.res)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// fullRange adds the aggregates under prefix whose unit (hour or day, the
// last 8 key bytes) is in [lo, hi].
func (q *windowQuery) fullRange(prefix []byte, lo, hi int64) error {
	err := q.tx.ForEach(historyBucket, prefix, func(k, v []byte) error {
		if len(k) != len(prefix)+8 {
			return fmt.Errorf("policy: history aggregate key: %w", store.ErrCorrupt)
		}
		u := readInverted(k[len(prefix):])
		switch {
		case u > hi:
			return nil
		case u < lo:
			return errStop
		}
		return decodeAggregate(v, q.res)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

func getAggregate(tx store.Tx, key []byte, into *windowResult) error {
	v, err := tx.Get(historyBucket, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("policy: history: %w", err)
	}
	return decodeAggregate(v, into)
}
