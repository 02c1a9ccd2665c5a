package mpc

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/frost"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// frostKeys runs a DKG over the memory network and converts every share to
// a FROST key share of suite.
func (c *cluster) frostKeys(t testing.TB, suite *frost.Suite, threshold int) map[round.PartyID]*frost.KeyShare {
	t.Helper()
	out := map[round.PartyID]*frost.KeyShare{}
	for id, ks := range keyShares(t, c.runDKG(t, suite.Curve(), threshold, nil)) {
		fk, err := frost.NewKeyShare(suite, id, ks.Threshold, ks.Secret, ks.GroupKey, ks.VerificationShares)
		require.NoError(t, err)
		out[id] = fk
	}
	return out
}

// runSign runs one FROST signing session among signers over the memory
// network.
func (c *cluster) runSign(keys map[round.PartyID]*frost.KeyShare, signers []round.PartyID, msg []byte, tr *frost.Taproot,
	conns map[round.PartyID]Conn, cfg func(round.PartyID) frost.Config) map[round.PartyID]result {
	sess := round.NewSessionID(frost.Protocol, keys[signers[0]].GroupKey().Bytes(), signers, []byte(fmt.Sprintf("%x%v", msg, time.Now().UnixNano())))
	ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
	defer cancel()
	return c.runProto(ctx, frost.Protocol, sess, signers, conns, nil, func(id round.PartyID) (round.Round, []round.Message, error) {
		var conf frost.Config
		if cfg != nil {
			conf = cfg(id)
		}
		return frost.NewSigning(keys[id], frost.SignRequest{Session: sess, Signers: signers, Message: msg, Taproot: tr}, conf)
	})
}

// subsets returns every k-subset of ids, in order.
func subsets(ids []round.PartyID, k int) [][]round.PartyID {
	if k == 0 {
		return [][]round.PartyID{nil}
	}
	var out [][]round.PartyID
	for i := 0; i <= len(ids)-k; i++ {
		for _, rest := range subsets(ids[i+1:], k-1) {
			out = append(out, append([]round.PartyID{ids[i]}, rest...))
		}
	}
	return out
}

// verifyIndependently checks a signature with a verifier that is not ours
// wherever one exists.
func verifyIndependently(t *testing.T, suite *frost.Suite, sig *frost.Signature, msg []byte) {
	t.Helper()
	switch suite {
	case frost.Ed25519:
		assert.True(t, ed25519.Verify(sig.PublicKey, msg, sig.Bytes), "crypto/ed25519 rejects the signature")
	case frost.BIP340:
		pk, err := schnorr.ParsePubKey(sig.PublicKey)
		require.NoError(t, err)
		s, err := schnorr.ParseSignature(sig.Bytes)
		require.NoError(t, err)
		assert.True(t, s.Verify(msg, pk), "btcec schnorr rejects the signature")
	default:
		assert.NoError(t, frost.Verify(suite, sig.PublicKey, msg, sig.Bytes))
	}
}

// TestDKGThenSignEverySubset is the foundation's end-to-end check: a 3-of-5
// DKG over the memory transport, then a signature from each of the ten
// 3-party subsets, on both curves, each verified independently.
func TestDKGThenSignEverySubset(t *testing.T) {
	t.Parallel()
	digest := sha256.Sum256([]byte("cairn: 3-of-5 over every subset"))
	cases := []struct {
		name  string
		suite *frost.Suite
		tr    *frost.Taproot
	}{
		{"ed25519", frost.Ed25519, nil},
		{"secp256k1", frost.Secp256k1, nil},
		{"bip340", frost.BIP340, nil},
		{"bip340-bip86", frost.BIP340, &frost.Taproot{}},
		{"bip340-script-tree", frost.BIP340, &frost.Taproot{MerkleRoot: digest[:]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, 5)
			keys := c.frostKeys(t, tc.suite, 3)
			all := subsets(c.parties, 3)
			require.Len(t, all, 10)
			for _, signers := range all {
				res := c.runSign(keys, signers, digest[:], tc.tr, nil, nil)
				var first []byte
				for _, id := range signers {
					require.NoError(t, res[id].err, "signers %v, party %d", signers, id)
					sig := res[id].out.(*frost.Signature)
					verifyIndependently(t, tc.suite, sig, digest[:])
					if first == nil {
						first = sig.Bytes
					}
					assert.Equal(t, first, sig.Bytes, "every signer aggregates the same signature")
				}
			}
		})
	}
}

