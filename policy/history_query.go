package policy

import (
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/store"
)

// Reading the velocity history (layout in history.go).

// newestDay returns the day (Unix days) of wallet's newest history entry,
// or -1 if it has none: one cursor seek, which spares a wallet without
// recent history every window query.
func newestDay(tx store.Tx, wallet string) (int64, error) {
	day := int64(-1)
	prefix := aggPrefix(0, wallet, 0)
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
	if err := q.span(0, s, e); err != nil {
		return nil, err
	}
	return q.res, nil
}

type windowQuery struct {
	tx     store.Tx
	wallet string
	res    *windowResult
}

// span adds the history in [s, e], which lies within one unit of level
// lvl−1 (anywhere, for level 0): the partial units at either end level by
// level down, the full units between from their aggregates.
func (q *windowQuery) span(lvl int, s, e int64) error {
	size := levels[lvl]
	su, eu := s/size, e/size
	if su == eu {
		return q.inUnit(lvl, su, s, e)
	}
	if err := q.inUnit(lvl, eu, eu*size, e); err != nil {
		return err
	}
	if eu-su > 1 {
		var parent int64
		if lvl > 0 {
			parent = s / levels[lvl-1]
		}
		if err := q.fullRange(aggPrefix(lvl, q.wallet, parent), su+1, eu-1); err != nil {
			return err
		}
	}
	return q.inUnit(lvl, su, s, (su+1)*size-1)
}

// inUnit adds the history in [s, e] ⊆ unit u of level lvl.
func (q *windowQuery) inUnit(lvl int, u, s, e int64) error {
	size := levels[lvl]
	switch {
	case s == u*size && e == (u+1)*size-1:
		return getAggregate(q.tx, aggKey(lvl, q.wallet, u), q.res)
	case lvl < finest:
		return q.span(lvl+1, s, e)
	}
	prefix := entryPrefix(q.wallet, u)
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

// fullRange adds the aggregates under prefix whose unit (the last 8 key
// bytes) is in [lo, hi].
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
