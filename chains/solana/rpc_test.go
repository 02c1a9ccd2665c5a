package solana_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	sol "github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/solana"
)

// TestRPC checks the JSON-RPC client's reading of each answer it relies on,
// against a server that answers as the Solana JSON-RPC API documents.
func TestRPC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bh := sol.Hash{4, 5, 6}
	tokenAcct, missing, notToken := sol.NewWallet().PublicKey(), sol.NewWallet().PublicKey(), sol.NewWallet().PublicKey()
	sigFinal, sigFailed, sigProcessed, sigConfirmed := sol.Signature{1}, sol.Signature{2}, sol.Signature{3}, sol.Signature{4}
	data := make([]byte, 165)
	binary.LittleEndian.PutUint64(data[64:], 777)
	var sent []string

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage
			Method string
			Params []json.RawMessage
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		ctxv := map[string]any{"slot": 10}
		var result any
		switch req.Method {
		case "getLatestBlockhash":
			result = map[string]any{"context": ctxv, "value": map[string]any{"blockhash": bh.String(), "lastValidBlockHeight": 99}}
		case "getBalance":
			result = map[string]any{"context": ctxv, "value": 4242}
		case "getAccountInfo":
			var who string
			require.NoError(t, json.Unmarshal(req.Params[0], &who))
			owner := sol.TokenProgramID.String()
			switch who {
			case missing.String():
				result = map[string]any{"context": ctxv, "value": nil}
			case notToken.String():
				owner = sol.SystemProgramID.String()
				fallthrough
			default:
				result = map[string]any{"context": ctxv, "value": map[string]any{
					"data": []string{base64.StdEncoding.EncodeToString(data), "base64"}, "executable": false,
					"lamports": 2039280, "owner": owner, "rentEpoch": 0,
				}}
			}
		case "sendTransaction":
			var raw string
			require.NoError(t, json.Unmarshal(req.Params[0], &raw))
			sent = append(sent, raw)
			result = sol.Signature{9}.String()
		case "getSignatureStatuses":
			var sigs []string
			require.NoError(t, json.Unmarshal(req.Params[0], &sigs))
			var v any
			switch sigs[0] {
			case sigFinal.String():
				v = map[string]any{"slot": 50, "confirmations": nil, "err": nil, "confirmationStatus": "finalized"}
			case sigFailed.String():
				v = map[string]any{"slot": 51, "confirmations": 2, "err": map[string]any{"InstructionError": []any{0, "Custom"}}, "confirmationStatus": "confirmed"}
			case sigProcessed.String():
				v = map[string]any{"slot": 52, "confirmations": 0, "err": nil, "confirmationStatus": "processed"}
			case sigConfirmed.String():
				v = map[string]any{"slot": 53, "confirmations": 5, "err": nil, "confirmationStatus": "confirmed"}
			}
			result = map[string]any{"context": ctxv, "value": []any{v}}
		default:
			t.Errorf("unexpected method %s", req.Method)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	}))
	defer srv.Close()

	c := solana.RPC{C: rpc.New(srv.URL)}
	got, err := c.LatestBlockhash(ctx)
	require.NoError(t, err)
	assert.Equal(t, bh, got)
	bal, err := c.Balance(ctx, tokenAcct)
	require.NoError(t, err)
	assert.Equal(t, uint64(4242), bal)
	amt, ok, err := c.TokenBalance(ctx, tokenAcct)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, uint64(777), amt)
	_, ok, err = c.TokenBalance(ctx, missing)
	require.NoError(t, err)
	assert.False(t, ok)
	_, _, err = c.TokenBalance(ctx, notToken)
	assert.Error(t, err)
	require.NoError(t, c.SendTransaction(ctx, []byte{1, 2, 3}))
	require.Len(t, sent, 1)
	for _, tc := range []struct {
		sig  sol.Signature
		want chains.Status
	}{
		{sigFinal, chains.Status{State: chains.Included, Confirmations: solana.FinalizedConfirmations, Block: 50}},
		{sigFailed, chains.Status{State: chains.Failed, Confirmations: 2, Block: 51}},
		{sigProcessed, chains.Status{State: chains.Pending, Block: 52}},
		{sigConfirmed, chains.Status{State: chains.Included, Confirmations: 5, Block: 53}},
		{sol.Signature{8}, chains.Status{State: chains.NotFound}},
	} {
		st, err := c.SignatureStatus(ctx, tc.sig)
		require.NoError(t, err)
		assert.Equal(t, tc.want, st, tc.sig.String())
	}
}

// TestRPCNullBalance: a cluster that answers getBalance with a null result
// (a broken or hostile endpoint) gets an error, not a nil dereference.
func TestRPCNullBalance(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ID json.RawMessage }
		_ = json.NewDecoder(r.Body).Decode(&req)
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": nil})
	}))
	defer srv.Close()
	_, err := solana.RPC{C: rpc.New(srv.URL)}.Balance(context.Background(), sol.NewWallet().PublicKey())
	assert.ErrorContains(t, err, "empty getBalance answer")
}
