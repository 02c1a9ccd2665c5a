package dkg

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"testing"

	"filippo.io/edwards25519"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// The malicious-party tests run a 2-of-4 ceremony in which party 2 deviates
// in one way, through roundtest's Intercept (or, for round 3, by rewriting
// what its honest code sends). Every honest party must abort with a
// *round.Error naming exactly the culprit and wrapping the right sentinel,
// and none may output a key share.
const (
	attackT  = 2
	attackN  = 4
	mallory  = round.PartyID(2)
	outsider = round.PartyID(99)
)

var attackHonest = []round.PartyID{1, 3, 4}

// attackEnv is what an attack sees of the ceremony.
type attackEnv struct {
	tb testing.TB
	cl *cluster
	// evidence[to][slot] is the envelope in which party to received the
	// message of slot.
	evidence map[round.PartyID]map[slotKey][]byte
	// dealings are the round-1 payloads as their senders sent them.
	dealings map[round.PartyID][]byte
	// replay is a payload an attack prepared in setup.
	replay []byte
}

type slotKey struct {
	round     uint16
	from      round.PartyID
	broadcast bool
}

type attack struct {
	name      string
	extra     []round.PartyID // identities besides the members
	setup     func(env *attackEnv)
	intercept func(env *attackEnv, m round.Message, to round.PartyID) []round.Message
	culprits  []round.PartyID
	sentinels []error
}

func (a attack) run(t *testing.T, c curve.Curve) {
	cl := newCluster(t, c, attackT, attackN, a.extra...)
	env := &attackEnv{tb: t, cl: cl, evidence: map[round.PartyID]map[slotKey][]byte{}, dealings: map[round.PartyID][]byte{}}
	if a.setup != nil {
		a.setup(env)
	}
	cl.net.Intercept = func(m round.Message, to round.PartyID) []round.Message {
		if m.Round == 1 {
			env.dealings[m.From] = m.Payload
		}
		return a.intercept(env, m, to)
	}
	results := cl.runGuarded(t, func(to round.PartyID, m round.Message) {
		if env.evidence[to] == nil {
			env.evidence[to] = map[slotKey][]byte{}
		}
		env.evidence[to][slotKey{m.Round, m.From, m.IsBroadcast()}] = m.Evidence
	})
	for _, s := range a.sentinels {
		requireAbort(t, results, attackHonest, s, a.culprits...)
	}
}

// from returns an intercept that applies f to mallory's messages of one
// round and kind, and passes everything else.
func from(rnd uint16, broadcast bool, f func(env *attackEnv, m round.Message, to round.PartyID) []round.Message) func(*attackEnv, round.Message, round.PartyID) []round.Message {
	return func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
		if m.From != mallory || m.Round != rnd || m.IsBroadcast() != broadcast {
			return []round.Message{m}
		}
		return f(env, m, to)
	}
}

// withPayload returns m with payload b.
func withPayload(m round.Message, b []byte) []round.Message {
	m.Payload = b
	return []round.Message{m}
}

func marshal(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := wire.Marshal(v)
	require.NoError(tb, err)
	return b
}

// rewriteDealing decodes a round-1 payload, lets f change it, and encodes it
// again.
func rewriteDealing(tb testing.TB, b []byte, f func(*dealingMsg)) []byte {
	tb.Helper()
	var d dealingMsg
	require.NoError(tb, wire.Unmarshal(b, &d))
	f(&d)
	return marshal(tb, d)
}

func rewriteVerdict(tb testing.TB, b []byte, f func(*verdictMsg)) []byte {
	tb.Helper()
	var v verdictMsg
	require.NoError(tb, wire.Unmarshal(b, &v))
	f(&v)
	return marshal(tb, v)
}

