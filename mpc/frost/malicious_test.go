package frost

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// The malicious-party tests run 3-of-5 keys with signers 1, 3 and 5; party 3
// misbehaves through the network's Intercept hook and party 2 is a key
// holder outside the signer set.
var (
	advSigners = []round.PartyID{1, 3, 5}
	adversary  = round.PartyID(3)
	outsider   = round.PartyID(2)
)

// requireAbort checks that err is a *round.Error with exactly culprits
// (none when culprits is empty) and cause, and that nobody signed.
func requireAbort(t *testing.T, res map[round.PartyID]any, err error, cause error, culprits ...round.PartyID) {
	t.Helper()
	require.Error(t, err)
	var re *round.Error
	require.True(t, errors.As(err, &re), "not a *round.Error: %v", err)
	require.False(t, strings.HasPrefix(err.Error(), fmt.Sprintf("party %d:", adversary)), "the error is the adversary's own: %v", err)
	assert.Equal(t, Protocol, re.Protocol)
	if len(culprits) == 0 {
		assert.Empty(t, re.Culprits, "%v", err)
	} else {
		assert.Equal(t, culprits, re.Culprits, "%v", err)
	}
	assert.ErrorIs(t, err, cause)
	for id, r := range res {
		_, ok := r.(*Signature)
		assert.False(t, ok, "party %d released a signature", id)
	}
}

func rewriteCommit(t *testing.T, payload []byte, f func(*commitMsg)) []byte {
	var m commitMsg
	require.NoError(t, wire.Unmarshal(payload, &m))
	f(&m)
	b, err := wire.Marshal(m)
	require.NoError(t, err)
	return b
}

func rewriteShare(t *testing.T, payload []byte, f func(*shareMsg)) []byte {
	var m shareMsg
	require.NoError(t, wire.Unmarshal(payload, &m))
	f(&m)
	b, err := wire.Marshal(m)
	require.NoError(t, err)
	return b
}

// fromAdversary returns an Intercept that applies f to the adversary's
// messages of round n and passes everything else through.
func fromAdversary(n uint16, f func(m round.Message, to round.PartyID) []round.Message) func(round.Message, round.PartyID) []round.Message {
	return func(m round.Message, to round.PartyID) []round.Message {
		if m.From != adversary || m.Round != n {
			return []round.Message{m}
		}
		return f(m, to)
	}
}

func forEachSuite(t *testing.T, f func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare)) {
	for _, s := range suites {
		t.Run(s.Name(), func(t *testing.T) {
			t.Parallel()
			f(t, s, dealKeys(t, s, 3, 5, nil))
		})
	}
}

func TestMaliciousBadSignatureShare(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		for _, deferred := range []bool{false, true} {
			c := newCeremony(t, keys, advSigners, []byte("bad share"), nil)
			for _, id := range advSigners {
				c.cfg[id] = Config{DeferShareChecks: deferred}
			}
			c.net.Intercept = fromAdversary(2, func(m round.Message, _ round.PartyID) []round.Message {
				m.Payload = rewriteShare(t, m.Payload, func(sm *shareMsg) {
					z, err := s.curve.DecodeScalar(sm.Share)
					require.NoError(t, err)
					sm.Share = z.Add(s.curve.ScalarFromUint64(1)).Bytes()
				})
				return []round.Message{m}
			})
			res, err := c.run(t)
			requireAbort(t, res, err, round.ErrInvalidShare, adversary)
		}
	})
}

// invalidPoint returns a point-sized encoding that DecodePoint refuses.
func invalidPoint(t *testing.T, c curve.Curve) []byte {
	for {
		b := make([]byte, c.PointSize())
		_, err := rand.Read(b)
		require.NoError(t, err)
		if c.PointSize() == 33 {
			b[0] = 0x02
		}
		if _, err := c.DecodePoint(b); err != nil {
			return b
		}
	}
}

