package custody_test

import (
	"context"
	"sync/atomic"

	"github.com/cairn-mpc/cairn/custody"
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
