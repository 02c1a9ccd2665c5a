package custody_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn"
	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/custody"
	"github.com/cairn-mpc/cairn/custody/custodytest"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/policy"
)

// evidenceOf is the evidence custody itself sends for r.
func evidenceOf(t *testing.T, r *custody.Request) *custody.SigningEvidence {
	t.Helper()
	return &custody.SigningEvidence{RequestID: r.ID, Kind: r.Kind, WalletID: r.WalletID, Initiator: r.Evidence, Body: r.Body, Unsigned: r.Unsigned, ApprovalID: r.ApprovalID}
}

func encode(t *testing.T, e *custody.SigningEvidence) []byte {
	t.Helper()
	b, err := e.MarshalBinary()
	require.NoError(t, err)
	return b
}

// TestCoordinatorAloneGetsNothing: a coordinator that asks the signers
// directly, with hand-made requests, obtains no signature unless a user
// asked for exactly that one and the policies let it through.
func TestCoordinatorAloneGetsNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	coord := f.env.Cluster.Coordinator
	chain := f.env.Chain.Chain

	allowed, err := f.transfer(t, f.alice, payee, milliEther(10))
	require.NoError(t, err)
	require.Equal(t, custody.StatusBroadcasted, allowed.Status)
	pending, err := f.transfer(t, f.alice, payee, custodytest.Ether(3))
	require.NoError(t, err)
	require.Equal(t, custody.StatusPending, pending.Status)

	// The coordinator's own transaction: all the wallet's ether to it.
	theft, err := chain.Transfer(ctx, chains.Transfer{From: f.wallet.PublicKey, To: blocked, Amount: custodytest.Ether(9)})
	require.NoError(t, err)
	other := sha256.Sum256([]byte("anything"))

	forged := evidenceOf(t, allowed)
	var ev authn.Evidence
	require.NoError(t, ev.UnmarshalBinary(forged.Initiator))
	ev.Signature[len(ev.Signature)/2] ^= 1
	forged.Initiator, err = ev.MarshalBinary()
	require.NoError(t, err)

	swapped := evidenceOf(t, allowed)
	swapped.Unsigned = theft.Payload

	// A second payment under the allowed transfer's action: the same
	// recipient and amount, on the next nonce. Everything the body says
	// holds; only the action was already used.
	again, err := chain.Transfer(ctx, chains.Transfer{From: f.wallet.PublicKey, To: payee, Amount: milliEther(10)})
	require.NoError(t, err)
	require.NotEqual(t, allowed.Digests[0].Bytes, again.Digests[0].Bytes)
	replayed := evidenceOf(t, allowed)
	replayed.Unsigned = again.Payload

	cases := []struct {
		name     string
		digest   []byte
		evidence []byte
	}{
		{"no evidence", theft.Digests[0].Bytes, nil},
		{"garbage evidence", theft.Digests[0].Bytes, []byte{1, 2, 3}},
		{"a real request's evidence, another digest", other[:], encode(t, evidenceOf(t, allowed))},
		{"a real request's evidence, the coordinator's transaction", theft.Digests[0].Bytes, encode(t, swapped)},
		{"a forged initiator signature", allowed.Digests[0].Bytes, encode(t, forged)},
		{"a request still waiting for approval", pending.Digests[0].Bytes, encode(t, evidenceOf(t, pending))},
		{"a real request's evidence, a second payment", again.Digests[0].Bytes, encode(t, replayed)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sig, err := coord.Sign(ctx, mpc.SignRequest{KeyID: f.wallet.KeyID, Message: c.digest, Evidence: c.evidence})
			require.ErrorIs(t, err, mpc.ErrGateRefused)
			assert.Nil(t, sig)
			assert.Contains(t, err.Error(), "signing evidence refused")
		})
	}

	// The control: the genuine evidence of an allowed request is enough
	// (asked again, for the transaction it was used for), so the refusals
	// above are the evidence's, not the gate's mood.
	sig, err := coord.Sign(ctx, mpc.SignRequest{KeyID: f.wallet.KeyID, Message: allowed.Digests[0].Bytes, Evidence: encode(t, evidenceOf(t, allowed))})
	require.NoError(t, err)
	assert.Len(t, sig.Bytes, 65)

	// And once approved, the pending request's evidence is too.
	_, err = f.bob.Approve(t, pending.ApprovalID, "ok")
	require.NoError(t, err)
	sig, err = coord.Sign(ctx, mpc.SignRequest{KeyID: f.wallet.KeyID, Message: pending.Digests[0].Bytes, Evidence: encode(t, evidenceOf(t, pending))})
	require.NoError(t, err)
	assert.Len(t, sig.Bytes, 65)
}

// FuzzSigningEvidence: the signers' decoder of evidence never panics and
// accepts only what re-encodes to the same bytes.
func FuzzSigningEvidence(f *testing.F) {
	seed := &custody.SigningEvidence{RequestID: "req_1", Kind: custody.KindTransfer, WalletID: "wal_1", Initiator: []byte{1}, Body: []byte(`{}`), Unsigned: []byte{2}, ApprovalID: "ap-1"}
	b, err := seed.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e custody.SigningEvidence
		if err := e.UnmarshalBinary(b); err != nil {
			if !assert.ErrorIs(t, err, custody.ErrEvidence) {
				t.FailNow()
			}
			return
		}
		again, err := e.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, b, again)
	})
}