func TestMaliciousInvalidCommitment(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		c := s.curve
		cases := map[string]struct {
			f     func(*commitMsg)
			cause error
		}{
			"short hiding":     {func(m *commitMsg) { m.Hiding = m.Hiding[:len(m.Hiding)-1] }, round.ErrMalformed},
			"long binding":     {func(m *commitMsg) { m.Binding = append(m.Binding, 0) }, round.ErrMalformed},
			"empty hiding":     {func(m *commitMsg) { m.Hiding = nil }, round.ErrMalformed},
			"identity hiding":  {func(m *commitMsg) { m.Hiding = c.Identity().Bytes() }, round.ErrMalformed},
			"identity binding": {func(m *commitMsg) { m.Binding = c.Identity().Bytes() }, round.ErrMalformed},
			"off-curve":        {func(m *commitMsg) { m.Binding = invalidPoint(t, c) }, round.ErrMalformed},
			"short session":    {func(m *commitMsg) { m.Session = m.Session[:31] }, round.ErrMalformed},
			"hiding = binding": {func(m *commitMsg) { m.Binding = m.Hiding }, ErrDuplicateCommitment},
		}
		if s == Ed25519 {
			// (0, −1) has order 2: on the curve, outside the prime-order group.
			order2 := make([]byte, 32)
			order2[0] = 0xec
			for i := 1; i < 31; i++ {
				order2[i] = 0xff
			}
			order2[31] = 0x7f
			cases["small order"] = struct {
				f     func(*commitMsg)
				cause error
			}{func(m *commitMsg) { m.Hiding = order2 }, round.ErrMalformed}
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				cer := newCeremony(t, keys, advSigners, []byte("invalid commitment"), nil)
				cer.net.Intercept = fromAdversary(1, func(m round.Message, _ round.PartyID) []round.Message {
					m.Payload = rewriteCommit(t, m.Payload, tc.f)
					return []round.Message{m}
				})
				res, err := cer.run(t)
				requireAbort(t, res, err, tc.cause, adversary)
			})
		}
		t.Run("not CBOR", func(t *testing.T) {
			cer := newCeremony(t, keys, advSigners, []byte("invalid commitment"), nil)
			cer.net.Intercept = fromAdversary(1, func(m round.Message, _ round.PartyID) []round.Message {
				m.Payload = []byte{wire.Version, 0xff, 0x00}
				return []round.Message{m}
			})
			res, err := cer.run(t)
			requireAbort(t, res, err, round.ErrMalformed, adversary)
		})
	})
}

// TestMaliciousReplacedCommitment has the adversary sign with other nonces
// than the commitment everyone received: first with the digest of the
// commitment list it really used (caught by the digest), then with the
// digest rewritten to match the honest list, so that verify_signature_share
// is what catches it.
func TestMaliciousReplacedCommitment(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		for _, fixDigest := range []bool{false, true} {
			cer := newCeremony(t, keys, advSigners, []byte("replaced commitment"), nil)
			fake, err := Precommit(keys[adversary], nil)
			require.NoError(t, err)
			honestList := map[round.PartyID]Commitment{adversary: fake.Commitment()}
			cer.net.Intercept = func(m round.Message, to round.PartyID) []round.Message {
				switch {
				case m.Round == 2 && to == adversary:
					return nil // the adversary's own view of the shares does not matter
				case m.Round == 1 && m.From == adversary:
					m.Payload = rewriteCommit(t, m.Payload, func(cm *commitMsg) {
						cm.Hiding, cm.Binding = fake.Commitment().hiding.Bytes(), fake.Commitment().binding.Bytes()
					})
				case m.Round == 1:
					_, c, err := decodeCommitMsg(s, m.From, m.Payload)
					require.NoError(t, err)
					honestList[m.From] = c
				case m.Round == 2 && m.From == adversary && fixDigest:
					list := []Commitment{honestList[1], honestList[3], honestList[5]}
					d := commitmentsDigest(s, list)
					m.Payload = rewriteShare(t, m.Payload, func(sm *shareMsg) { sm.Commitments = d[:] })
				}
				return []round.Message{m}
			}
			res, err := cer.run(t)
			requireAbort(t, res, err, round.ErrInvalidShare, adversary)
			if fixDigest {
				assert.ErrorContains(t, err, "signature share does not verify")
			} else {
				assert.ErrorContains(t, err, "other commitments")
			}
		}
	})
}

