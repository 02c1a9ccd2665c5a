package chains_test

import (
	"context"
	"errors"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/chaintest"
)

// stub is a Chain whose Status walks through a script; nothing else is
// called.
type stub struct {
	chains.Chain
	name   string
	script []chains.Status
	calls  atomic.Int32
}

func (s *stub) Network() chains.Network { return chains.Network{Name: s.name} }

func (s *stub) Status(context.Context, string) (chains.Status, error) {
	i := int(s.calls.Add(1)) - 1
	if i >= len(s.script) {
		i = len(s.script) - 1
	}
	return s.script[i], nil
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	a, b := &stub{name: "B"}, &stub{name: "A"}
	r, err := chains.NewRegistry(a, b)
	require.NoError(t, err)
	got, err := r.Chain("A")
	require.NoError(t, err)
	assert.Same(t, b, got)
	_, err = r.Chain("C")
	assert.ErrorIs(t, err, chains.ErrUnknownNetwork)
	assert.Error(t, r.Register(&stub{name: "A"}), "a name is registered once")
	assert.Error(t, r.Register(&stub{}), "a network needs a name")
	assert.Equal(t, []chains.Network{{Name: "A"}, {Name: "B"}}, r.Networks())
	var zero chains.Registry
	require.NoError(t, zero.Register(a))
}

func TestWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &stub{script: []chains.Status{{State: chains.NotFound}, {State: chains.Pending}, {State: chains.Included, Confirmations: 1, Block: 7}, {State: chains.Included, Confirmations: 3, Block: 7}}}
	st, err := chains.Wait(ctx, s, "tx", 3, time.Microsecond)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), st.Confirmations)
	assert.Equal(t, int32(4), s.calls.Load())

	s = &stub{script: []chains.Status{{State: chains.Pending}, {State: chains.Failed, Confirmations: 1, Block: 9}}}
	st, err = chains.Wait(ctx, s, "tx", 1, time.Microsecond)
	assert.ErrorIs(t, err, chains.ErrFailed)
	assert.Equal(t, chains.Failed, st.State)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = chains.Wait(cctx, &stub{script: []chains.Status{{State: chains.Pending}}}, "tx", 1, time.Hour)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSignAllAndChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := chaintest.NewEd25519Key()
	u := &chains.Unsigned{Digests: []chains.Digest{{Scheme: chains.Ed25519, Bytes: []byte("one")}, {Scheme: chains.Ed25519, Bytes: []byte("two")}}}
	sigs, err := chains.SignAll(ctx, key, u)
	require.NoError(t, err)
	assert.Len(t, sigs, 2)

	boom := errors.New("boom")
	_, err = chains.SignAll(ctx, chaintest.Func(func(context.Context, chains.Digest) ([]byte, error) { return nil, boom }), u)
	assert.ErrorIs(t, err, boom)

	d := chains.Digest{Scheme: chains.BIP340, Bytes: make([]byte, 32), Taproot: &chains.Taproot{}}
	assert.NoError(t, chains.CheckDigests([]chains.Digest{d}, []chains.Digest{d}))
	for _, other := range []chains.Digest{
		{Scheme: chains.BIP340, Bytes: make([]byte, 32)},
		{Scheme: chains.ECDSA, Bytes: make([]byte, 32), Taproot: &chains.Taproot{}},
		{Scheme: chains.BIP340, Bytes: make([]byte, 31), Taproot: &chains.Taproot{}},
		{Scheme: chains.BIP340, Bytes: make([]byte, 32), Taproot: &chains.Taproot{MerkleRoot: make([]byte, 32)}},
	} {
		assert.ErrorIs(t, chains.CheckDigests([]chains.Digest{d}, []chains.Digest{other}), chains.ErrMismatch)
	}
	assert.ErrorIs(t, chains.CheckDigests(nil, []chains.Digest{d}), chains.ErrMismatch)

	for _, a := range []*big.Int{nil, big.NewInt(0), big.NewInt(-1)} {
		assert.ErrorIs(t, chains.CheckAmount(a), chains.ErrInvalidAmount)
	}
	assert.NoError(t, chains.CheckAmount(big.NewInt(1)))
}
