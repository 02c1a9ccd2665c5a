package chains

import (
	"context"
	"fmt"
	"time"
)

// Wait polls c every interval until transaction id is Included with at
// least confirmations confirmations (returning its status), or Failed
// (returning its status and an error matching ErrFailed), or ctx ends. A transaction that is
// not found is waited for like a pending one: the caller's context bounds
// how long a dropped transaction is waited for.
func Wait(ctx context.Context, c Chain, id string, confirmations uint64, interval time.Duration) (Status, error) {
	if confirmations == 0 {
		confirmations = 1
	}
	if interval <= 0 {
		return Status{}, fmt.Errorf("chains: wait: interval must be positive")
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		st, err := c.Status(ctx, id)
		if err != nil {
			return st, err
		}
		switch {
		case st.State == Failed:
			return st, fmt.Errorf("%w: %s in block %d", ErrFailed, id, st.Block)
		case st.State == Included && st.Confirmations >= confirmations:
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("chains: waiting for %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}
