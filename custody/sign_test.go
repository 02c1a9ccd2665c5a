package custody_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/evm"
	"github.com/cairn-mpc/cairn/custody"
	"github.com/cairn-mpc/cairn/custody/audit"
	"github.com/cairn-mpc/cairn/custody/custodytest"
	"github.com/cairn-mpc/cairn/custody/events"
)

// TestSignatures: message signatures (EIP-191, raw hash) on an EVM wallet,
// a Solana wallet's Ed25519 signature, and a caller-built transaction
// signed without broadcast; each verified outside Cairn.
func TestSignatures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := f.env.Service

	msg := []byte("I own this wallet")
	// A message is of unknown value: the 1,000 USD policy fails closed
	// and holds it for approval.
	r, err := custodytest.Do(t, f.alice, custody.SignMessageRequest{WalletID: f.wallet.ID, Format: evm.PersonalMessage, Data: msg}, svc.SignMessage)
	require.NoError(t, err)
	require.Equal(t, custody.StatusPending, r.Status)
	d, err := f.bob.Approve(t, r.ApprovalID, "ownership proof")
	require.NoError(t, err)
	r = d.Request
	require.Equal(t, custody.StatusCompleted, r.Status, "reasons: %v", r.Reasons)
	addr, err := evm.RecoverAddress(evm.PersonalMessageHash(msg), r.Result)
	require.NoError(t, err)
	assert.Equal(t, f.wallet.Address, addr.Hex(), "EIP-191 signature recovers to the wallet")

	// EIP-712 typed data (the EIP's own example, moved to chain 1337),
	// signed by the wallet.
	raw, err := os.ReadFile("../chains/evm/testdata/eip712.json")
	require.NoError(t, err)
	var vector struct {
		TypedData json.RawMessage `json:"typedData"`
	}
	require.NoError(t, json.Unmarshal(raw, &vector))
	// On this chain: the adapter refuses a domain of another chain id.
	vector.TypedData = bytes.Replace(vector.TypedData, []byte(`"chainId": 1,`), []byte(`"chainId": 1337,`), 1)
	r, err = custodytest.Do(t, f.alice, custody.SignMessageRequest{WalletID: f.wallet.ID, Format: evm.TypedData, Data: vector.TypedData}, svc.SignMessage)
	require.NoError(t, err)
	require.Equal(t, custody.StatusPending, r.Status)
	d, err = f.bob.Approve(t, r.ApprovalID, "permit")
	require.NoError(t, err)
	require.Equal(t, custody.StatusCompleted, d.Request.Status, "reasons: %v", d.Request.Reasons)
	hash, _, err := evm.TypedDataHash(vector.TypedData)
	require.NoError(t, err)
	addr, err = evm.RecoverAddress(hash, d.Request.Result)
	require.NoError(t, err)
	assert.Equal(t, f.wallet.Address, addr.Hex(), "EIP-712 signature recovers to the wallet")

	sol, err := custodytest.Do(t, f.alice, custody.CreateWalletRequest{Network: custodytest.SolanaNetwork, Name: "sol"}, svc.CreateWallet)
	require.NoError(t, err)
	require.Equal(t, custody.StatusCompleted, sol.Status, "reasons: %v", sol.Reasons)
	sw, err := svc.Wallet(ctx, sol.WalletID)
	require.NoError(t, err)
	assert.Equal(t, chains.Ed25519, sw.PublicKey.Scheme)
	r, err = custodytest.Do(t, f.alice, custody.SignMessageRequest{WalletID: sw.ID, Format: custody.FormatHash, Data: msg}, svc.SignMessage)
	require.NoError(t, err)
	require.Equal(t, custody.StatusPending, r.Status)
	d, err = f.bob.Approve(t, r.ApprovalID, "proof of reserves")
	require.NoError(t, err)
	require.Equal(t, custody.StatusCompleted, d.Request.Status, "reasons: %v", d.Request.Reasons)
	assert.True(t, ed25519.Verify(sw.PublicKey.Bytes, msg, d.Request.Result))

	// A transaction the caller built, signed and returned, not sent.
	u, err := f.env.Chain.Chain.Transfer(ctx, chains.Transfer{From: f.wallet.PublicKey, To: payee, Amount: milliEther(5)})
	require.NoError(t, err)
	r, err = custodytest.Do(t, f.alice, custody.SignTransactionRequest{WalletID: f.wallet.ID, Payload: u.Payload}, svc.SignTransaction)
	require.NoError(t, err)
	require.Equal(t, custody.StatusCompleted, r.Status, "reasons: %v", r.Reasons)
	assert.NotEmpty(t, r.TxID)
	assert.NotEmpty(t, r.Result)
	assert.Equal(t, payee, r.Activity.Recipient, "policies saw what the payload pays")
}