func TestSignMaliciousParty(t *testing.T) {
	t.Parallel()
	const bad = round.PartyID(3)
	signers := []round.PartyID{1, 3, 5}
	msg := []byte("pay 1 BTC to mallory")
	c := newCluster(t, 5)
	keys := c.frostKeys(t, frost.Ed25519, 3)
	scalarOne := frost.Ed25519.Curve().ScalarFromUint64(1).Bytes()
	point := frost.Ed25519.Curve().MulBase(frost.Ed25519.Curve().ScalarFromUint64(99)).Bytes()

	cases := []struct {
		name      string
		rnd       uint16
		to        []round.PartyID
		edit      func([]byte) []byte
		sentinels []error
	}{
		{"bad signature share", 2, nil, func(p []byte) []byte {
			return rewriteFields(p, func(f []any) []any { f[3] = scalarOne; return f })
		}, []error{round.ErrInvalidShare}},
		{"invalid commitment point", 1, nil, func(p []byte) []byte {
			return rewriteFields(p, func(f []any) []any { f[1] = make([]byte, 32); return f })
		}, []error{round.ErrMalformed}},
		{"reused nonce commitment (hiding = binding)", 1, nil, func(p []byte) []byte {
			return rewriteFields(p, func(f []any) []any { f[2] = f[1]; return f })
		}, []error{frost.ErrDuplicateCommitment}},
		{"commitment equivocation", 1, []round.PartyID{5}, func(p []byte) []byte {
			return rewriteFields(p, func(f []any) []any { f[2] = point; return f })
		}, []error{round.ErrEquivocation}},
		{"message for another session", 1, nil, func(p []byte) []byte {
			return rewriteFields(p, func(f []any) []any { f[0] = make([]byte, 32); return f })
		}, []error{frost.ErrWrongSession}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := c.runSign(keys, signers, msg, nil, c.malicious(bad, tc.rnd, true, tc.to, tc.edit), nil)
			for _, id := range signers {
				if id == bad {
					continue
				}
				for _, s := range tc.sentinels {
					assertAbort(t, res[id].err, s, bad)
				}
				assert.Nil(t, res[id].out, "party %d returned a signature", id)
			}
		})
	}

	t.Run("message from a non-member", func(t *testing.T) {
		// Party 2 holds a share of the key but is not a signer of this
		// session. It pushes a nonce commitment, signed with its real
		// identity key, into the session: every signer refuses it and the
		// session completes among the signers.
		sess := round.NewSessionID(frost.Protocol, nil, signers, []byte("non-member"))
		_, out, err := frost.NewSigning(keys[2], frost.SignRequest{Session: sess, Signers: []round.PartyID{1, 2, 5}, Message: msg}, frost.Config{})
		require.NoError(t, err)
		out[0].Session, out[0].From = sess, 2
		sealed, err := round.Seal(c.keys[2], out[0], false)
		require.NoError(t, err)
		fr, err := encodeFrame(sess, sealed)
		require.NoError(t, err)
		for _, id := range signers {
			require.NoError(t, c.net.Endpoint(node(2)).Send(context.Background(), node(id), fr))
		}
		refused := map[round.PartyID]bool{}
		var mu sync.Mutex
		ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
		defer cancel()
		res := c.runProto(ctx, frost.Protocol, sess, signers, nil, func(self round.PartyID, from transport.NodeID, err error) {
			mu.Lock()
			defer mu.Unlock()
			refused[self] = refused[self] || (from == node(2) && errors.Is(err, round.ErrUnknownSender))
		}, func(id round.PartyID) (round.Round, []round.Message, error) {
			return frost.NewSigning(keys[id], frost.SignRequest{Session: sess, Signers: signers, Message: msg}, frost.Config{})
		})
		for _, id := range signers {
			require.NoError(t, res[id].err)
			verifyIndependently(t, frost.Ed25519, res[id].out.(*frost.Signature), msg)
			assert.True(t, refused[id], "party %d did not refuse the non-member", id)
		}
	})

	t.Run("missing nonce commitment", func(t *testing.T) {
		conns := c.tamper(bad, func(_ transport.NodeID, m round.Message, echo bool) (round.Message, bool) {
			return m, m.Round != 1 || echo // never sends its commitment
		})
		res := c.runSignWithin(keys, signers, msg, conns, 300*time.Millisecond)
		for _, id := range signers {
			if id != bad {
				assertAbort(t, res[id].err, round.ErrDeadline, bad)
				assert.Nil(t, res[id].out)
			}
		}
	})

	t.Run("nonce commitment reused across sessions", func(t *testing.T) {
		// Party 3 replays, in a second session, the commitment it used in
		// the first; the honest signers' commitment logs refuse it.
		logs := map[round.PartyID]*frost.CommitmentLog{}
		for _, id := range signers {
			logs[id] = frost.NewCommitmentLog()
		}
		cfg := func(id round.PartyID) frost.Config { return frost.Config{Log: logs[id]} }
		var first []byte
		record := c.malicious(bad, 1, true, nil, func(p []byte) []byte { first = p; return p })
		res := c.runSign(keys, signers, msg, nil, record, cfg)
		for _, id := range signers {
			if id != bad { // the recording party may be stopped early
				require.NoError(t, res[id].err)
			}
		}
		replay := c.malicious(bad, 1, true, nil, func(p []byte) []byte {
			return rewriteFields(p, func(f []any) []any {
				old := decodeFieldsOf(first)
				f[1], f[2] = old[1], old[2]
				return f
			})
		})
		res = c.runSign(keys, signers, msg, nil, replay, cfg)
		for _, id := range signers {
			if id != bad {
				assertAbort(t, res[id].err, frost.ErrReusedCommitment, bad)
				assert.Nil(t, res[id].out)
			}
		}
	})
}