func TestMaliciousReusedCommitment(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		t.Run("own commitment from an earlier session", func(t *testing.T) {
			logs := map[round.PartyID]*CommitmentLog{1: NewCommitmentLog(), 3: NewCommitmentLog(), 5: NewCommitmentLog()}
			first := newCeremony(t, keys, advSigners, []byte("first"), nil)
			var old []byte
			first.net.Intercept = fromAdversary(1, func(m round.Message, _ round.PartyID) []round.Message {
				old = m.Payload
				return []round.Message{m}
			})
			for id, l := range logs {
				first.cfg[id] = Config{Log: l}
			}
			res, err := first.run(t)
			require.NoError(t, err)
			requireSignatures(t, res, advSigners, []byte("first"))

			second := newCeremony(t, keys, advSigners, []byte("second"), nil)
			for id, l := range logs {
				second.cfg[id] = Config{Log: l}
			}
			second.net.Intercept = fromAdversary(1, func(m round.Message, _ round.PartyID) []round.Message {
				m.Payload = rewriteCommit(t, old, func(cm *commitMsg) { cm.Session = m.Session[:] })
				return []round.Message{m}
			})
			res, err = second.run(t)
			requireAbort(t, res, err, ErrReusedCommitment, adversary)
		})
		t.Run("copy of an honest signer's commitment", func(t *testing.T) {
			cer := newCeremony(t, keys, advSigners, []byte("copy"), nil)
			var victim []byte
			cer.net.Intercept = func(m round.Message, to round.PartyID) []round.Message {
				if m.Round == 1 && m.From == 1 {
					victim = m.Payload
				}
				if m.Round == 1 && m.From == adversary {
					m.Payload = victim // party 1's broadcast is routed first
				}
				return []round.Message{m}
			}
			// Party 1 receives its own commitment back and names the
			// adversary; it is the first to see the copy.
			res, err := cer.run(t)
			requireAbort(t, res, err, ErrDuplicateCommitment, adversary)
		})
		t.Run("same point from two other signers", func(t *testing.T) {
			// Party 5 cannot tell which of 1 and 3 copied: it names nobody.
			req := SignRequest{Session: newSession(t, advSigners), Signers: advSigners, Message: []byte("m")}
			r5, _, err := NewSigning(keys[5], req, Config{})
			require.NoError(t, err)
			_, out1, err := NewSigning(keys[1], req, Config{})
			require.NoError(t, err)
			out1[0].To = round.Broadcast
			require.NoError(t, r5.Store(out1[0]))
			copied := out1[0]
			copied.From = adversary
			err = r5.Store(copied)
			requireAbort(t, nil, err, ErrDuplicateCommitment)
		})
	})
}

// TestMaliciousMissingCommitment drops the adversary's commitment. The
// rounds cannot tell silence from delay; the runner's deadline names the
// silent party. What the protocol guarantees is checked here: the honest
// signers wait for exactly the adversary and never release a share.
func TestMaliciousMissingCommitment(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		cer := newCeremony(t, keys, advSigners, []byte("missing"), nil)
		cer.net.Intercept = fromAdversary(1, func(round.Message, round.PartyID) []round.Message { return nil })
		res, err := cer.run(t)
		require.ErrorContains(t, err, "stalled")
		for _, id := range []round.PartyID{1, 5} {
			r := cer.rounds[id].(*commitRound)
			assert.Equal(t, []round.PartyID{adversary}, r.missing(), "party %d", id)
			assert.False(t, r.nonce.Used(), "party %d computed a share without every commitment", id)
			assert.Nil(t, res[id])
		}
	})
}

func TestMaliciousWrongSession(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		other := newSession(t, advSigners)
		for name, tc := range map[string]struct {
			round uint16
			f     func(*testing.T, round.Message) round.Message
		}{
			"envelope, round 1": {1, func(_ *testing.T, m round.Message) round.Message { m.Session = other; return m }},
			"envelope, round 2": {2, func(_ *testing.T, m round.Message) round.Message { m.Session = other; return m }},
			"payload, round 1": {1, func(t *testing.T, m round.Message) round.Message {
				m.Payload = rewriteCommit(t, m.Payload, func(cm *commitMsg) { cm.Session = other[:] })
				return m
			}},
			"payload, round 2": {2, func(t *testing.T, m round.Message) round.Message {
				m.Payload = rewriteShare(t, m.Payload, func(sm *shareMsg) { sm.Session = other[:] })
				return m
			}},
		} {
			t.Run(name, func(t *testing.T) {
				cer := newCeremony(t, keys, advSigners, []byte("session"), nil)
				cer.net.Intercept = fromAdversary(tc.round, func(m round.Message, _ round.PartyID) []round.Message {
					return []round.Message{tc.f(t, m)}
				})
				res, err := cer.run(t)
				requireAbort(t, res, err, ErrWrongSession, adversary)
			})
		}
	})
}

func TestMaliciousNonMember(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		for _, n := range []uint16{1, 2} {
			cer := newCeremony(t, keys, advSigners, []byte("outsider"), nil)
			cer.net.Intercept = fromAdversary(n, func(m round.Message, _ round.PartyID) []round.Message {
				m.From = outsider // a key holder that is not a signer, with its own identity key
				return []round.Message{m}
			})
			res, err := cer.run(t)
			requireAbort(t, res, err, ErrNotSigner, outsider)
		}
	})
}

func TestMaliciousDuplicateAndDirectMessages(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		for _, n := range []uint16{1, 2} {
			cer := newCeremony(t, keys, advSigners, []byte("dup"), nil)
			cer.net.Intercept = fromAdversary(n, func(m round.Message, _ round.PartyID) []round.Message {
				return []round.Message{m, m}
			})
			res, err := cer.run(t)
			requireAbort(t, res, err, ErrDuplicateMessage, adversary)

			cer = newCeremony(t, keys, advSigners, []byte("direct"), nil)
			cer.net.Intercept = fromAdversary(n, func(m round.Message, to round.PartyID) []round.Message {
				m.To = to
				return []round.Message{m}
			})
			res, err = cer.run(t)
			requireAbort(t, res, err, round.ErrMalformed, adversary)
		}
	})
}

