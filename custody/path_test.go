package custody_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/custody"
	"github.com/cairn-mpc/cairn/custody/custodytest"
	"github.com/cairn-mpc/cairn/policy"
)

// Recipients used by the tests (EIP-55 form).
var (
	payee   = common.HexToAddress("0x00000000000000000000000000000000000000aa").Hex()
	blocked = common.HexToAddress("0x00000000000000000000000000000000000000bb").Hex()
)

// fixture is a deployment with three users, an EVM wallet holding 10 ETH,
// and two policies: transfers to `blocked` are blocked; transfers worth more
// than 1,000 USD need bob's approval within an hour.
type fixture struct {
	env                 *custodytest.Env
	alice, bob, mallory *custodytest.User
	wallet              *custody.Wallet
}

func newFixture(t testing.TB, opts ...custodytest.Options) *fixture {
	t.Helper()
	env := custodytest.New(t, opts...)
	f := &fixture{
		env: env,
		alice: env.NewUser(t, "alice", policy.OpWalletsCreate, policy.OpWalletsRead,
			policy.OpWalletsTransfersCreate, policy.OpWalletsSignaturesCreate),
		bob:     env.NewUser(t, "bob", policy.OpPoliciesApprovalsDecide),
		mallory: env.NewUser(t, "mallory"),
	}
	req, err := custodytest.Do(t, f.alice, custody.CreateWalletRequest{Network: custodytest.Network, Name: "treasury", Tags: []string{"hot"}}, env.Service.CreateWallet)
	require.NoError(t, err)
	require.Equal(t, custody.StatusCompleted, req.Status, "reasons: %v", req.Reasons)
	f.wallet, err = env.Service.Wallet(context.Background(), req.WalletID)
	require.NoError(t, err)
	require.NoError(t, env.Chain.Fund(context.Background(), f.wallet.Address, custodytest.Ether(10)))

	for _, p := range []policy.Policy{
		{Name: "blocked recipient", ActivityKind: policy.WalletsSign, Rule: policy.Expression{CEL: `recipient == "` + blocked + `"`}, Action: policy.Block{}},
		{Name: "large transfers", ActivityKind: policy.WalletsSign, Rule: policy.TransactionAmountLimit{Limit: "1000", Currency: "USD"},
			Action: policy.RequestApproval{Groups: []policy.ApprovalGroup{{Name: "treasury", Quorum: 1, Approvers: []string{f.bob.ID}}}, AutoRejectTimeout: time.Hour}},
	} {
		act, err := custody.PolicyAction(p)
		require.NoError(t, err)
		c, err := env.Service.SetPolicy(context.Background(), env.Admin.Sign(t, act), p)
		require.NoError(t, err)
		require.Equal(t, policy.ChangeApplied, c.Status)
	}
	return f
}

// transfer has u send amount wei from the fixture's wallet to `to`.
func (f *fixture) transfer(t *testing.T, u *custodytest.User, to string, amount *big.Int) (*custody.Request, error) {
	t.Helper()
	return custodytest.Do(t, u, custody.TransferRequest{WalletID: f.wallet.ID, To: to, Amount: amount}, f.env.Service.Transfer)
}

// confirm mines a block and polls until r is Confirmed.
func (f *fixture) confirm(t *testing.T, r *custody.Request) *custody.Request {
	t.Helper()
	require.Equal(t, custody.StatusBroadcasted, r.Status, "reasons: %v", r.Reasons)
	f.env.Chain.Mine()
	require.NoError(t, f.env.Service.Poll(context.Background()))
	got, err := f.env.Service.Request(context.Background(), r.ID)
	require.NoError(t, err)
	require.Equal(t, custody.StatusConfirmed, got.Status, "reasons: %v", got.Reasons)
	return got
}

func (f *fixture) balance(t *testing.T, addr string) *big.Int {
	t.Helper()
	b, err := f.env.Chain.Balance(context.Background(), addr)
	require.NoError(t, err)
	return b
}

func milliEther(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e15)) }