func decodeFieldsOf(payload []byte) []any {
	var fields []any
	rewriteFields(payload, func(f []any) []any { fields = slices.Clone(f); return f })
	return fields
}

func (c *cluster) runSignWithin(keys map[round.PartyID]*frost.KeyShare, signers []round.PartyID, msg []byte, conns map[round.PartyID]Conn, d time.Duration) map[round.PartyID]result {
	sess := round.NewSessionID(frost.Protocol, nil, signers, []byte(time.Now().String()))
	ctx, cancel := context.WithTimeout(context.Background(), scaled(d))
	defer cancel()
	return c.runProto(ctx, frost.Protocol, sess, signers, conns, nil, func(id round.PartyID) (round.Round, []round.Message, error) {
		return frost.NewSigning(keys[id], frost.SignRequest{Session: sess, Signers: signers, Message: msg}, frost.Config{})
	})
}

// TestCeremoniesUnderFaults runs DKG and FROST signing with drops, delays,
// duplicates and reordering on every link: each party either finishes with
// a correct result (a key share that matches the others', a signature that
// verifies) or stops at its deadline with an *AbortError; never a wrong
// result, never a hang. TestMain's goleak check covers leftover goroutines.
func TestCeremoniesUnderFaults(t *testing.T) {
	t.Parallel()
	faults := map[string]memory.Faults{
		"drop":      {Drop: 0.03},
		"delay":     {Delay: time.Millisecond, Jitter: 2 * time.Millisecond},
		"duplicate": {Duplicate: 0.5},
		"reorder":   {Reorder: 3, ReorderTimeout: 2 * time.Millisecond},
	}
	msg := []byte("under faults")
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			completed, stopped := 0, 0
			check := func(err error) bool {
				if err == nil {
					completed++
					return true
				}
				var ae *AbortError
				require.ErrorAs(t, err, &ae)
				require.ErrorIs(t, err, round.ErrDeadline, "only the deadline may stop a faulty run")
				stopped++
				return false
			}
			for seed := range uint64(3) {
				c := newCluster(t, 5, memory.WithRand(mrand.NewPCG(seed, 11)))
				keys := c.frostKeys(t, frost.Ed25519, 3) // on a clean network
				require.NoError(t, c.net.SetFaults(memory.Link{From: memory.Any, To: memory.Any}, f))

				res := c.runDKG(t, frost.BIP340.Curve(), 3, nil)
				var group []byte
				for _, r := range res {
					if check(r.err) {
						ks := r.out.(*dkg.KeyShare)
						if group == nil {
							group = ks.GroupKey.Bytes()
						}
						assert.Equal(t, group, ks.GroupKey.Bytes(), "parties that finish agree on the key")
					}
				}
				signers := []round.PartyID{2, 3, 5}
				for _, r := range c.runSign(keys, signers, msg, nil, nil, nil) {
					if check(r.err) {
						verifyIndependently(t, frost.Ed25519, r.out.(*frost.Signature), msg)
					}
				}
				c.net.Close()
			}
			t.Logf("%s: %d party-runs completed, %d stopped at the deadline", name, completed, stopped)
			if name != "drop" {
				assert.Zero(t, stopped, "lossless faults must not stop a run")
			}
		})
	}
}