// TestInputMismatch gives one signer another message: the others cannot
// know whose caller erred, so the abort names nobody.
func TestInputMismatch(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		cer := newCeremony(t, keys, advSigners, []byte("message"), nil)
		cer.reqFor = map[round.PartyID]SignRequest{5: {Session: cer.req.Session, Signers: advSigners, Message: []byte("other message")}}
		res, err := cer.run(t)
		requireAbort(t, res, err, ErrInputMismatch)
	})
}

// TestPrecommittedListMismatch gives two signers different commitment lists
// (an equivocating coordinator): nobody is blamed.
func TestPrecommittedListMismatch(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		signers := []round.PartyID{1, 2, 3}
		nonces := map[round.PartyID]*Nonce{}
		var list []Commitment
		for _, id := range signers {
			n, err := Precommit(keys[id], nil)
			require.NoError(t, err)
			nonces[id] = n
			list = append(list, n.Commitment())
		}
		alt, err := Precommit(keys[3], nil)
		require.NoError(t, err)
		altList := []Commitment{list[0], list[1], alt.Commitment()}
		req := SignRequest{Session: newSession(t, signers), Signers: signers, Message: []byte("m")}
		r1, _, err := NewPrecommittedSigning(keys[1], req, nonces[1], altList, Config{})
		require.NoError(t, err)
		_, out2, err := NewPrecommittedSigning(keys[2], req, nonces[2], list, Config{})
		require.NoError(t, err)
		err = r1.Store(out2[0])
		requireAbort(t, nil, err, ErrInputMismatch)
	})
}

// TestGarbageLeavesStateUnchanged feeds every round random and mangled
// payloads, checks each is refused without a panic, and then completes the
// honest protocol with the same rounds.
func TestGarbageLeavesStateUnchanged(t *testing.T) {
	t.Parallel()
	forEachSuite(t, func(t *testing.T, s *Suite, keys map[round.PartyID]*KeyShare) {
		signers := []round.PartyID{1, 2, 3}
		msg := []byte("garbage")
		req := SignRequest{Session: newSession(t, signers), Signers: signers, Message: msg}
		rounds := map[round.PartyID]round.Round{}
		var out []round.Message
		for _, id := range signers {
			r, o, err := NewSigning(keys[id], req, Config{})
			require.NoError(t, err)
			rounds[id] = r
			out = append(out, o...)
		}
		for range 2 {
			for _, id := range signers {
				for _, m := range out {
					if m.From == id {
						continue
					}
					for _, g := range garbage(t, s, m.Payload) {
						bad := m
						bad.Payload = g
						assert.NotPanics(t, func() {
							assert.Error(t, rounds[id].Store(bad), "party %d accepted garbage", id)
						})
					}
					// A valid payload refused for its envelope changes nothing.
					wrong := m
					wrong.Session[0] ^= 1
					assert.Error(t, rounds[id].Store(wrong))
				}
			}
			var next []round.Message
			for _, id := range signers {
				for _, m := range out {
					if m.From != id {
						require.NoError(t, rounds[id].Store(m))
					}
				}
				r, o, err := rounds[id].Finalize()
				require.NoError(t, err)
				rounds[id] = r
				next = append(next, o...)
			}
			out = next
		}
		res := map[round.PartyID]any{}
		for id, r := range rounds {
			res[id] = r.(*round.Output).Result
		}
		requireSignatures(t, res, signers, msg)
	})
}

// garbage derives refusable payloads from a valid one: random bytes,
// every truncation, an extension, and single-bit flips everywhere except
// inside point encodings, where a flip may well give another valid point
// (the fuzz targets cover those bytes).
func garbage(t *testing.T, s *Suite, valid []byte) [][]byte {
	skip := map[int]bool{}
	var cm commitMsg
	if wire.Unmarshal(valid, &cm) == nil {
		for _, p := range [][]byte{cm.Hiding, cm.Binding} {
			at := bytes.Index(valid, p)
			require.GreaterOrEqual(t, at, 0)
			for i := at; i < at+len(p); i++ {
				skip[i] = true
			}
		}
	}
	var out [][]byte
	for _, n := range []int{0, 1, 2, 16, 64, 200} {
		b := make([]byte, n)
		_, err := rand.Read(b)
		require.NoError(t, err)
		out = append(out, b)
	}
	for i := range len(valid) {
		out = append(out, valid[:i])
	}
	out = append(out, append(bytes.Clone(valid), 0))
	for i := range len(valid) {
		if skip[i] {
			continue
		}
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(valid)
			b[i] ^= bit
			out = append(out, b)
		}
	}
	return out
}
