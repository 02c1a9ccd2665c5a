package mpc_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/frost"
	"github.com/cairn-mpc/cairn/mpc/mpctest"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	decredecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), mpc.Scaled(d))
	t.Cleanup(cancel)
	return ctx
}

// verify checks a signature with a verifier that is not ours.
func verify(t *testing.T, sig *mpc.Signature, msg []byte) {
	t.Helper()
	switch sig.Scheme {
	case mpc.Ed25519:
		assert.True(t, ed25519.Verify(sig.PublicKey, msg, sig.Bytes), "crypto/ed25519")
	case mpc.Schnorr:
		pk, err := schnorr.ParsePubKey(sig.PublicKey)
		require.NoError(t, err)
		s, err := schnorr.ParseSignature(sig.Bytes)
		require.NoError(t, err)
		assert.True(t, s.Verify(msg, pk), "btcec schnorr")
	default:
		assert.NoError(t, frost.Verify(frost.Secp256k1, sig.PublicKey, msg, sig.Bytes))
	}
}

func TestClusterGenerateAndSign(t *testing.T) {
	t.Parallel()
	c := mpctest.New(t, 5)
	ctx := ctxFor(t, time.Minute)
	digest := sha256.Sum256([]byte("cluster"))
	for _, scheme := range []mpc.Scheme{mpc.Ed25519, mpc.Schnorr, mpc.SchnorrRFC} {
		key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: scheme, Threshold: 3, Signers: c.Nodes()})
		require.NoError(t, err, scheme)
		assert.Len(t, key.Parties, 5)
		sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: digest[:]})
		require.NoError(t, err, scheme)
		assert.Equal(t, key.PublicKey, sig.PublicKey)
		assert.Len(t, sig.Signers, 3)
		verify(t, sig, digest[:])
		if scheme == mpc.Schnorr {
			sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: digest[:], Taproot: &frost.Taproot{}})
			require.NoError(t, err)
			assert.NotEqual(t, key.PublicKey, sig.PublicKey, "signs under the BIP86 output key")
			verify(t, sig, digest[:])
		}
	}
}

func TestKeysSurviveRestart(t *testing.T) {
	t.Parallel()
	c := mpctest.New(t, 5)
	ctx := ctxFor(t, time.Minute)
	key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 3, Signers: c.Nodes()})
	require.NoError(t, err)
	c.StopAll()
	require.NoError(t, c.StartAll())
	msg := []byte("after a restart of every signer")
	sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: msg})
	require.NoError(t, err)
	verify(t, sig, msg)
}

func TestAvailability(t *testing.T) {
	t.Parallel()
	c := mpctest.New(t, 5, mpctest.Options{AttemptTimeout: mpc.Scaled(time.Second)})
	ctx := ctxFor(t, time.Minute)
	key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 3, Signers: c.Nodes()})
	require.NoError(t, err)

	// Two of five down, among the first quorum the coordinator would pick.
	c.Stop("signer-1")
	c.Stop("signer-3")
	msg := []byte("two signers are down")
	sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: msg})
	require.NoError(t, err)
	verify(t, sig, msg)
	assert.ElementsMatch(t, []transport.NodeID{"signer-2", "signer-4", "signer-5"}, sig.Signers)

	// Three down: no quorum, and the error says who did not answer.
	c.Stop("signer-5")
	start := time.Now()
	_, err = c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: msg})
	var ce *mpc.CeremonyError
	require.ErrorAs(t, err, &ce)
	assert.ErrorIs(t, err, mpc.ErrNoQuorum)
	assert.Subset(t, ce.NoAnswer, []transport.NodeID{"signer-5"})
	for _, down := range []transport.NodeID{"signer-1", "signer-3", "signer-5"} {
		assert.Contains(t, err.Error(), string(down))
	}
	assert.Less(t, time.Since(start), mpc.Scaled(10*time.Second), "fails within the attempts' deadlines")
}

func TestGateRefusalStopsTheSignature(t *testing.T) {
	t.Parallel()
	var refuse atomic.Bool
	gate := func(node transport.NodeID) mpc.Gate {
		return mpc.GateFunc(func(ctx context.Context, req mpc.GateRequest) error {
			if node == "signer-2" && refuse.Load() {
				return errors.New("amount over the daily limit")
			}
			return nil
		})
	}
	c := mpctest.New(t, 3, mpctest.Options{Gate: gate})
	ctx := ctxFor(t, time.Minute)
	key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 2, Signers: c.Nodes()})
	require.NoError(t, err)
	refuse.Store(true)
	_, err = c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: []byte("x")})
	var ce *mpc.CeremonyError
	require.ErrorAs(t, err, &ce)
	assert.ErrorIs(t, err, mpc.ErrGateRefused)
	assert.Contains(t, ce.Refused, transport.NodeID("signer-2"))
	assert.Contains(t, err.Error(), "amount over the daily limit")
}