// TestRequestPath walks every outcome of the request path on one
// deployment, in the path's order of steps.
func TestRequestPath(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := f.env.Service
	small := milliEther(100) // 0.1 ETH = 300 USD: allowed
	large := custodytest.Ether(1)

	t.Run("no permission is refused", func(t *testing.T) {
		_, err := f.transfer(t, f.mallory, payee, small)
		require.ErrorIs(t, err, custody.ErrForbidden)
		assert.ErrorIs(t, err, policy.ErrPermissionDenied)
	})
	t.Run("a bad user action is refused", func(t *testing.T) {
		signed := custody.TransferRequest{WalletID: f.wallet.ID, To: payee, Amount: small}
		act, err := signed.Action()
		require.NoError(t, err)
		tok := f.alice.Sign(t, act)
		sent := signed
		sent.Amount = large // the request that travels is not the one signed
		_, err = svc.Transfer(ctx, tok, sent)
		require.ErrorIs(t, err, custody.ErrUnauthenticated)
		assert.ErrorIs(t, err, authn.ErrActionMismatch)

		_, err = svc.Transfer(ctx, authn.Token("not-a-token"), signed)
		assert.ErrorIs(t, err, custody.ErrUnauthenticated)
	})
	t.Run("a Block policy rejects with its reasons", func(t *testing.T) {
		r, err := f.transfer(t, f.alice, blocked, small)
		require.NoError(t, err)
		assert.Equal(t, custody.StatusRejected, r.Status)
		require.NotEmpty(t, r.Reasons)
		assert.Contains(t, r.Reasons[0], "blocked recipient")
		assert.Empty(t, r.Signatures, "nothing was signed")
	})
	t.Run("allowed: broadcast and confirmed", func(t *testing.T) {
		before := f.balance(t, payee)
		r, err := f.transfer(t, f.alice, payee, small)
		require.NoError(t, err)
		r = f.confirm(t, r)
		assert.NotEmpty(t, r.TxID)
		assert.Equal(t, new(big.Int).Add(before, small), f.balance(t, payee))
	})
	t.Run("approval required: pending, approved by another user, confirmed", func(t *testing.T) {
		before := f.balance(t, payee)
		r, err := f.transfer(t, f.alice, payee, large)
		require.NoError(t, err)
		require.Equal(t, custody.StatusPending, r.Status)
		require.NotEmpty(t, r.ApprovalID)
		assert.Contains(t, r.Reasons[0], "large transfers")
		assert.Equal(t, before, f.balance(t, payee), "nothing moves while pending")

		_, err = f.alice.Approve(t, r.ApprovalID, "mine")
		assert.ErrorIs(t, err, policy.ErrNotEligible, "the initiator is no approver")
		_, err = f.mallory.Approve(t, r.ApprovalID, "")
		assert.ErrorIs(t, err, policy.ErrNotEligible, "an ineligible user cannot approve")
		still, err := svc.Request(ctx, r.ID)
		require.NoError(t, err)
		assert.Equal(t, custody.StatusPending, still.Status, "refused decisions change nothing")

		d, err := f.bob.Approve(t, r.ApprovalID, "expected payout")
		require.NoError(t, err)
		assert.Equal(t, policy.ApprovalApproved, d.Approval.Status)
		require.NotNil(t, d.Request)
		got := f.confirm(t, d.Request)
		assert.Equal(t, new(big.Int).Add(before, large), f.balance(t, payee))
		assert.Len(t, got.Signatures, 1)

		_, err = f.bob.Approve(t, r.ApprovalID, "again")
		assert.ErrorIs(t, err, policy.ErrApprovalClosed, "a decision on a finished approval is refused")
	})
	t.Run("denied: rejected", func(t *testing.T) {
		r, err := f.transfer(t, f.alice, payee, large)
		require.NoError(t, err)
		require.Equal(t, custody.StatusPending, r.Status)
		d, err := f.bob.Deny(t, r.ApprovalID, "not expected")
		require.NoError(t, err)
		assert.Equal(t, custody.StatusRejected, d.Request.Status)
		assert.Contains(t, d.Request.Reasons[0], "not expected")
	})
	t.Run("expired: rejected", func(t *testing.T) {
		r, err := f.transfer(t, f.alice, payee, large)
		require.NoError(t, err)
		require.Equal(t, custody.StatusPending, r.Status)
		f.env.Clock.Advance(2 * time.Hour)
		require.NoError(t, svc.Poll(ctx))
		got, err := svc.Request(ctx, r.ID)
		require.NoError(t, err)
		assert.Equal(t, custody.StatusRejected, got.Status)
		assert.Equal(t, []string{"approval expired"}, got.Reasons)
		_, err = f.bob.Approve(t, r.ApprovalID, "too late")
		assert.Error(t, err)
	})
	t.Run("the audit log verifies", func(t *testing.T) {
		require.NoError(t, svc.VerifyAuditLog(ctx))
	})
}

