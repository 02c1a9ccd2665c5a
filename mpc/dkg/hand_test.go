package dkg

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// handCeremony drives an honest ceremony by hand, one round at a time, so a
// test can stop every party at the start of a round and feed it what it
// likes. Its identity keys are its own, so it can sign envelopes (evidence)
// for any party.
type handCeremony struct {
	curve  curve.Curve
	ids    []round.PartyID
	kn     *keyedNet
	rounds map[round.PartyID]round.Round
	// out[r] are the messages every party sent for round r, as produced.
	out map[uint16][]round.Message
}

func newHandCeremony(tb testing.TB, c curve.Curve, t, n int, seed uint64) *handCeremony {
	tb.Helper()
	ids := partyIDs(n)
	h := &handCeremony{curve: c, ids: ids, kn: newKeyedNet(ids...), rounds: map[round.PartyID]round.Round{}, out: map[uint16][]round.Message{}}
	sid := testSession(fmt.Sprintf("hand/%s/%d-of-%d/%d", c.Name(), t, n, seed))
	for _, id := range ids {
		r, out, err := Start(Config{
			Curve: c, Session: sid, Self: id, Parties: ids, Threshold: t,
			Evidence: h.kn.keyring, Rand: seeded(seed<<16 | uint64(id)),
		})
		require.NoError(tb, err)
		h.rounds[id] = r
		h.out[1] = append(h.out[1], out...)
	}
	return h
}

// messagesFor returns the round-r messages addressed to party to, opened
// from signed envelopes as the network would deliver them.
func (h *handCeremony) messagesFor(tb testing.TB, r uint16, to round.PartyID) []round.Message {
	tb.Helper()
	var ms []round.Message
	for _, m := range h.out[r] {
		if m.From != to && (m.IsBroadcast() || m.To == to) {
			ms = append(ms, h.kn.deliver(tb, m))
		}
	}
	return ms
}

// message returns the round-r message from from to to (Broadcast for the
// broadcast), delivered.
func (h *handCeremony) message(tb testing.TB, r uint16, from, to round.PartyID) round.Message {
	tb.Helper()
	for _, m := range h.out[r] {
		if m.From == from && m.To == to {
			return h.kn.deliver(tb, m)
		}
	}
	tb.Fatalf("no round-%d message from %d to %d", r, from, to)
	return round.Message{}
}

// step stores every current-round message in every party and finalizes
// them all.
func (h *handCeremony) step(tb testing.TB) {
	tb.Helper()
	var cur uint16
	for _, id := range h.ids {
		cur = h.rounds[id].Number()
		for _, m := range h.messagesFor(tb, cur, id) {
			require.NoError(tb, h.rounds[id].Store(m))
		}
	}
	for _, id := range h.ids {
		next, out, err := h.rounds[id].Finalize()
		require.NoError(tb, err)
		h.rounds[id] = next
		h.out[cur+1] = append(h.out[cur+1], out...)
	}
}

// stepTo advances every party to the start of round r.
func (h *handCeremony) stepTo(tb testing.TB, r uint16) {
	tb.Helper()
	for h.rounds[h.ids[0]].Number() != r {
		h.step(tb)
	}
}

// cloneRound copies a round so that Store on the copy leaves the original
// alone. Stored values are immutable, so copying the maps is enough.
func cloneRound(r round.Round) round.Round {
	switch r := r.(type) {
	case *round1:
		c := *r
		c.dealings = maps.Clone(r.dealings)
		return &c
	case *round2:
		c := *r
		c.shares = maps.Clone(r.shares)
		c.accusations = maps.Clone(r.accusations)
		c.openings = maps.Clone(r.openings)
		return &c
	case *round3:
		c := *r
		c.verdicts = maps.Clone(r.verdicts)
		return &c
	}
	panic(fmt.Sprintf("cloneRound: %T", r))
}

// snapshot renders everything a round has stored, for comparison.
func snapshot(r round.Round) string {
	var b strings.Builder
	sorted := func(ids []round.PartyID) []round.PartyID { slices.Sort(ids); return ids }
	switch r := r.(type) {
	case *round1:
		fmt.Fprintf(&b, "round1 done=%v poly=%d\n", r.done, len(r.poly))
		for _, id := range sorted(slices.Collect(maps.Keys(r.dealings))) {
			enc, _ := r.dealings[id].encode()
			fmt.Fprintf(&b, "dealing %d %x\n", id, enc)
		}
	case *round2:
		fmt.Fprintf(&b, "round2 done=%v\n", r.done)
		for _, id := range sorted(slices.Collect(maps.Keys(r.shares))) {
			fmt.Fprintf(&b, "share %d %x\n", id, r.shares[id].Bytes())
		}
		for _, id := range sorted(slices.Collect(maps.Keys(r.accusations))) {
			fmt.Fprintf(&b, "accusation %d %s\n", id, hex.EncodeToString(r.accusations[id]))
		}
		for _, id := range sorted(slices.Collect(maps.Keys(r.openings))) {
			fmt.Fprintf(&b, "opening %d %x\n", id, r.openings[id])
		}
	case *round3:
		fmt.Fprintf(&b, "round3 done=%v\n", r.done)
		for _, id := range sorted(slices.Collect(maps.Keys(r.verdicts))) {
			enc, _ := r.verdicts[id].encode()
			fmt.Fprintf(&b, "verdict %d %x\n", id, enc)
		}
	default:
		fmt.Fprintf(&b, "%T", r)
	}
	return b.String()
}

// storeChecked stores m in a copy of r and enforces the contract for a
// refused message: a *round.Error, and the round unchanged. If the copy
// refused m it then does the same on r itself. It returns the copy if it
// accepted m (r is left alone), or the refusal.
func storeChecked(tb testing.TB, r round.Round, m round.Message) (accepted round.Round, err error) {
	tb.Helper()
	before := snapshot(r)
	c := cloneRound(r)
	if err = c.Store(m); err == nil {
		return c, nil
	}
	var re *round.Error
	require.ErrorAs(tb, err, &re, "Store must fail with a *round.Error so that a runner does not misattribute it")
	require.Equal(tb, before, snapshot(c), "a refused message changed the round")
	require.Error(tb, r.Store(m))
	require.Equal(tb, before, snapshot(r), "a refused message changed the round")
	return nil, err
}
