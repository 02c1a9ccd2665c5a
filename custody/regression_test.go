package custody_test

import (
	"context"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/custody"
	"github.com/cairn-mpc/cairn/custody/custodytest"
	"github.com/cairn-mpc/cairn/mpc"
)

// TestApprovedTransferAfterAnother: a transfer waits for approval while
// another transfer from the same wallet is sent and mined; once approved, it
// still reaches the chain (it was not built with a nonce since used).
func TestApprovedTransferAfterAnother(t *testing.T) {
	f := newFixture(t)
	before := f.balance(t, payee)
	large, err := f.transfer(t, f.alice, payee, custodytest.Ether(2))
	require.NoError(t, err)
	require.Equal(t, custody.StatusPending, large.Status)

	small, err := f.transfer(t, f.alice, payee, milliEther(1))
	require.NoError(t, err)
	f.confirm(t, small)

	d, err := f.bob.Approve(t, large.ApprovalID, "ok")
	require.NoError(t, err)
	got := f.confirm(t, d.Request)
	assert.Len(t, got.Signatures, 1)
	want := new(big.Int).Add(before, custodytest.Ether(2))
	assert.Equal(t, want.Add(want, milliEther(1)), f.balance(t, payee))
}

// TestConcurrentTransfers: two transfers of one wallet submitted at once,
// both built before either is sent, both reach the chain.
func TestConcurrentTransfers(t *testing.T) {
	f := newFixture(t)
	var built sync.WaitGroup
	built.Add(2)
	c := &hookedChain{Chain: f.env.Chain.Chain, afterTransfer: func(n int64) {
		if n <= 2 { // both submissions built their transaction: same nonce
			built.Done()
			built.Wait()
		}
	}}
	svc := f.withChain(t, c)
	before := f.balance(t, payee)
	var wg sync.WaitGroup
	rs := make([]*custody.Request, 2)
	errs := make([]error, 2)
	for i := range rs {
		body := custody.TransferRequest{WalletID: f.wallet.ID, To: payee, Amount: milliEther(int64(i + 1))}
		act, err := body.Action()
		require.NoError(t, err)
		tok := f.alice.Sign(t, act)
		wg.Go(func() { rs[i], errs[i] = svc.Transfer(context.Background(), tok, body) })
	}
	wg.Wait()
	for i := range rs {
		require.NoError(t, errs[i])
		require.Equal(t, custody.StatusBroadcasted, rs[i].Status, "reasons: %v", rs[i].Reasons)
	}
	for i := range rs {
		f.confirm(t, rs[i])
	}
	assert.Equal(t, new(big.Int).Add(before, milliEther(3)), f.balance(t, payee))
}

// TestDroppedTransactionIsSentAgain: a node acknowledges a broadcast and
// loses the transaction; Poll, which finds the network does not know it,
// sends it again, and the request reaches Confirmed.
func TestDroppedTransactionIsSentAgain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := &hookedChain{Chain: f.env.Chain.Chain}
	c.dropBroadcasts.Store(1)
	svc := f.withChain(t, c)
	before := f.balance(t, payee)
	r, err := custodytest.Do(t, f.alice, custody.TransferRequest{WalletID: f.wallet.ID, To: payee, Amount: milliEther(5)}, svc.Transfer)
	require.NoError(t, err)
	require.Equal(t, custody.StatusBroadcasted, r.Status)
	f.env.Chain.Mine()
	require.NoError(t, svc.Poll(ctx)) // the network does not know it
	f.env.Chain.Mine()
	require.NoError(t, svc.Poll(ctx))
	got, err := svc.Request(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, custody.StatusConfirmed, got.Status)
	assert.Equal(t, new(big.Int).Add(before, milliEther(5)), f.balance(t, payee))
}

