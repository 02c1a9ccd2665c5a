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
// Keys are time-ordered newest first (times are stored bit-inverted), with
// aggregates at three levels (day, hour, minute) beside the entries, so a
// window of any length costs a bounded number of reads whatever the
// history's size or burstiness:
//
//	'a' 0 wallet ^day              → the day's aggregate (count, unknown, sum per asset)
//	'a' 1 wallet ^day ^hour        → the hour's aggregate
//	'a' 2 wallet ^hour ^minute     → the minute's aggregate
//	'e'   wallet ^minute ^nanos seq → one entry (asset, amount)
//
// Each aggregate key carries its parent unit, so the full units inside one
// parent are one prefix scan. wallet is length-prefixed (uvarint), so one
// wallet's prefix is never another's. A window [s, e] reads the entries of
// its first and last minute, and aggregates for the rest: at most 2 minutes
// of entries + 2×59 minute + 2×23 hour + 30 day records for the longest
// timeframe, and only records that exist (scans skip empty units).
//
// An entry recorded for an activity with an ID is also indexed by wallet
// and ID in historyIDsBucket (recheck.go), in the same transaction. Nothing
// is ever pruned from either.

const historyBucket = "policy.history"

// levels are the aggregate unit sizes, coarsest first; entries are keyed by
// the finest.
var levels = [...]int64{int64(24 * time.Hour), int64(time.Hour), int64(time.Minute)}

const (
	dayNs   = int64(24 * time.Hour)
	finest  = len(levels) - 1
	entryNs = int64(time.Minute) // levels[finest]
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

func appendInverted(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, ^uint64(v)) }

func readInverted(b []byte) int64 { return int64(^binary.BigEndian.Uint64(b)) }

// aggPrefix is the prefix of the level-lvl aggregates inside parent unit
// parent (ignored for the top level).
func aggPrefix(lvl int, wallet string, parent int64) []byte {
	b := appendString(append(make([]byte, 0, 2+binary.MaxVarintLen64+len(wallet)+16), 'a', byte(lvl)), wallet)
	if lvl > 0 {
		b = appendInverted(b, parent)
	}
	return b
}

// aggKey is the key of unit u's aggregate at level lvl.
func aggKey(lvl int, wallet string, u int64) []byte {
	var parent int64
	if lvl > 0 {
		parent = u * levels[lvl] / levels[lvl-1]
	}
	return appendInverted(aggPrefix(lvl, wallet, parent), u)
}

// entryPrefix is the prefix of the entries in finest unit u.
func entryPrefix(wallet string, u int64) []byte {
	b := appendString(append(make([]byte, 0, 1+binary.MaxVarintLen64+len(wallet)+24), 'e'), wallet)
	return appendInverted(b, u)
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
	key := binary.BigEndian.AppendUint64(appendInverted(entryPrefix(a.WalletID, ns/entryNs), ns), seq)
	if err := tx.Put(historyBucket, key, encodeEntry(a.Asset, amount)); err != nil {
		return fmt.Errorf("policy: record history: %w", err)
	}
	if err := putHistoryID(tx, a, ns, seq); err != nil {
		return err
	}
	for lvl, size := range levels {
		k := aggKey(lvl, a.WalletID, ns/size)
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
