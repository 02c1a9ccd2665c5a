package policy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/cairn-mpc/cairn/store"
)

// Recheck evaluates a like Evaluate, for a party that re-checks a decision
// already taken on a (a signer's validation gate). If an activity with a.ID
// (non-empty) was recorded in the velocity history — by Submit, or when its
// approval was approved — with the same wallet, asset and amount, it is
// evaluated as it was before being recorded: its own entry is not counted
// again in any velocity window. An activity not recorded (or recorded with
// other values) is evaluated exactly like Evaluate, so skipping Submit gains
// nothing.
//
// Only the latest activity recorded with a given ID on a wallet is
// recognised; the caller should give each activity an ID of its own. The
// entry is left out of a window only while it lies within it, so a recheck
// long after the recording sees the same windows as Evaluate. Like
// Evaluate, Recheck changes nothing.
func (e *Engine) Recheck(ctx context.Context, a Activity) (Decision, error) {
	if err := a.validate(); err != nil {
		return Decision{}, err
	}
	a = a.clone()
	var d Decision
	err := e.view(ctx, "recheck", func(tx store.Tx) error {
		own, err := recordedEntry(tx, &a)
		if err != nil {
			return err
		}
		d, err = e.evaluate(ctx, tx, &a, e.clock(), own)
		return err
	})
	if err != nil {
		return Decision{}, err
	}
	return d, nil
}

// The ID index: every history entry recorded for an activity with an ID is
// also indexed by wallet and ID in historyIDsBucket, so Recheck can find it:
//
//	lp(wallet) ID → uvarint nanos  uvarint seq
//
// which is the entry's key in historyBucket. A later entry with the same
// wallet and ID replaces the pointer, so the index never holds more keys
// than the history has entries. A store written before the index existed
// has none of it, and Recheck then evaluates like Evaluate.
const historyIDsBucket = "policy.history.ids"

// historyEntry is one recorded entry, as Recheck leaves it out of windows.
type historyEntry struct {
	ns     int64
	asset  string
	amount *big.Int // nil: unknown
}

func historyIDKey(wallet, id string) []byte {
	return append(appendString(make([]byte, 0, binary.MaxVarintLen64+len(wallet)+len(id)), wallet), id...)
}

// putHistoryID indexes the entry (ns, seq) of a, if a has an ID.
func putHistoryID(tx store.Tx, a *Activity, ns int64, seq uint64) error {
	if a.ID == "" {
		return nil
	}
	v := binary.AppendUvarint(binary.AppendUvarint(make([]byte, 0, 2*binary.MaxVarintLen64), uint64(ns)), seq)
	if err := tx.Put(historyIDsBucket, historyIDKey(a.WalletID, a.ID), v); err != nil {
		return fmt.Errorf("policy: record history: %w", err)
	}
	return nil
}

// recordedEntry returns a's own history entry, or nil if a was not recorded
// with the same wallet, asset and amount. The entry is read from the
// history itself, so only what the windows really count is ever left out.
func recordedEntry(tx store.Tx, a *Activity) (*historyEntry, error) {
	if a.ID == "" || a.Kind != WalletsSign {
		return nil, nil
	}
	v, err := tx.Get(historyIDsBucket, historyIDKey(a.WalletID, a.ID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("policy: history index: %w", err)
	}
	r := reader{b: v}
	ns, seq := r.uvarint(), r.uvarint()
	if err := r.done(); err != nil || ns > uint64(1<<63-1) {
		return nil, fmt.Errorf("policy: history index: %w", store.ErrCorrupt)
	}
	t := int64(ns)
	key := binary.BigEndian.AppendUint64(appendInverted(entryPrefix(a.WalletID, t/entryNs), t), seq)
	b, err := tx.Get(historyBucket, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The index points at nothing: the history itself is the truth.
		return nil, fmt.Errorf("policy: history index points to a missing entry: %w", store.ErrCorrupt)
	case err != nil:
		return nil, fmt.Errorf("policy: history: %w", err)
	}
	asset, mag, known, err := parseEntry(b)
	if err != nil {
		return nil, err
	}
	switch {
	case string(asset) != a.Asset, known != a.amountKnown():
		return nil, nil
	case !known:
		return &historyEntry{ns: t, asset: a.Asset}, nil
	}
	amount := new(big.Int).SetBytes(mag)
	if amount.Cmp(a.Amount) != 0 {
		return nil, nil
	}
	return &historyEntry{ns: t, asset: a.Asset, amount: amount}, nil
}

// errUncounted is remove's refusal.
var errUncounted = fmt.Errorf("policy: history aggregates do not count an indexed entry: %w", store.ErrCorrupt)

// remove takes one entry, which the window counted, out of its totals. A
// window that cannot have counted it is corrupt.
func (w *windowResult) remove(en *historyEntry) error {
	if w.count == 0 {
		return errUncounted
	}
	if en.amount == nil {
		if w.unknown == 0 {
			return errUncounted
		}
		w.count--
		w.unknown--
		return nil
	}
	for i := range w.sums {
		if w.sums[i].asset != en.asset {
			continue
		}
		sum := w.sums[i].sum
		if sum.Cmp(en.amount) < 0 {
			return errUncounted
		}
		w.count--
		sum.Sub(sum, en.amount)
		if sum.Sign() == 0 && en.amount.Sign() != 0 {
			// Most likely the asset's only entry; a zero sum adds nothing
			// to a total either way.
			w.sums = append(w.sums[:i], w.sums[i+1:]...)
		}
		return nil
	}
	return errUncounted
}
