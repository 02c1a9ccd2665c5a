package ot

import (
	"bytes"
	"errors"
	"testing"

	"filippo.io/edwards25519"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

var testPair = NewPairID([]byte("test session"), 1, 2)

// baseRun holds every message of one honest base-OT run.
type baseRun struct {
	s                            *BaseSender
	r                            *BaseReceiver
	key, choice, chal, resp, opn []byte
	send                         *Sender
	recv                         *Receiver
}

func runBase(t testing.TB, pair PairID) *baseRun {
	t.Helper()
	var b baseRun
	var err error
	b.s, b.key, err = NewBaseSender(pair, nil)
	require.NoError(t, err)
	b.r, b.choice, err = NewBaseReceiver(pair, b.key, nil)
	require.NoError(t, err)
	b.chal, err = b.s.Challenge(b.choice)
	require.NoError(t, err)
	b.resp, err = b.r.Respond(b.chal)
	require.NoError(t, err)
	b.opn, b.recv, err = b.s.Open(b.resp)
	require.NoError(t, err)
	b.send, err = b.r.Finish(b.opn)
	require.NoError(t, err)
	return &b
}

func TestBaseOTOutputsMatchChoices(t *testing.T) {
	t.Parallel()
	b := runBase(t, testPair)
	ones := 0
	for i := 0; i < Kappa; i++ {
		w := int(b.send.delta[i/8] >> (i % 8) & 1)
		ones += w
		assert.Equal(t, b.recv.seeds[i][w], b.send.seeds[i], "OT %d", i)
		assert.NotEqual(t, b.recv.seeds[i][1-w], b.send.seeds[i], "OT %d", i)
	}
	assert.Greater(t, ones, 64)
	assert.Less(t, ones, 192)
	assert.Equal(t, testPair, b.send.Pair())
	assert.Equal(t, testPair, b.recv.Pair())

	// Finished parties refuse further steps.
	_, err := b.s.Challenge(b.choice)
	assert.ErrorIs(t, err, ErrOrder)
	_, err = b.r.Finish(b.opn)
	assert.ErrorIs(t, err, ErrOrder)
}

func TestBaseOTStepsOutOfOrder(t *testing.T) {
	t.Parallel()
	s, key, err := NewBaseSender(testPair, nil)
	require.NoError(t, err)
	_, _, err = s.Open(nil)
	assert.ErrorIs(t, err, ErrOrder)
	r, _, err := NewBaseReceiver(testPair, key, nil)
	require.NoError(t, err)
	_, err = r.Finish(nil)
	assert.ErrorIs(t, err, ErrOrder)
}

// Another pair (other session or roles swapped) does not accept the
// sender's proof: the transcript binds both.
func TestBaseOTBindsPair(t *testing.T) {
	t.Parallel()
	_, key, err := NewBaseSender(testPair, nil)
	require.NoError(t, err)
	for _, other := range []PairID{
		NewPairID([]byte("test session"), 2, 1),
		NewPairID([]byte("other session"), 1, 2),
	} {
		_, _, err = NewBaseReceiver(other, key, nil)
		assert.ErrorIs(t, err, round.ErrInvalidProof)
	}
}

// flipEach calls f with a copy of field with one bit flipped, for a spread
// of bit positions.
func flipEach(field []byte, f func(flipped []byte)) {
	positions := []int{0, 7, 8 * len(field) / 2, 8*len(field) - 1}
	for _, p := range positions {
		c := bytes.Clone(field)
		c[p/8] ^= 1 << (p % 8)
		f(c)
	}
}

func TestBaseOTMaliciousSenderKey(t *testing.T) {
	t.Parallel()
	_, key, err := NewBaseSender(testPair, nil)
	require.NoError(t, err)
	var m baseKeyMsg
	require.NoError(t, wire.Unmarshal(key, &m))
	for name, field := range map[string]*[]byte{"B": &m.B, "R": &m.R, "z": &m.Z} {
		orig := *field
		flipEach(orig, func(c []byte) {
			*field = c
			enc, err := wire.Marshal(m)
			require.NoError(t, err)
			_, _, err = NewBaseReceiver(testPair, enc, nil)
			require.Error(t, err, name)
			assert.True(t, errors.Is(err, round.ErrMalformed) || errors.Is(err, round.ErrInvalidProof), "%s: %v", name, err)
		})
		*field = orig
	}
}

// A B with a small-order component would leak the receiver's choice bits
// through A_i = a_i·G + ω_i·B; the decoder refuses it.
func TestBaseOTRefusesTorsionKey(t *testing.T) {
	t.Parallel()
	s, key, err := NewBaseSender(testPair, nil)
	require.NoError(t, err)
	var m baseKeyMsg
	require.NoError(t, wire.Unmarshal(key, &m))
	var order2 edwards25519.Point // (0, −1)
	_, err = order2.SetBytes(append([]byte{0xec}, append(bytes.Repeat([]byte{0xff}, 30), 0x7f)...))
	require.NoError(t, err)
	var b edwards25519.Point
	_, err = b.SetBytes(s.pub.Bytes())
	require.NoError(t, err)
	m.B = new(edwards25519.Point).Add(&b, &order2).Bytes()
	enc, err := wire.Marshal(m)
	require.NoError(t, err)
	_, _, err = NewBaseReceiver(testPair, enc, nil)
	assert.ErrorIs(t, err, round.ErrMalformed)
}

// Each later message, with a bit flipped, is caught by the party that
// receives it or by the verification phase, with a typed error.
func TestBaseOTTamperedMessages(t *testing.T) {
	t.Parallel()
	honest := runBase(t, testPair)

	t.Run("choices", func(t *testing.T) {
		var m baseChoiceMsg
		require.NoError(t, wire.Unmarshal(honest.choice, &m))
		flipEach(m.A, func(c []byte) {
			s, key, err := NewBaseSender(testPair, nil)
			require.NoError(t, err)
			r, choice, err := NewBaseReceiver(testPair, key, nil)
			require.NoError(t, err)
			var mm baseChoiceMsg
			require.NoError(t, wire.Unmarshal(choice, &mm))
			for k := range mm.A {
				mm.A[k] ^= c[k] ^ m.A[k] // the same bit flip on this run's message
			}
			enc, err := wire.Marshal(mm)
			require.NoError(t, err)
			chal, err := s.Challenge(enc)
			if err != nil {
				assert.ErrorIs(t, err, round.ErrMalformed) // not a point
				return
			}
			resp, err := r.Respond(chal)
			require.NoError(t, err)
			_, _, err = s.Open(resp)
			assert.ErrorIs(t, err, ErrBaseVerification)
		})
	})

	t.Run("challenge", func(t *testing.T) {
		for _, p := range []int{0, 8*Kappa*32/2 + 3, 8*Kappa*32 - 1} {
			s, key, err := NewBaseSender(testPair, nil)
			require.NoError(t, err)
			r, choice, err := NewBaseReceiver(testPair, key, nil)
			require.NoError(t, err)
			chal, err := s.Challenge(choice)
			require.NoError(t, err)
			var m baseChallengeMsg
			require.NoError(t, wire.Unmarshal(chal, &m))
			// Flip the bit in an OT whose choice is 1, where the response
			// depends on the challenge.
			i := p / 256
			for r.delta[i/8]>>(i%8)&1 != 1 {
				i = (i + 1) % Kappa
			}
			m.Xi[32*i+p%256/8] ^= 1 << (p % 8)
			enc, err := wire.Marshal(m)
			require.NoError(t, err)
			resp, err := r.Respond(enc)
			require.NoError(t, err)
			_, _, err = s.Open(resp)
			assert.ErrorIs(t, err, ErrBaseVerification)
			assert.ErrorIs(t, err, round.ErrInvalidProof)
			_, _, err = s.Open(resp)
			assert.ErrorIs(t, err, ErrUnusable)
		}
	})

	t.Run("response", func(t *testing.T) {
		var m baseResponseMsg
		require.NoError(t, wire.Unmarshal(honest.resp, &m))
		flipEach(m.Rho, func(c []byte) {
			s, key, err := NewBaseSender(testPair, nil)
			require.NoError(t, err)
			r, choice, err := NewBaseReceiver(testPair, key, nil)
			require.NoError(t, err)
			chal, err := s.Challenge(choice)
			require.NoError(t, err)
			resp, err := r.Respond(chal)
			require.NoError(t, err)
			var mm baseResponseMsg
			require.NoError(t, wire.Unmarshal(resp, &mm))
			for k := range mm.Rho {
				mm.Rho[k] ^= c[k] ^ m.Rho[k]
			}
			enc, err := wire.Marshal(mm)
			require.NoError(t, err)
			_, _, err = s.Open(enc)
			assert.ErrorIs(t, err, ErrBaseVerification)
		})
	})

	t.Run("openings", func(t *testing.T) {
		var m baseOpeningMsg
		require.NoError(t, wire.Unmarshal(honest.opn, &m))
		flipEach(m.Open, func(c []byte) {
			s, key, err := NewBaseSender(testPair, nil)
			require.NoError(t, err)
			r, choice, err := NewBaseReceiver(testPair, key, nil)
			require.NoError(t, err)
			chal, err := s.Challenge(choice)
			require.NoError(t, err)
			resp, err := r.Respond(chal)
			require.NoError(t, err)
			opn, _, err := s.Open(resp)
			require.NoError(t, err)
			var mm baseOpeningMsg
			require.NoError(t, wire.Unmarshal(opn, &mm))
			for k := range mm.Open {
				mm.Open[k] ^= c[k] ^ m.Open[k]
			}
			enc, err := wire.Marshal(mm)
			require.NoError(t, err)
			_, err = r.Finish(enc)
			assert.ErrorIs(t, err, ErrBaseVerification)
			_, err = r.Finish(opn)
			assert.ErrorIs(t, err, ErrUnusable)
		})
	})
}

// Messages of the wrong shape are refused as malformed, and the party can
// still complete with the right message.
func TestBaseOTMalformedLeavesStateUsable(t *testing.T) {
	t.Parallel()
	s, key, err := NewBaseSender(testPair, nil)
	require.NoError(t, err)
	r, choice, err := NewBaseReceiver(testPair, key, nil)
	require.NoError(t, err)
	short := func(b []byte, field func([]byte) any) []byte {
		enc, err := wire.Marshal(field(b[:len(b)-1]))
		require.NoError(t, err)
		return enc
	}
	for _, bad := range [][]byte{nil, {wire.Version}, {0}, short(make([]byte, Kappa*32), func(b []byte) any { return baseChoiceMsg{A: b} })} {
		_, err = s.Challenge(bad)
		assert.ErrorIs(t, err, round.ErrMalformed)
	}
	chal, err := s.Challenge(choice)
	require.NoError(t, err)
	_, err = r.Respond(short(make([]byte, Kappa*32), func(b []byte) any { return baseChallengeMsg{Xi: b} }))
	assert.ErrorIs(t, err, round.ErrMalformed)
	resp, err := r.Respond(chal)
	require.NoError(t, err)
	_, _, err = s.Open(short(make([]byte, Kappa*32), func(b []byte) any { return baseResponseMsg{Rho: b} }))
	assert.ErrorIs(t, err, round.ErrMalformed)
	opn, _, err := s.Open(resp)
	require.NoError(t, err)
	_, err = r.Finish(short(make([]byte, Kappa*64), func(b []byte) any { return baseOpeningMsg{Open: b} }))
	assert.ErrorIs(t, err, round.ErrMalformed)
	_, err = r.Finish(opn)
	require.NoError(t, err)
}

func TestBaseOTRedacts(t *testing.T) {
	t.Parallel()
	b := runBase(t, testPair)
	for _, v := range []any{b.s, b.r, b.send, b.recv} {
		for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
			assert.Contains(t, sprintf(f, v), "redacted")
		}
	}
}