// forgeDealing is a well-formed dealing with k coefficients (not t) and a
// valid proof of knowledge for id in the given session: only the length
// check can refuse it.
func forgeDealing(tb testing.TB, c curve.Curve, sid round.SessionID, id round.PartyID, k int) []byte {
	tb.Helper()
	poly := make([]curve.Scalar, k)
	commits := make([]curve.Point, k)
	for i := range poly {
		a, err := c.RandomScalar(rand.Reader)
		require.NoError(tb, err)
		poly[i], commits[i] = a, c.MulBase(a)
	}
	nonce, err := c.RandomScalar(rand.Reader)
	require.NoError(tb, err)
	d := &dealing{commits: commits}
	d.proofR, d.proofZ = provePoK(c, sid, id, commits, poly[0], nonce)
	require.True(tb, verifyPoK(c, sid, id, commits, d.proofR, d.proofZ))
	b, err := d.encode()
	require.NoError(tb, err)
	return b
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// groupOrder is the canonical-width encoding of the group order, the
// smallest non-canonical scalar encoding.
func groupOrder(c curve.Curve) []byte {
	if c.Name() == curve.Secp256k1.Name() {
		return mustHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	}
	return mustHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
}

// badPoints are encodings DecodePoint must refuse, by name.
func badPoints(tb testing.TB, c curve.Curve) map[string][]byte {
	tb.Helper()
	pts := map[string][]byte{
		"identity":  c.Identity().Bytes(),
		"all ones":  bytes.Repeat([]byte{0xff}, c.PointSize()),
		"truncated": c.Generator().Bytes()[:c.PointSize()-1],
		"empty":     nil,
	}
	if c.Name() == curve.Secp256k1.Name() {
		pts["uncompressed prefix"] = append([]byte{0x04}, c.Generator().Bytes()[1:]...)
		pts["x not on curve"] = append([]byte{0x02}, mustHex("0000000000000000000000000000000000000000000000000000000000000005")...)
	} else {
		order2 := mustHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
		pts["order 2"] = order2
		t2, err := new(edwards25519.Point).SetBytes(order2)
		require.NoError(tb, err)
		pts["generator plus torsion"] = new(edwards25519.Point).Add(edwards25519.NewGeneratorPoint(), t2).Bytes()
		pts["non-canonical y"] = mustHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	}
	for name, b := range pts {
		_, err := c.DecodePoint(b)
		require.Errorf(tb, err, "%s must not decode", name)
	}
	return pts
}

func attacks(tb testing.TB, c curve.Curve) []attack {
	randomShare, err := c.RandomScalar(rand.Reader)
	require.NoError(tb, err)
	other := testSession("another ceremony")

	as := []attack{
		{
			name: "wrong share to one party",
			intercept: from(2, false, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				if to != 3 {
					return []round.Message{m}
				}
				return withPayload(m, marshal(env.tb, shareMsg{Share: randomShare.Bytes()}))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrInvalidShare},
		},
		{
			name: "malformed share to one party",
			intercept: from(2, false, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				if to != 4 {
					return []round.Message{m}
				}
				return withPayload(m, []byte{wire.Version, 0xde, 0xad})
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrInvalidShare},
		},
		{
			name: "non-canonical share to one party",
			intercept: from(2, false, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				if to != 1 {
					return []round.Message{m}
				}
				return withPayload(m, marshal(env.tb, shareMsg{Share: groupOrder(c)}))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrInvalidShare},
		},
		{
			name: "wrong shares to every party",
			intercept: from(2, false, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				return withPayload(m, marshal(env.tb, shareMsg{Share: randomShare.Bytes()}))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrInvalidShare},
		},
		{
			name: "false complaint with the accused's real share",
			intercept: from(3, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				ev := env.evidence[mallory][slotKey{2, 1, false}]
				require.NotEmpty(env.tb, ev)
				return withPayload(m, rewriteVerdict(env.tb, m.Payload, func(v *verdictMsg) {
					v.Complaints = []complaintMsg{{Accused: 1, Evidence: ev}}
				}))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{ErrFalseComplaint},
		},
		{
			name: "false complaint with forged evidence",
			intercept: from(3, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				return withPayload(m, rewriteVerdict(env.tb, m.Payload, func(v *verdictMsg) {
					v.Complaints = []complaintMsg{{Accused: 3, Evidence: []byte("trust me")}}
				}))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{ErrFalseComplaint},
		},
		{
			name: "false complaint with evidence of another message",
			intercept: from(3, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				ev := env.evidence[mallory][slotKey{2, 4, true}]
				require.NotEmpty(env.tb, ev)
				return withPayload(m, rewriteVerdict(env.tb, m.Payload, func(v *verdictMsg) {
					v.Complaints = []complaintMsg{{Accused: 4, Evidence: ev}}
				}))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{ErrFalseComplaint},
		},
		{
			name: "false complaint with evidence against a third party",
			intercept: from(3, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				ev := env.evidence[mallory][slotKey{2, 1, false}]
				return withPayload(m, rewriteVerdict(env.tb, m.Payload, func(v *verdictMsg) {
					v.Complaints = []complaintMsg{{Accused: 3, Evidence: ev}}
				}))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{ErrFalseComplaint},
		},
		{
			name: "complaint against a non-member",
			intercept: from(3, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				return withPayload(m, rewriteVerdict(env.tb, m.Payload, func(v *verdictMsg) {
					v.Complaints = []complaintMsg{{Accused: 9, Evidence: []byte{1}}}
				}))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed},
		},
		{
			name: "false view of round 1",
			intercept: from(3, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				return withPayload(m, rewriteVerdict(env.tb, m.Payload, func(v *verdictMsg) { v.View[0] ^= 1 }))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrEquivocation},
		},
		{
			name: "commitment of t+1 points",
			intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				return withPayload(m, forgeDealing(env.tb, c, env.cl.session, mallory, attackT+1))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed},
		},
		{
			name: "commitment of t-1 points",
			intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				return withPayload(m, forgeDealing(env.tb, c, env.cl.session, mallory, attackT-1))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed},
		},
		{
			name: "bad proof of knowledge",
			intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				return withPayload(m, rewriteDealing(env.tb, m.Payload, func(d *dealingMsg) {
					z, err := c.DecodeScalar(d.ProofZ)
					require.NoError(env.tb, err)
					d.ProofZ = z.Add(c.ScalarFromUint64(1)).Bytes()
				}))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrInvalidProof},
		},
		{
			name: "proof replayed from another session",
			setup: func(env *attackEnv) {
				env.cl.rand = func(id round.PartyID) io.Reader {
					if id == mallory {
						return seeded(42)
					}
					return nil
				}
				cfg := env.cl.config(mallory)
				cfg.Session, cfg.Rand = other, seeded(42)
				_, out, err := Start(cfg)
				require.NoError(env.tb, err)
				env.replay = out[0].Payload // the same dealing, proven in another session
			},
			intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				replayed := env.replay
				var mine, theirs dealingMsg
				require.NoError(env.tb, wire.Unmarshal(m.Payload, &mine))
				require.NoError(env.tb, wire.Unmarshal(replayed, &theirs))
				require.Equal(env.tb, mine.Commitments, theirs.Commitments, "the replay must reuse the same polynomial")
				require.NotEqual(env.tb, mine.ProofZ, theirs.ProofZ)
				return withPayload(m, replayed)
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrInvalidProof},
		},
		{
			name: "dealing copied from another party",
			intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				require.NotEmpty(env.tb, env.dealings[1])
				return withPayload(m, env.dealings[1])
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrInvalidProof},
		},
		{
			name: "non-canonical proof response",
			intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				return withPayload(m, rewriteDealing(env.tb, m.Payload, func(d *dealingMsg) { d.ProofZ = groupOrder(c) }))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed, curve.ErrInvalidScalar},
		},
		{
			name: "short chain-code commitment",
			intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				return withPayload(m, rewriteDealing(env.tb, m.Payload, func(d *dealingMsg) { d.ChainCodeCommitment = d.ChainCodeCommitment[:31] }))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed},
		},
		{
			name: "undecodable dealing",
			intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				return withPayload(m, m.Payload[:len(m.Payload)-1])
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed, wire.ErrMalformed},
		},
		{
			name: "wrong chain-code opening",
			intercept: from(2, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				var o openingMsg
				require.NoError(env.tb, wire.Unmarshal(m.Payload, &o))
				o.ChainCode[7] ^= 0x80
				return withPayload(m, marshal(env.tb, o))
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrInvalidProof},
		},
		{
			name: "message from another session",
			intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				m.Session = other
				return []round.Message{m}
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed},
		},
		{
			name: "round-2 share from another session",
			intercept: from(2, false, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				m.Session = other
				return []round.Message{m}
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed},
		},
		{
			name: "broadcast delivered as a direct message",
			intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				m.To = to
				return []round.Message{m}
			}),
			culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed},
		},
		{
			name:  "message from a non-member",
			extra: []round.PartyID{outsider},
			intercept: func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
				// Every member gets one round-1 broadcast from the outsider,
				// riding along with its lowest-numbered peer's.
				peer := env.cl.ids[0]
				if to == peer {
					peer = env.cl.ids[1]
				}
				if m.Round != 1 || m.From != peer {
					return []round.Message{m}
				}
				forged := m
				forged.From = outsider
				return []round.Message{m, forged}
			},
			culprits: []round.PartyID{outsider}, sentinels: []error{round.ErrMalformed},
		},
	}
	for name, b := range badPoints(tb, c) {
		as = append(as,
			attack{
				name: "commitment point " + name,
				intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
					return withPayload(m, rewriteDealing(env.tb, m.Payload, func(d *dealingMsg) { d.Commitments[1] = b }))
				}),
				culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed, curve.ErrInvalidPoint},
			},
			attack{
				name: "proof point " + name,
				intercept: from(1, true, func(env *attackEnv, m round.Message, to round.PartyID) []round.Message {
					return withPayload(m, rewriteDealing(env.tb, m.Payload, func(d *dealingMsg) { d.ProofR = b }))
				}),
				culprits: []round.PartyID{mallory}, sentinels: []error{round.ErrMalformed, curve.ErrInvalidPoint},
			})
	}
	return as
}