// TestBadInput: each refusal is typed and changes nothing.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := f.env.Service
	count := func() int {
		rs, err := svc.Requests(ctx, custody.RequestFilter{})
		require.NoError(t, err)
		return len(rs)
	}
	before := count()

	_, err := custodytest.Do(t, f.alice, custody.TransferRequest{WalletID: "wal_nope", To: payee, Amount: big.NewInt(1)}, svc.Transfer)
	assert.ErrorIs(t, err, custody.ErrUnknownWallet)

	_, err = f.transfer(t, f.alice, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", big.NewInt(1))
	assert.ErrorIs(t, err, chains.ErrInvalidAddress, "a Bitcoin address for an EVM wallet")

	_, err = f.transfer(t, f.alice, payee, big.NewInt(0))
	assert.ErrorIs(t, err, custody.ErrInvalid)

	_, err = custodytest.Do(t, f.alice, custody.CreateWalletRequest{Network: "Nowhere", Name: "x"}, svc.CreateWallet)
	assert.ErrorIs(t, err, chains.ErrUnknownNetwork)
	assert.Equal(t, before, count(), "no request was stored")

	// Idempotency by external id.
	body := custody.TransferRequest{WalletID: f.wallet.ID, To: payee, Amount: milliEther(1), ExternalID: "payout-42"}
	act, err := body.Action()
	require.NoError(t, err)
	tok := f.alice.Sign(t, act)
	first, err := svc.Transfer(ctx, tok, body)
	require.NoError(t, err)
	again, err := svc.Transfer(ctx, tok, body)
	require.NoError(t, err, "a retry with the same token and body")
	assert.Equal(t, first.ID, again.ID)
	again, err = custodytest.Do(t, f.alice, body, svc.Transfer)
	require.NoError(t, err, "the same body under a new signature")
	assert.Equal(t, first.ID, again.ID)
	other := body
	other.Amount = milliEther(2)
	_, err = custodytest.Do(t, f.alice, other, svc.Transfer)
	var ce *custody.ConflictError
	require.ErrorAs(t, err, &ce)
	assert.ErrorIs(t, err, custody.ErrConflict)
	assert.Equal(t, first.ID, ce.RequestID)
	assert.Equal(t, before+1, count(), "one request for one external id")

	_, err = f.bob.Approve(t, "apr_unknown", "")
	assert.ErrorIs(t, err, policy.ErrNotFound)
}

// TestRestartAfterApproval: the approval is recorded and the service dies
// before it signs; the next service signs the request once.
func TestRestartAfterApproval(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before := f.balance(t, payee)
	r, err := f.transfer(t, f.alice, payee, custodytest.Ether(2))
	require.NoError(t, err)
	require.Equal(t, custody.StatusPending, r.Status)

	// The decision reaches the policy engine, and the process dies before
	// custody hears of it: the request is still Pending in custody's store.
	d := custody.DecisionRequest{ApprovalID: r.ApprovalID, Reason: "ok"}
	act := d.Action(policy.VoteApproved)
	tok := f.bob.Sign(t, act)
	ev, err := f.env.Authn.VerifyAction(ctx, tok, act.Operation, act.Resource, act.Payload)
	require.NoError(t, err)
	evb, err := ev.MarshalBinary()
	require.NoError(t, err)
	a, err := f.env.Policies.Decide(ctx, policy.DecideRequest{ApprovalID: r.ApprovalID, User: f.bob.ID, Vote: policy.VoteApproved, Reason: "ok", Evidence: evb})
	require.NoError(t, err)
	require.Equal(t, policy.ApprovalApproved, a.Status)

	// A new service over the same store, whose coordinator counts the
	// signatures it is asked for.
	cfg := f.env.Config
	counting := &countingCoordinator{Coordinator: cfg.Coordinator}
	cfg.Coordinator = counting
	svc := f.env.Start(t, cfg)
	require.NoError(t, svc.Resume(ctx))
	require.NoError(t, svc.Resume(ctx), "a second resume finds nothing to do")
	got, err := svc.Request(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, custody.StatusBroadcasted, got.Status, "reasons: %v", got.Reasons)
	f.env.Chain.Mine()
	require.NoError(t, svc.Poll(ctx))
	got, err = svc.Request(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, custody.StatusConfirmed, got.Status)
	assert.Equal(t, int64(1), counting.signs.Load(), "signed once")
	assert.Equal(t, new(big.Int).Add(before, custodytest.Ether(2)), f.balance(t, payee), "paid once")
}

