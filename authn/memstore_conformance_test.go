package authn_test

import (
	"testing"

	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/storetest"
)

// The test double keeps the store.Store contract, so that what these tests
// show holds for store/bolt too.
func TestMemStoreConforms(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) store.Store { return newMemStore() })
}