// TestEvidenceReachesTheGates: what the caller attaches to a SignRequest
// reaches every quorum member's gate byte for byte, for the three-round
// ECDSA path and for the online step from a presignature alike.
func TestEvidenceReachesTheGates(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[transport.NodeID][][]byte{}
	gate := func(node transport.NodeID) mpc.Gate {
		return mpc.GateFunc(func(ctx context.Context, req mpc.GateRequest) error {
			mu.Lock()
			defer mu.Unlock()
			seen[node] = append(seen[node], bytes.Clone(req.Evidence))
			if len(req.Evidence) == 0 {
				return errors.New("no evidence")
			}
			return nil
		})
	}
	c := mpctest.New(t, 3, mpctest.Options{Gate: gate})
	ctx := ctxFor(t, 2*time.Minute)
	key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.ECDSA, Threshold: 2, Signers: c.Nodes()})
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("evidence"))
	_, err = c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: digest[:]})
	require.ErrorIs(t, err, mpc.ErrGateRefused, "without evidence every gate refuses")

	for _, presign := range []bool{false, true} {
		if presign {
			n, err := c.Coordinator.Presign(ctx, key.ID, 1)
			require.NoError(t, err)
			require.Equal(t, 1, n)
		}
		mu.Lock()
		clear(seen)
		mu.Unlock()
		ev := []byte(fmt.Sprintf("signed action, presigned=%v", presign))
		sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: digest[:], Evidence: ev})
		require.NoError(t, err)
		mu.Lock()
		for _, node := range sig.Signers {
			require.NotEmpty(t, seen[node], "signer %s was not asked", node)
			assert.Equal(t, ev, seen[node][len(seen[node])-1], "signer %s", node)
		}
		mu.Unlock()
	}
}

