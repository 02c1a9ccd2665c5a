package dkg

import (
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// garbage returns payloads derived from valid: random bytes, the version
// byte followed by random bytes, truncations, extensions, byte flips, and
// every payload in foreign (valid payloads of other kinds).
func garbage(rng *mrand.Rand, valid []byte, foreign [][]byte) [][]byte {
	out := [][]byte{nil, {}, {wire.Version}, {0}, valid[:len(valid)-1], valid[1:], append(slices.Clone(valid), 0)}
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for range 30 {
		out = append(out, random(rng.IntN(300)))
		out = append(out, append([]byte{wire.Version}, random(rng.IntN(300))...))
	}
	for range 60 {
		b := slices.Clone(valid)
		for range 1 + rng.IntN(3) {
			b[rng.IntN(len(b))] = byte(rng.Uint32())
		}
		if !slices.Equal(b, valid) {
			out = append(out, b)
		}
	}
	for _, f := range foreign {
		if !slices.Equal(f, valid) {
			out = append(out, f)
		}
	}
	return out
}

// misaddressed returns copies of a valid delivered message that a round must
// refuse whatever their payload: from itself, from non-members, of another
// session or round, or addressed the wrong way.
func misaddressed(m round.Message, self round.PartyID) []round.Message {
	var out []round.Message
	add := func(f func(*round.Message)) {
		c := m
		f(&c)
		out = append(out, c)
	}
	add(func(c *round.Message) { c.From = self })
	add(func(c *round.Message) { c.From = 0 })
	add(func(c *round.Message) { c.From = 99 })
	add(func(c *round.Message) { c.Session[0] ^= 1 })
	add(func(c *round.Message) { c.Round++ })
	add(func(c *round.Message) { c.Round = 0 })
	if m.IsBroadcast() {
		add(func(c *round.Message) { c.To = self })
	} else {
		add(func(c *round.Message) { c.To = round.Broadcast })
		add(func(c *round.Message) { c.To = m.From })
	}
	return out
}

// TestGarbageInput feeds party 1, at the start of each round, garbage in
// place of every message it expects. Nothing may panic; every refusal must
// be a *round.Error that leaves the round unchanged; and the ceremony must
// then complete normally from the same rounds, which proves the refused
// input left no trace.
func TestGarbageInput(t *testing.T) {
	t.Parallel()
	for _, c := range curves {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			rng := mrand.New(mrand.NewPCG(1, 2))
			const victim = round.PartyID(1)
			h := newHandCeremony(t, c, 2, 3, 7)
			var foreign [][]byte
			for rnd := uint16(1); rnd <= 3; rnd++ {
				h.stepTo(t, rnd)
				r := h.rounds[victim]
				for _, m := range h.out[rnd] {
					foreign = append(foreign, m.Payload)
				}
				for _, valid := range h.messagesFor(t, rnd, victim) {
					for _, g := range garbage(rng, valid.Payload, foreign) {
						m := valid
						m.Payload = g
						accepted, _ := storeChecked(t, r, m)
						switch {
						case accepted == nil || rnd == 3:
							// A verdict can be well formed yet wrong: its view
							// and complaints are judged in Finalize.
						case rnd == 1:
							// The chain-code commitment is the sender's free
							// choice: a dealing that differs only there is a
							// valid dealing.
							var got, want dealingMsg
							require.NoError(t, wire.Unmarshal(g, &got))
							require.NoError(t, wire.Unmarshal(valid.Payload, &want))
							got.ChainCodeCommitment = want.ChainCodeCommitment
							require.Equalf(t, want, got, "round 1 accepted garbage %x", g)
						default:
							t.Fatalf("round %d accepted garbage %x", rnd, g)
						}
					}
					for _, m := range misaddressed(valid, victim) {
						accepted, _ := storeChecked(t, r, m)
						require.Nilf(t, accepted, "round %d accepted a misaddressed message %+v", rnd, m)
					}
				}
			}
			h.step(t)
			var first *KeyShare
			for _, id := range h.ids {
				o, ok := h.rounds[id].(*round.Output)
				require.True(t, ok)
				ks := o.Result.(*KeyShare)
				if first == nil {
					first = ks
				}
				assert.True(t, first.GroupKey.Equal(ks.GroupKey))
				assert.Equal(t, first.ChainCode, ks.ChainCode)
			}
		})
	}
}

// TestSignedGarbageShareIsAccused checks that a direct message whose payload
// its sender really signed, but which is no valid share, is kept as
// evidence rather than refused, and that the complaint it leads to names
// the sender at every party.
func TestSignedGarbageShareIsAccused(t *testing.T) {
	t.Parallel()
	for _, c := range curves {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			h := newHandCeremony(t, c, 2, 3, 9)
			h.stepTo(t, 2)
			for _, payload := range [][]byte{nil, {wire.Version}, h.out[1][0].Payload, marshal(t, shareMsg{Share: []byte{1, 2, 3}})} {
				r := cloneRound(h.rounds[1]).(*round2)
				m := h.kn.deliver(t, round.Message{Session: r.session, Round: 2, From: 3, To: 1, Payload: payload})
				require.NoError(t, r.Store(m))
				assert.Contains(t, r.accusations, round.PartyID(3))
				assert.NotContains(t, r.shares, round.PartyID(3))
			}

			// Party 3 sends party 1 a signed bad share; play the ceremony out.
			for i, m := range h.out[2] {
				if m.From == 3 && m.To == 1 {
					h.out[2][i].Payload = marshal(t, shareMsg{Share: c.ScalarFromUint64(5).Bytes()})
				}
			}
			h.step(t)
			for _, id := range h.ids {
				for _, m := range h.messagesFor(t, 3, id) {
					require.NoError(t, h.rounds[id].Store(m))
				}
				_, _, err := h.rounds[id].Finalize()
				var re *round.Error
				require.ErrorAs(t, err, &re)
				assert.Equal(t, []round.PartyID{3}, re.Culprits)
				assert.ErrorIs(t, err, round.ErrInvalidShare)
			}
		})
	}
}

// TestRoundMisuse checks the guards against a runner that breaks the
// contract: Finalize early or twice, Store after Finalize, duplicates. None
// may blame a party, since none is a party's fault.
func TestRoundMisuse(t *testing.T) {
	t.Parallel()
	h := newHandCeremony(t, curves[0], 2, 3, 11)
	noCulprit := func(err error) {
		t.Helper()
		var re *round.Error
		require.ErrorAs(t, err, &re)
		assert.Empty(t, re.Culprits)
	}
	for rnd := uint16(1); rnd <= 3; rnd++ {
		h.stepTo(t, rnd)
		r := h.rounds[1]
		_, _, err := cloneRound(r).Finalize()
		noCulprit(err)
		msgs := h.messagesFor(t, rnd, 1)
		require.NoError(t, r.Store(msgs[0]))
		noCulprit(r.Store(msgs[0]))
		for _, m := range msgs[1:] {
			require.NoError(t, r.Store(m))
		}
		c := cloneRound(r)
		_, _, err = c.Finalize()
		require.NoError(t, err)
		_, _, err = c.Finalize()
		noCulprit(err)
		noCulprit(c.Store(msgs[0]))
		// Put back what step will store again.
		h.rounds[1] = cloneRound(r)
		switch r := h.rounds[1].(type) {
		case *round1:
			clear(r.dealings)
		case *round2:
			clear(r.shares)
			clear(r.openings)
		case *round3:
			clear(r.verdicts)
		}
	}
}