// TestAuditLogTamper: the audit log of a real run verifies, offline from
// its export too; changing one byte of any entry's content fails
// verification at that entry.
func TestAuditLogTamper(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := f.env.Service
	r, err := f.transfer(t, f.alice, payee, custodytest.Ether(2))
	require.NoError(t, err)
	_, err = f.bob.Approve(t, r.ApprovalID, "ok")
	require.NoError(t, err)
	require.NoError(t, svc.VerifyAuditLog(ctx))

	var export bytes.Buffer
	require.NoError(t, svc.ExportAuditLog(ctx, &export))
	keys := custody.CredentialKeys(f.env.Authn)
	require.NoError(t, custody.VerifyAuditLog(ctx, bytes.NewReader(export.Bytes()), keys))

	entries, err := svc.AuditLog(ctx, 1, 0)
	require.NoError(t, err)
	require.Greater(t, len(entries), 8)
	withEvidence := 0
	for i := range entries {
		if len(entries[i].Evidence) > 0 {
			withEvidence++
		}
	}
	assert.GreaterOrEqual(t, withEvidence, 5, "user actions are kept with their signatures")

	// One byte of each entry's content, in turn: the details, the subject,
	// the actor, or a byte inside a signed action.
	for i := range entries {
		tampered := cloneEntries(entries)
		e := &tampered[i]
		switch {
		case len(e.Evidence) > 0:
			e.Evidence[0][len(e.Evidence[0])/2] ^= 0x01
		case len(e.Details) > 0:
			e.Details[len(e.Details)/2] ^= 0x01
		default:
			e.Subject += "x"
		}
		err := audit.VerifyEntries(ctx, tampered, keys)
		var ve *audit.VerifyError
		require.ErrorAs(t, err, &ve, "entry %d", e.Seq)
		assert.Equal(t, e.Seq, ve.Seq)
	}
}

func cloneEntries(in []audit.Entry) []audit.Entry {
	out := make([]audit.Entry, len(in))
	for i, e := range in {
		out[i] = e
		out[i].Details = bytes.Clone(e.Details)
		out[i].Evidence = make([][]byte, len(e.Evidence))
		for j := range e.Evidence {
			out[i].Evidence[j] = bytes.Clone(e.Evidence[j])
		}
	}
	return out
}

// TestWebhooks: request events reach a webhook that fails its first
// attempts, each delivered once, signed.
func TestWebhooks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	secret := []byte("0123456789abcdef0123456789abcdef")
	var mu sync.Mutex
	calls := map[string]int{}
	got := map[string]events.Event{}
	delivered := make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get("Cairn-Event-Id")
		mu.Lock()
		calls[id]++
		n := calls[id]
		mu.Unlock()
		if n < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if err := events.Verify(secret, r.Header.Get(events.SignatureHeader), body, time.Now(), time.Hour); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var e events.Event
		if json.Unmarshal(body, &e) != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[id] = e
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		delivered <- id
	}))
	defer srv.Close()
	require.NoError(t, f.env.Service.Events().AddWebhook(ctx, events.Webhook{ID: "ops", URL: srv.URL, Secret: secret, Types: []string{"request.pending", "request.rejected"}}))

	r, err := f.transfer(t, f.alice, payee, custodytest.Ether(2))
	require.NoError(t, err)
	_, err = f.bob.Deny(t, r.ApprovalID, "no")
	require.NoError(t, err)

	want := map[string]string{r.ID + "/Pending": "request.pending", r.ID + "/Rejected": "request.rejected"}
	deadline := time.After(30 * time.Second)
	for range want {
		select {
		case <-delivered:
		case <-deadline:
			t.Fatal("webhooks not delivered")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for id, typ := range want {
		assert.Equal(t, 3, calls[id], "%s: two failures, then delivered once", id)
		assert.Equal(t, typ, got[id].Type)
		assert.Equal(t, r.ID, got[id].Subject)
		assert.NotContains(t, string(got[id].Data), `"evidence"`, "events carry no evidence")
	}
	// The signature is HMAC-SHA256 over "t.body", recomputed here.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("1." + "{}"))
	h := events.Sign(secret, time.Unix(1, 0), []byte("{}"))
	assert.True(t, strings.Contains(h, hex.EncodeToString(mac.Sum(nil))))
}

// TestPresignatures: with a pool configured, a transfer is signed from a
// presignature (the pool shrinks by one) and still verifies on chain.
func TestPresignatures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cfg := f.env.Config
	cfg.Presignatures = 2
	cfg.PollInterval = time.Hour // Run does not refill behind the test's back
	svc := f.env.Start(t, cfg)
	require.NoError(t, svc.FillPresignatures(ctx))
	pool := f.env.Cluster.Coordinator
	n, err := pool.PresignCount(ctx, f.wallet.KeyID)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	r, err := f.transfer(t, f.alice, payee, milliEther(3))
	require.NoError(t, err)
	f.confirm(t, r)
	n, err = pool.PresignCount(ctx, f.wallet.KeyID)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the signature used one presignature")
}
