package custody_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/custody"
	"github.com/cairn-mpc/cairn/custody/events"
	"github.com/cairn-mpc/cairn/mpc"
)

// countingCoordinator counts the signatures it is asked for, and fails them
// all with fail when set.
type countingCoordinator struct {
	custody.Coordinator
	signs atomic.Int64
	fail  error
}

func (c *countingCoordinator) Sign(ctx context.Context, r mpc.SignRequest) (*mpc.Signature, error) {
	c.signs.Add(1)
	if c.fail != nil {
		return nil, c.fail
	}
	return c.Coordinator.Sign(ctx, r)
}

// hookedChain is a chain adapter with hooks around the calls the tests
// need to interleave or break.
type hookedChain struct {
	chains.Chain
	// afterTransfer, if set, runs after each Transfer built a transaction.
	afterTransfer func(n int64)
	transfers     atomic.Int64
	// dropBroadcasts is how many broadcasts are acknowledged and lost, as
	// by a node that evicts them from its pool.
	dropBroadcasts atomic.Int64
}

func (c *hookedChain) Transfer(ctx context.Context, t chains.Transfer) (*chains.Unsigned, error) {
	u, err := c.Chain.Transfer(ctx, t)
	if c.afterTransfer != nil {
		c.afterTransfer(c.transfers.Add(1))
	}
	return u, err
}

func (c *hookedChain) Broadcast(ctx context.Context, tx *chains.Signed) error {
	if c.dropBroadcasts.Add(-1) >= 0 {
		return nil
	}
	return c.Chain.Broadcast(ctx, tx)
}

// withChain restarts f's service with c in place of the EVM adapter.
func (f *fixture) withChain(t testing.TB, c chains.Chain) *custody.Service {
	t.Helper()
	reg, err := chains.NewRegistry(c)
	require.NoError(t, err)
	cfg := f.env.Config
	cfg.Chains = reg
	return f.env.Start(t, cfg)
}

// eventsOf collects the types of the next n events about subject from sub,
// in order, failing the test if they do not come within 10 s.
func eventsOf(t *testing.T, sub <-chan events.Event, subject string, n int) []string {
	t.Helper()
	var seen []string
	deadline := time.After(10 * time.Second)
	for len(seen) < n {
		select {
		case e := <-sub:
			if e.Subject == subject {
				seen = append(seen, e.Type)
			}
		case <-deadline:
			t.Fatalf("events so far: %v", seen)
		}
	}
	return seen
}
