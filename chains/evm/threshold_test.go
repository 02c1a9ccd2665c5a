package evm_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/mpctest"
)

// thresholdKey signs through a coordinator with a threshold key.
type thresholdKey struct {
	coord *mpc.Coordinator
	info  *mpc.KeyInfo
}

func (k thresholdKey) Public() chains.PublicKey {
	return chains.PublicKey{Scheme: chains.ECDSA, Bytes: k.info.PublicKey}
}

func (k thresholdKey) Sign(ctx context.Context, d chains.Digest) ([]byte, error) {
	sig, err := k.coord.Sign(ctx, mpc.SignRequest{KeyID: k.info.ID, Message: d.Bytes})
	if err != nil {
		return nil, err
	}
	return sig.Bytes, nil
}

// TestSimulatedThresholdKey funds the address of a 3-of-5 threshold ECDSA
// key (DKLs23) on the simulated chain and sends ether and tokens from it.
func TestSimulatedThresholdKey(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a DKG and signing ceremonies")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := mpctest.New(t, 5)
	info, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.ECDSA, Threshold: 3, Signers: c.Nodes()})
	require.NoError(t, err)
	require.Len(t, info.PublicKey, 33)
	key := thresholdKey{coord: c.Coordinator, info: info}
	nativeTransfers(t, newSim(t, key))
	tokenTransfers(t, newSim(t, key))
}