func TestSigningFailureIsFinal(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cfg := f.env.Config
	boom := errors.New("coordinator unreachable")
	cfg.Coordinator = &countingCoordinator{Coordinator: cfg.Coordinator, fail: boom}
	svc := f.env.Start(t, cfg)
	act, err := custody.TransferRequest{WalletID: f.wallet.ID, To: payee, Amount: milliEther(1)}.Action()
	require.NoError(t, err)
	r, err := svc.Transfer(ctx, f.alice.Sign(t, act), custody.TransferRequest{WalletID: f.wallet.ID, To: payee, Amount: milliEther(1)})
	require.ErrorIs(t, err, boom)
	got, err := svc.Request(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, custody.StatusFailed, got.Status)
	assert.Empty(t, got.Signatures)
}

// TestPoliciesPermissionsEvents: managing policies and permissions is a
// signed, permission-checked, audited call like any other, and every step of
// a request reaches in-process subscribers.
func TestPoliciesPermissionsEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := f.env.Service
	sub, cancel := svc.Events().Subscribe(32)
	defer cancel()

	ps, err := svc.Policies(ctx)
	require.NoError(t, err)
	var large policy.Policy
	for _, p := range ps {
		if p.Name == "large transfers" {
			large = p
		}
	}
	require.NotEmpty(t, large.ID)

	_, err = svc.ArchivePolicy(ctx, f.mallory.Sign(t, custody.ArchivePolicyAction(large.ID)), large.ID)
	require.ErrorIs(t, err, custody.ErrForbidden, "mallory may not archive policies")
	_, err = svc.ArchivePolicy(ctx, f.env.Admin.Sign(t, custody.ArchivePolicyAction("other")), large.ID)
	require.ErrorIs(t, err, custody.ErrUnauthenticated, "an action signed for another policy")

	c, err := svc.ArchivePolicy(ctx, f.env.Admin.Sign(t, custody.ArchivePolicyAction(large.ID)), large.ID)
	require.NoError(t, err)
	assert.Equal(t, policy.ChangeApplied, c.Status)

	// Without the approval policy, a large transfer goes through.
	r, err := f.transfer(t, f.alice, payee, custodytest.Ether(2))
	require.NoError(t, err)
	assert.Equal(t, custody.StatusBroadcasted, r.Status)

	// Permissions: mallory is given the transfer operation, then can.
	payouts := policy.Permission{Name: "payouts", Operations: []policy.Operation{policy.OpWalletsTransfersCreate}}
	act, err := custody.PermissionAction(payouts)
	require.NoError(t, err)
	pc, err := svc.CreatePermission(ctx, f.env.Admin.Sign(t, act), payouts)
	require.NoError(t, err)
	require.Equal(t, policy.ChangeApplied, pc.Status)
	_, err = svc.AssignPermission(ctx, f.env.Admin.Sign(t, custody.AssignmentAction(pc.Permission.ID, f.mallory.ID, true)), pc.Permission.ID, f.mallory.ID)
	require.NoError(t, err)
	r2, err := f.transfer(t, f.mallory, payee, milliEther(1))
	require.NoError(t, err)
	assert.Equal(t, custody.StatusBroadcasted, r2.Status)
	_, err = svc.RevokePermission(ctx, f.env.Admin.Sign(t, custody.AssignmentAction(pc.Permission.ID, f.mallory.ID, false)), pc.Permission.ID, f.mallory.ID)
	require.NoError(t, err)
	_, err = f.transfer(t, f.mallory, payee, milliEther(1))
	assert.ErrorIs(t, err, custody.ErrForbidden)

	// Subscribers saw r's steps, in order.
	seen := eventsOf(t, sub, r.ID, 5)
	assert.Equal(t, []string{"request.submitted", "request.approved", "request.signing", "request.signed", "request.broadcasted"}, seen)
	require.NoError(t, svc.VerifyAuditLog(ctx))
}