// TestConcurrentSameExternalID: two submissions of one body under one
// external id, both past the idempotency lookup before either is stored,
// get the same request; a third with another body is a conflict.
func TestConcurrentSameExternalID(t *testing.T) {
	f := newFixture(t)
	var built sync.WaitGroup
	built.Add(2)
	c := &hookedChain{Chain: f.env.Chain.Chain, afterTransfer: func(n int64) {
		if n <= 2 {
			built.Done()
			built.Wait()
		}
	}}
	svc := f.withChain(t, c)
	body := custody.TransferRequest{WalletID: f.wallet.ID, To: payee, Amount: milliEther(1), ExternalID: "payout-7"}
	act, err := body.Action()
	require.NoError(t, err)
	var wg sync.WaitGroup
	rs := make([]*custody.Request, 2)
	errs := make([]error, 2)
	for i := range rs {
		tok := f.alice.Sign(t, act)
		wg.Go(func() { rs[i], errs[i] = svc.Transfer(context.Background(), tok, body) })
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Equal(t, rs[0].ID, rs[1].ID)
	all, err := svc.Requests(context.Background(), custody.RequestFilter{WalletID: f.wallet.ID})
	require.NoError(t, err)
	transfers := 0
	for _, r := range all {
		if r.Kind == custody.KindTransfer {
			transfers++
		}
	}
	assert.Equal(t, 1, transfers, "one request for one external id")

	other := body
	other.Amount = milliEther(2)
	_, err = custodytest.Do(t, f.alice, other, svc.Transfer)
	var ce *custody.ConflictError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, rs[0].ID, ce.RequestID)
}

// TestWalletHandleActsOnItsWallet: a handle's operations refuse a request
// naming another wallet, before anything is spent or stored.
func TestWalletHandleActsOnItsWallet(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := f.env.Service
	created, err := custodytest.Do(t, f.alice, custody.CreateWalletRequest{Network: custodytest.Network, Name: "other"}, svc.CreateWallet)
	require.NoError(t, err)
	require.Equal(t, custody.StatusCompleted, created.Status)
	before, err := svc.Requests(ctx, custody.RequestFilter{})
	require.NoError(t, err)

	tr := custody.TransferRequest{WalletID: created.WalletID, To: payee, Amount: milliEther(1)}
	_, err = custodytest.Do(t, f.alice, tr, f.wallet.Transfer)
	assert.ErrorIs(t, err, custody.ErrInvalid)
	st := custody.SignTransactionRequest{WalletID: created.WalletID, Payload: []byte{1}}
	_, err = custodytest.Do(t, f.alice, st, f.wallet.SignTransaction)
	assert.ErrorIs(t, err, custody.ErrInvalid)
	sm := custody.SignMessageRequest{WalletID: created.WalletID, Format: custody.FormatHash, Data: make([]byte, 32)}
	_, err = custodytest.Do(t, f.alice, sm, f.wallet.SignMessage)
	assert.ErrorIs(t, err, custody.ErrInvalid)

	after, err := svc.Requests(ctx, custody.RequestFilter{})
	require.NoError(t, err)
	assert.Len(t, after, len(before), "nothing was stored")
}

// TestEventsForEveryStep: subscribers see each step a request takes, the
// submission and the signing included.
func TestEventsForEveryStep(t *testing.T) {
	f := newFixture(t)
	sub, cancel := f.env.Service.Events().Subscribe(64)
	defer cancel()
	r, err := f.transfer(t, f.alice, payee, milliEther(1))
	require.NoError(t, err)
	r = f.confirm(t, r)
	want := []string{"request.submitted", "request.approved", "request.signing", "request.signed", "request.broadcasted", "request.confirmed"}
	seen := eventsOf(t, sub, r.ID, len(want))
	assert.Equal(t, want, seen)
}

// TestNilInputs: nil and zero values are refused with ErrInvalid or
// ErrEvidence, not a panic.
func TestNilInputs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	assert.ErrorIs(t, custody.VerifyAuditLog(ctx, nil, nil), custody.ErrInvalid)
	assert.ErrorIs(t, custody.VerifyAuditLog(ctx, strings.NewReader(""), nil), custody.ErrInvalid)
	var w *custody.Wallet
	_, err := w.Requests(ctx)
	assert.ErrorIs(t, err, custody.ErrInvalid)
	_, err = w.Transfer(ctx, "", custody.TransferRequest{})
	assert.ErrorIs(t, err, custody.ErrInvalid)
	var g *custody.EvidenceGate
	assert.ErrorIs(t, g.Approve(ctx, mpc.GateRequest{}), custody.ErrEvidence)
	assert.ErrorIs(t, new(custody.EvidenceGate).Approve(ctx, mpc.GateRequest{Evidence: []byte{1}}), custody.ErrEvidence)
}