func TestMaliciousParty(t *testing.T) {
	t.Parallel()
	for _, c := range curves {
		for _, a := range attacks(t, c) {
			t.Run(c.Name()+"/"+a.name, func(t *testing.T) {
				t.Parallel()
				a.run(t, c)
			})
		}
	}
}

// TestMaliciousDealerAndFalseAccuser has two deviating parties in one
// ceremony: 2 sends 3 a bad share, and 4 falsely accuses 1. Every honest
// party names both.
func TestMaliciousDealerAndFalseAccuser(t *testing.T) {
	t.Parallel()
	for _, c := range curves {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			bad, err := c.RandomScalar(rand.Reader)
			require.NoError(t, err)
			cl := newCluster(t, c, 2, 5)
			evidence := map[slotKey][]byte{}
			cl.net.Intercept = func(m round.Message, to round.PartyID) []round.Message {
				switch {
				case m.From == 2 && m.Round == 2 && m.To == 3:
					m.Payload = marshal(t, shareMsg{Share: bad.Bytes()})
				case m.From == 4 && m.Round == 3:
					m.Payload = rewriteVerdict(t, m.Payload, func(v *verdictMsg) {
						v.Complaints = []complaintMsg{{Accused: 1, Evidence: evidence[slotKey{2, 1, false}]}}
					})
				}
				return []round.Message{m}
			}
			results := cl.runGuarded(t, func(to round.PartyID, m round.Message) {
				if to == 4 {
					evidence[slotKey{m.Round, m.From, m.IsBroadcast()}] = m.Evidence
				}
			})
			requireAbort(t, results, []round.PartyID{1, 3, 5}, round.ErrInvalidShare, 2, 4)
			requireAbort(t, results, []round.PartyID{1, 3, 5}, ErrFalseComplaint, 2, 4)
		})
	}
}