func TestHTTPGate(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Content-Type"))
		mu.Unlock()
		var body struct {
			Signer  string `json:"signer"`
			Message string `json:"message"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if body.Signer != "signer-1" || body.Message != hex.EncodeToString([]byte("ok")) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	g := &mpc.HTTPGate{URL: srv.URL, Client: srv.Client()}
	ctx := ctxFor(t, 10*time.Second)
	req := mpc.GateRequest{Signer: "signer-1", KeyID: "k", Scheme: mpc.Ed25519, PublicKey: []byte{1}, Message: []byte("ok")}
	require.NoError(t, g.Approve(ctx, req))
	req.Message = []byte("no")
	err := g.Approve(ctx, req)
	assert.ErrorIs(t, err, mpc.ErrGateRefused)
	assert.Contains(t, err.Error(), "403")
	srv.Close()
	assert.ErrorIs(t, g.Approve(ctx, mpc.GateRequest{Message: []byte("ok")}), mpc.ErrGateRefused, "an unreachable gate refuses")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "application/json", seen[0])
}

func TestConcurrentSigning(t *testing.T) {
	t.Parallel()
	c := mpctest.New(t, 5, mpctest.Options{AttemptTimeout: mpc.Scaled(30 * time.Second)})
	ctx := ctxFor(t, 5*time.Minute)
	var keys []*mpc.KeyInfo
	for i := 0; i < 4; i++ {
		k, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 3, Signers: c.Nodes()})
		require.NoError(t, err)
		keys = append(keys, k)
	}
	for _, tc := range []struct {
		name string
		keys []*mpc.KeyInfo
	}{{"one key", keys[:1]}, {"many keys", keys}} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 200
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					msg := []byte(fmt.Sprintf("request %d", i))
					sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: tc.keys[i%len(tc.keys)].ID, Message: msg})
					if err == nil && !ed25519.Verify(sig.PublicKey, msg, sig.Bytes) {
						err = fmt.Errorf("request %d: signature does not verify", i)
					}
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				assert.NoError(t, err)
			}
		})
	}
}

// BenchmarkClusterSign measures signing throughput on a 3-of-5 in-memory
// cluster with many sessions in flight: the coordinator's request, the
// signers' gate-free FROST ceremony over the memory transport, and the
// coordinator's verification, for b.N signatures, 64 at a time.
func BenchmarkClusterSign(b *testing.B) {
	for _, mode := range []struct {
		scheme  mpc.Scheme
		presign bool
	}{{mpc.Ed25519, false}, {mpc.Schnorr, false}, {mpc.ECDSA, false}, {mpc.ECDSA, true}} {
		name := string(mode.scheme)
		if mode.presign {
			name += "/presigned"
		}
		b.Run(name, func(b *testing.B) {
			c := mpctest.New(b, 5, mpctest.Options{AttemptTimeout: mpc.Scaled(time.Minute)})
			ctx := context.Background()
			key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mode.scheme, Threshold: 3, Signers: c.Nodes()})
			if err != nil {
				b.Fatal(err)
			}
			if mode.presign {
				// The pool is filled before the clock starts: the online
				// step is what is measured.
				if _, err := c.Coordinator.Presign(ctx, key.ID, b.N); err != nil {
					b.Fatal(err)
				}
			}
			msg := sha256.Sum256([]byte("throughput"))
			sem := make(chan struct{}, 64)
			var wg sync.WaitGroup
			var failed atomic.Int64
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					if _, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: msg[:]}); err != nil {
						failed.Add(1)
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sigs/s")
			if failed.Load() > 0 {
				b.Fatalf("%d signatures failed", failed.Load())
			}
		})
	}
}

// tamperRecord stops a signer, rewrites (or deletes, if f returns nil) its
// sealed record of a key in its store, and starts it again.
func tamperRecord(t *testing.T, c *mpctest.Cluster, node transport.NodeID, keyID string, f func([]byte) []byte) {
	t.Helper()
	c.Stop(node)
	st, err := bolt.Open(c.Node(node).StorePath, nil)
	require.NoError(t, err)
	err = st.Update(context.Background(), func(tx store.Tx) error {
		v, err := tx.Get("mpc/keys", []byte(keyID))
		if err != nil {
			return err
		}
		if nv := f(v); nv != nil {
			return tx.Put("mpc/keys", []byte(keyID), nv)
		}
		return tx.Delete("mpc/keys", []byte(keyID))
	})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	require.NoError(t, c.Start(node))
}

func TestSignerWithoutItsShare(t *testing.T) {
	t.Parallel()
	c := mpctest.New(t, 5, mpctest.Options{AttemptTimeout: mpc.Scaled(time.Second)})
	ctx := ctxFor(t, time.Minute)
	key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 3, Signers: c.Nodes()})
	require.NoError(t, err)

	// signer-1 lost its record; signer-2's was corrupted on disk.
	tamperRecord(t, c, "signer-1", key.ID, func([]byte) []byte { return nil })
	tamperRecord(t, c, "signer-2", key.ID, func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
	_, err = c.Node("signer-2").Signer.Keys(ctx)
	require.Error(t, err, "a corrupted record fails the integrity check")
	assert.Contains(t, err.Error(), key.ID)

	msg := []byte("routed around two signers that cannot sign")
	sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: msg})
	require.NoError(t, err)
	verify(t, sig, msg)
	assert.ElementsMatch(t, []transport.NodeID{"signer-3", "signer-4", "signer-5"}, sig.Signers)

	// A key nobody knows.
	_, err = c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: "no-such-key", Message: msg})
	assert.ErrorIs(t, err, mpc.ErrUnknownKey)
}

// TestNoSecretInLogs runs key generation and signing with every node logging
// at debug level, then looks for each signer's share in the log, in hex and
// raw.
func TestNoSecretInLogs(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := mpctest.New(t, 3, mpctest.Options{Logger: logger})
	ctx := ctxFor(t, time.Minute)
	key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Schnorr, Threshold: 2, Signers: c.Nodes()})
	require.NoError(t, err)
	_, err = c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: make([]byte, 32)})
	require.NoError(t, err)
	logs := buf.String()
	require.Contains(t, logs, key.ID, "the logs are being captured")
	for _, id := range c.Nodes() {
		secret := shareSecret(t, c.Node(id), key.ID)
		assert.NotContains(t, logs, hex.EncodeToString(secret))
		assert.NotContains(t, logs, string(secret))
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// shareSecret opens a signer's sealed record of a key, as only a holder of
// its KEK can, and returns the secret share: the test's needle. It reads the
// record layout (a wire-encoded array whose last field is the
// dkg.KeyShare encoding) white-box.
func shareSecret(t *testing.T, n *mpctest.Node, keyID string) []byte {
	t.Helper()
	kek, err := store.ReadKEKFile(n.KEKPath)
	require.NoError(t, err)
	var rec []byte
	require.NoError(t, n.Store.View(context.Background(), func(tx store.Tx) error {
		rec, err = store.GetSealed(context.Background(), tx, store.NewSealer(kek), "mpc/keys", []byte(keyID),
			store.RecordRef{Signer: string(n.ID), KeyID: keyID, Kind: "share", Version: 1})
		return err
	}))
	var fields []any
	require.NoError(t, cbor.Unmarshal(rec[1:], &fields))
	share := &dkg.KeyShare{}
	require.NoError(t, share.UnmarshalBinary(fields[len(fields)-1].([]byte)))
	return share.Secret.Bytes()
}

func verifyECDSA(t *testing.T, sig *mpc.Signature, digest []byte) {
	t.Helper()
	require.Len(t, sig.Bytes, 65)
	var r, s secp256k1.ModNScalar
	require.Zero(t, r.SetByteSlice(sig.Bytes[:32]))
	require.Zero(t, s.SetByteSlice(sig.Bytes[32:64]))
	assert.False(t, s.IsOverHalfOrder(), "low s")
	pub, err := secp256k1.ParsePubKey(sig.PublicKey)
	require.NoError(t, err)
	assert.True(t, decredecdsa.NewSignature(&r, &s).Verify(digest, pub), "decred ecdsa.Verify")
	compact := append([]byte{27 + 4 + sig.Bytes[64]}, sig.Bytes[:64]...)
	recovered, _, err := decredecdsa.RecoverCompact(compact, digest)
	require.NoError(t, err)
	assert.Equal(t, sig.PublicKey, recovered.SerializeCompressed(), "the recovered key is the group key")
}

func TestClusterECDSA(t *testing.T) {
	t.Parallel()
	c := mpctest.New(t, 5)
	ctx := ctxFor(t, 4*time.Minute)
	key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.ECDSA, Threshold: 3, Signers: c.Nodes()})
	require.NoError(t, err)
	require.Len(t, key.PublicKey, 33)

	digest := sha256.Sum256([]byte("ecdsa over the cluster"))
	sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: digest[:]})
	require.NoError(t, err)
	assert.Equal(t, key.PublicKey, sig.PublicKey)
	verifyECDSA(t, sig, digest[:])

	_, err = c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: []byte("not a digest")})
	assert.Error(t, err, "an ECDSA key signs 32-byte digests only")

	// Presignatures: made ahead, kept sealed by the signers, used once.
	made, err := c.Coordinator.Presign(ctx, key.ID, 3)
	require.NoError(t, err)
	require.Equal(t, 3, made)
	c.StopAll() // they survive a restart of every signer
	require.NoError(t, c.StartAll())
	for i := range 3 {
		d := sha256.Sum256([]byte(fmt.Sprint("presigned ", i)))
		sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: d[:]})
		require.NoError(t, err)
		verifyECDSA(t, sig, d[:])
		n, err := c.Coordinator.PresignCount(ctx, key.ID)
		require.NoError(t, err)
		assert.Equal(t, 2-i, n, "each signature spends one presignature")
	}
	// With the pool empty, signing falls back to the three-round protocol.
	sig, err = c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: digest[:]})
	require.NoError(t, err)
	verifyECDSA(t, sig, digest[:])

	// Two signers down: still signs.
	c.Stop("signer-2")
	c.Stop("signer-4")
	sig, err = c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: digest[:]})
	require.NoError(t, err)
	verifyECDSA(t, sig, digest[:])
}

// TestShareNotInStoreFile generates a key, then reads every signer's raw
// bbolt file: its share must not be in it, in binary or hex; and a record
// moved to another key id does not open.
func TestShareNotInStoreFile(t *testing.T) {
	t.Parallel()
	c := mpctest.New(t, 3)
	ctx := ctxFor(t, time.Minute)
	key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 2, Signers: c.Nodes()})
	require.NoError(t, err)
	secrets := map[transport.NodeID][]byte{}
	for _, id := range c.Nodes() {
		secrets[id] = shareSecret(t, c.Node(id), key.ID)
	}
	c.StopAll()
	for _, id := range c.Nodes() {
		raw, err := os.ReadFile(c.Node(id).StorePath)
		require.NoError(t, err)
		require.NotEmpty(t, raw)
		assert.False(t, bytes.Contains(raw, secrets[id]), "%s: share in the clear", id)
		assert.False(t, bytes.Contains(raw, []byte(hex.EncodeToString(secrets[id]))), "%s: share in hex", id)
	}
	// The same record under another key id does not open.
	st, err := bolt.Open(c.Node("signer-1").StorePath, nil)
	require.NoError(t, err)
	require.NoError(t, st.Update(ctx, func(tx store.Tx) error {
		rec, err := tx.Get("mpc/keys", []byte(key.ID))
		if err != nil {
			return err
		}
		return tx.Put("mpc/keys", []byte("another-key"), rec)
	}))
	require.NoError(t, st.Close())
	require.NoError(t, c.Start("signer-1"))
	_, err = c.Node("signer-1").Signer.Keys(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, store.ErrUnseal)
	assert.Contains(t, err.Error(), "another-key")
}
