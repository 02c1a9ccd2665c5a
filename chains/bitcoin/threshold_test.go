package bitcoin_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/frost"
	"github.com/cairn-mpc/cairn/mpc/mpctest"
)

// thresholdKey signs through a coordinator with a threshold key.
type thresholdKey struct {
	coord *mpc.Coordinator
	id    string
}

func (k thresholdKey) Sign(ctx context.Context, d chains.Digest) ([]byte, error) {
	req := mpc.SignRequest{KeyID: k.id, Message: d.Bytes}
	if d.Taproot != nil {
		req.Taproot = &frost.Taproot{MerkleRoot: d.Taproot.MerkleRoot}
	}
	sig, err := k.coord.Sign(ctx, req)
	if err != nil {
		return nil, err
	}
	return sig.Bytes, nil
}

// TestP2TRSpendThresholdKey spends P2TR coins with a 3-of-5 FROST key
// (BIP340 with the BIP86 tweak) from an in-memory cluster.
func TestP2TRSpendThresholdKey(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a DKG and signing ceremonies")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := mpctest.New(t, 5)
	info, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Schnorr, Threshold: 3, Signers: c.Nodes()})
	require.NoError(t, err)
	require.Len(t, info.PublicKey, 32)
	spendTest(t, chains.PublicKey{Scheme: chains.BIP340, Bytes: info.PublicKey}, thresholdKey{coord: c.Coordinator, id: info.ID})
}

// TestP2WPKHSpendThresholdKey spends P2WPKH coins with a 3-of-5 threshold
// ECDSA key (DKLs23) from an in-memory cluster.
func TestP2WPKHSpendThresholdKey(t *testing.T) {
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
	spendTest(t, chains.PublicKey{Scheme: chains.ECDSA, Bytes: info.PublicKey}, thresholdKey{coord: c.Coordinator, id: info.ID})
}
