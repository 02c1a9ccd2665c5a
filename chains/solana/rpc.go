package solana

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/cairn-mpc/cairn/chains"
)

// FinalizedConfirmations is the confirmation count Status reports for a
// finalized (rooted) transaction, for which the cluster gives no count: the
// depth of Tower BFT's lockout.
const FinalizedConfirmations = 32

// RPC is a Client over a cluster's JSON-RPC API.
type RPC struct {
	C *rpc.Client
	// Commitment is the commitment reads use; empty means confirmed.
	Commitment rpc.CommitmentType
}

var _ Client = RPC{}

func (r RPC) commitment() rpc.CommitmentType {
	if r.Commitment == "" {
		return rpc.CommitmentConfirmed
	}
	return r.Commitment
}

// LatestBlockhash implements Client.
func (r RPC) LatestBlockhash(ctx context.Context) (solana.Hash, error) {
	out, err := r.C.GetLatestBlockhash(ctx, r.commitment())
	if err != nil {
		return solana.Hash{}, err
	}
	if out == nil || out.Value == nil {
		return solana.Hash{}, errors.New("solana: empty getLatestBlockhash answer")
	}
	return out.Value.Blockhash, nil
}

// Balance implements Client.
func (r RPC) Balance(ctx context.Context, account solana.PublicKey) (uint64, error) {
	out, err := r.C.GetBalance(ctx, account, r.commitment())
	if err != nil {
		return 0, err
	}
	if out == nil {
		return 0, errors.New("solana: empty getBalance answer")
	}
	return out.Value, nil
}

// TokenBalance implements Client: it reads the account and its amount from
// the SPL token account layout (mint 32, owner 32, amount u64 LE).
func (r RPC) TokenBalance(ctx context.Context, account solana.PublicKey) (uint64, bool, error) {
	out, err := r.C.GetAccountInfoWithOpts(ctx, account, &rpc.GetAccountInfoOpts{Encoding: solana.EncodingBase64, Commitment: r.commitment()})
	if errors.Is(err, rpc.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if out == nil || out.Value == nil {
		return 0, false, nil
	}
	if out.Value.Owner != solana.TokenProgramID {
		return 0, false, fmt.Errorf("solana: %s is owned by %s, not the Token program", account, out.Value.Owner)
	}
	data := out.Value.Data.GetBinary()
	if len(data) < 72 {
		return 0, false, fmt.Errorf("solana: %s holds %d bytes, not a token account", account, len(data))
	}
	return binary.LittleEndian.Uint64(data[64:72]), true, nil
}

// SendTransaction implements Client.
func (r RPC) SendTransaction(ctx context.Context, tx []byte) error {
	_, err := r.C.SendRawTransactionWithOpts(ctx, tx, rpc.TransactionOpts{PreflightCommitment: r.commitment()})
	return err
}

// SignatureStatus implements Client: processed is Pending; confirmed is
// Included with the cluster's count of confirmations (at least one);
// finalized is Included with FinalizedConfirmations; an error is Failed.
func (r RPC) SignatureStatus(ctx context.Context, sig solana.Signature) (chains.Status, error) {
	out, err := r.C.GetSignatureStatuses(ctx, true, sig)
	if err != nil {
		return chains.Status{}, err
	}
	if out == nil || len(out.Value) == 0 || out.Value[0] == nil {
		return chains.Status{State: chains.NotFound}, nil
	}
	v := out.Value[0]
	st := chains.Status{State: chains.Included, Block: v.Slot}
	switch {
	case v.ConfirmationStatus == rpc.ConfirmationStatusProcessed:
		return chains.Status{State: chains.Pending, Block: v.Slot}, nil
	case v.Confirmations == nil || v.ConfirmationStatus == rpc.ConfirmationStatusFinalized:
		st.Confirmations = FinalizedConfirmations
	default:
		st.Confirmations = max(*v.Confirmations, 1)
	}
	if v.Err != nil {
		st.State = chains.Failed
	}
	return st, nil
}
