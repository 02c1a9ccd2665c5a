package dkg

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// Fuzz targets for every decoder of peer bytes. Each feeds party 1 of a
// 2-of-3 ceremony (secp256k1 when sel is even, edwards25519 when odd) a
// message from party 2 or 3 (bit 1 of sel) with the fuzzed payload, and
// checks the Store contract: no panic, and a refusal is a *round.Error that
// leaves the round unchanged.

func fuzzCeremonies(f *testing.F, rnd uint16) []*handCeremony {
	hs := []*handCeremony{newHandCeremony(f, curves[0], 2, 3, 21), newHandCeremony(f, curves[1], 2, 3, 21)}
	for _, h := range hs {
		h.stepTo(f, rnd)
	}
	return hs
}

func pick(hs []*handCeremony, sel uint8) (*handCeremony, round.PartyID) {
	return hs[sel%2], round.PartyID(2 + sel>>1%2)
}

func FuzzDealing(f *testing.F) { fuzzBroadcast(f, 1) }

func FuzzOpening(f *testing.F) { fuzzBroadcast(f, 2) }

// fuzzBroadcast fuzzes the round-rnd broadcast, seeded with the real ones.
func fuzzBroadcast(f *testing.F, rnd uint16) {
	hs := fuzzCeremonies(f, rnd)
	for i, h := range hs {
		for _, from := range []round.PartyID{2, 3} {
			f.Add(uint8(i)|uint8(from-2)<<1, h.message(f, rnd, from, round.Broadcast).Payload)
		}
	}
	f.Fuzz(func(t *testing.T, sel uint8, payload []byte) {
		h, from := pick(hs, sel)
		m := h.message(t, rnd, from, round.Broadcast)
		m.Payload = payload
		_, _ = storeChecked(t, h.rounds[1], m)
	})
}

// FuzzShare fuzzes the direct share. With bit 2 of sel set, the payload is
// signed by its sender, so a bad share must become an accusation; otherwise
// it arrives with the envelope of the valid share, which does not back a
// complaint, so a bad share must be refused.
func FuzzShare(f *testing.F) {
	hs := fuzzCeremonies(f, 2)
	for i, h := range hs {
		for _, from := range []round.PartyID{2, 3} {
			p := h.message(f, 2, from, 1).Payload
			f.Add(uint8(i)|uint8(from-2)<<1, p)
			f.Add(uint8(i)|uint8(from-2)<<1|4, p)
			f.Add(uint8(i)|uint8(from-2)<<1|4, marshal(f, shareMsg{Share: h.curve.ScalarFromUint64(7).Bytes()}))
		}
	}
	f.Fuzz(func(t *testing.T, sel uint8, payload []byte) {
		h, from := pick(hs, sel)
		var m round.Message
		if sel&4 != 0 {
			m = h.kn.deliver(t, round.Message{Session: h.rounds[1].(*round2).session, Round: 2, From: from, To: 1, Payload: payload})
		} else {
			m = h.message(t, 2, from, 1)
			m.Payload = payload
		}
		accepted, _ := storeChecked(t, h.rounds[1], m)
		if sel&4 != 0 {
			require.NotNil(t, accepted, "a signed share is stored or accused, never refused")
			r := accepted.(*round2)
			_, share := r.shares[from]
			_, accused := r.accusations[from]
			require.True(t, share != accused)
		}
	})
}

// FuzzVerdict fuzzes the round-3 broadcast, and when it is accepted runs
// Finalize with it, which judges any complaints it carries.
func FuzzVerdict(f *testing.F) {
	hs := fuzzCeremonies(f, 3)
	for i, h := range hs {
		valid := h.message(f, 3, 2, round.Broadcast).Payload
		f.Add(uint8(i), valid)
		sid := h.rounds[1].(*round3).session
		realShare := h.message(f, 2, 3, 2).Evidence
		badShare := h.kn.deliver(f, round.Message{Session: sid, Round: 2, From: 3, To: 2, Payload: marshal(f, shareMsg{Share: h.curve.ScalarFromUint64(7).Bytes()})}).Evidence
		for _, ev := range [][]byte{realShare, badShare, h.message(f, 2, 3, round.Broadcast).Evidence, []byte("forged")} {
			f.Add(uint8(i), rewriteVerdict(f, valid, func(v *verdictMsg) {
				v.Complaints = []complaintMsg{{Accused: 3, Evidence: ev}}
			}))
		}
	}
	f.Fuzz(func(t *testing.T, sel uint8, payload []byte) {
		h := hs[sel%2]
		m := h.message(t, 3, 2, round.Broadcast)
		m.Payload = payload
		accepted, _ := storeChecked(t, h.rounds[1], m)
		if accepted == nil {
			return
		}
		require.NoError(t, accepted.Store(h.message(t, 3, 3, round.Broadcast)))
		next, _, err := accepted.Finalize()
		if err != nil {
			var re *round.Error
			require.ErrorAs(t, err, &re)
			require.NotEmpty(t, re.Culprits)
			return
		}
		require.IsType(t, &round.Output{}, next)
	})
}

func keyShareSeeds(f *testing.F) (shares, publics [][]byte) {
	for _, c := range curves {
		for _, tn := range []struct{ t, n int }{{1, 1}, {2, 3}, {3, 5}} {
			cl := newCluster(f, c, tn.t, tn.n)
			ks := cl.runHonest(f)[1]
			enc, err := ks.MarshalBinary()
			require.NoError(f, err)
			pub, err := ks.Public().MarshalBinary()
			require.NoError(f, err)
			shares, publics = append(shares, enc), append(publics, pub)
		}
	}
	return shares, publics
}

// FuzzKeyShare fuzzes the key-share decoder: no panic, and whatever decodes
// encodes again to bytes that decode to the same encoding.
func FuzzKeyShare(f *testing.F) {
	shares, publics := keyShareSeeds(f)
	for _, b := range append(shares, publics...) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var k KeyShare
		if err := k.UnmarshalBinary(b); err != nil {
			return
		}
		enc, err := k.MarshalBinary()
		require.NoError(t, err)
		var again KeyShare
		require.NoError(t, again.UnmarshalBinary(enc))
		enc2, err := again.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, enc, enc2)
	})
}

func FuzzPublicKey(f *testing.F) {
	shares, publics := keyShareSeeds(f)
	for _, b := range append(publics, shares...) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p PublicKey
		if err := p.UnmarshalBinary(b); err != nil {
			return
		}
		enc, err := p.MarshalBinary()
		require.NoError(t, err)
		var again PublicKey
		require.NoError(t, again.UnmarshalBinary(enc))
		enc2, err := again.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, enc, enc2)
		var w publicKeyWire
		require.NoError(t, wire.Unmarshal(enc, &w))
	})
}