// TestGateRequestIDIsNotTheCoordinators: the activity the signers re-check
// is named by the initiator's action, not by the request id the coordinator
// writes in the evidence. A coordinator that names an allowed request of
// the same wallet and amount in the evidence of a blocked one would
// otherwise have that request's entry left out of the velocity windows, and
// the blocked transfer signed.
func TestGateRequestIDIsNotTheCoordinators(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	daily := policy.Policy{Name: "one transfer a day", ActivityKind: policy.WalletsSign,
		Rule: policy.TransactionCountVelocity{Limit: 1, Timeframe: 24 * time.Hour}, Action: policy.Block{}}
	act, err := custody.PolicyAction(daily)
	require.NoError(t, err)
	_, err = f.env.Service.SetPolicy(ctx, f.env.Admin.Sign(t, act), daily)
	require.NoError(t, err)

	first, err := f.transfer(t, f.alice, payee, milliEther(1))
	require.NoError(t, err)
	require.Equal(t, custody.StatusBroadcasted, first.Status)
	second, err := f.transfer(t, f.alice, payee, milliEther(1))
	require.NoError(t, err)
	require.Equal(t, custody.StatusRejected, second.Status)

	coord := f.env.Cluster.Coordinator
	for _, id := range []string{second.ID, first.ID} {
		e := evidenceOf(t, second)
		e.RequestID = id
		sig, err := coord.Sign(ctx, mpc.SignRequest{KeyID: f.wallet.KeyID, Message: second.Digests[0].Bytes, Evidence: encode(t, e)})
		require.ErrorIs(t, err, mpc.ErrGateRefused, "request id %s", id)
		assert.Nil(t, sig)
	}
}

// TestGateBlockOverridesApproval: an approval lets the signers sign what
// the policies hold for approval, not what they now block. A Block policy
// added after the approval (a recipient found to be a thief) stops the
// signature.
func TestGateBlockOverridesApproval(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.transfer(t, f.alice, payee, custodytest.Ether(2))
	require.NoError(t, err)
	require.Equal(t, custody.StatusPending, r.Status)
	// bob's approval reaches the policy engine; custody has not acted on
	// it yet.
	d := custody.DecisionRequest{ApprovalID: r.ApprovalID, Reason: "ok"}
	act := d.Action(policy.VoteApproved)
	ev, err := f.env.Authn.VerifyAction(ctx, f.bob.Sign(t, act), act.Operation, act.Resource, act.Payload)
	require.NoError(t, err)
	evb, err := ev.MarshalBinary()
	require.NoError(t, err)
	a, err := f.env.Policies.Decide(ctx, policy.DecideRequest{ApprovalID: r.ApprovalID, User: f.bob.ID, Vote: policy.VoteApproved, Reason: "ok", Evidence: evb})
	require.NoError(t, err)
	require.Equal(t, policy.ApprovalApproved, a.Status)

	stop := policy.Policy{Name: "stop payee", ActivityKind: policy.WalletsSign, Rule: policy.Expression{CEL: `recipient == "` + payee + `"`}, Action: policy.Block{}}
	pa, err := custody.PolicyAction(stop)
	require.NoError(t, err)
	_, err = f.env.Service.SetPolicy(ctx, f.env.Admin.Sign(t, pa), stop)
	require.NoError(t, err)

	sig, err := f.env.Cluster.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: f.wallet.KeyID, Message: r.Digests[0].Bytes, Evidence: encode(t, evidenceOf(t, r))})
	require.ErrorIs(t, err, mpc.ErrGateRefused)
	assert.Nil(t, sig)
}

// TestGateStaleOrRevokedInitiator: the genuine evidence of an allowed
// request stops opening the signers once the initiator's credential is
// revoked, or once it is older than MaxAge.
func TestGateStaleOrRevokedInitiator(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	coord := f.env.Cluster.Coordinator
	r, err := f.transfer(t, f.alice, payee, milliEther(1))
	require.NoError(t, err)
	require.Equal(t, custody.StatusBroadcasted, r.Status)
	sign := func() error {
		_, err := coord.Sign(ctx, mpc.SignRequest{KeyID: f.wallet.KeyID, Message: r.Digests[0].Bytes, Evidence: encode(t, evidenceOf(t, r))})
		return err
	}
	require.NoError(t, sign(), "the control: still within MaxAge")
	f.env.Clock.Advance(25 * time.Hour)
	assert.ErrorIs(t, sign(), mpc.ErrGateRefused, "older than MaxAge")

	r2, err := f.transfer(t, f.alice, payee, milliEther(1))
	require.NoError(t, err)
	require.Equal(t, custody.StatusBroadcasted, r2.Status)
	var ev authn.Evidence
	require.NoError(t, ev.UnmarshalBinary(r2.Evidence))
	require.NoError(t, f.env.Authn.RevokeCredential(ctx, ev.CredentialID))
	_, err = coord.Sign(ctx, mpc.SignRequest{KeyID: f.wallet.KeyID, Message: r2.Digests[0].Bytes, Evidence: encode(t, evidenceOf(t, r2))})
	assert.ErrorIs(t, err, mpc.ErrGateRefused, "revoked credential")
}
