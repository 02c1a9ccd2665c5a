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
	for _, p := range flipPositions(len(field)) {
		c := bytes.Clone(field)
		c[p/8] ^= 1 << (p % 8)
		f(c)
	}
}

// flipPositions is a spread of bit positions in a field of size bytes.
func flipPositions(size int) []int { return []int{0, 7, 8 * size / 2, 8*size - 1} }

// flipVector returns msg, a vectorMsg, with bit p of its vector flipped.
func flipVector(t *testing.T, msg []byte, p int) []byte {
	t.Helper()
	var m vectorMsg
	require.NoError(t, wire.Unmarshal(msg, &m))
	m.V[p/8] ^= 1 << (p % 8)
	enc, err := wire.Marshal(m)
	require.NoError(t, err)
	return enc
}

// startBase starts a fresh base OT: the sender, the receiver and the
// receiver's choice message.
func startBase(t *testing.T) (*BaseSender, *BaseReceiver, []byte) {
	t.Helper()
	s, key, err := NewBaseSender(testPair, nil)
	require.NoError(t, err)
	r, choice, err := NewBaseReceiver(testPair, key, nil)
	require.NoError(t, err)
	return s, r, choice
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

	t.Run("choices", func(t *testing.T) {
		for _, p := range flipPositions(Kappa * 32) {
			s, r, choice := startBase(t)
			chal, err := s.Challenge(flipVector(t, choice, p))
			if err != nil {
				assert.ErrorIs(t, err, round.ErrMalformed) // not a point
				continue
			}
			resp, err := r.Respond(chal)
			require.NoError(t, err)
			_, _, err = s.Open(resp)
			assert.ErrorIs(t, err, ErrBaseVerification)
		}
	})

	t.Run("challenge", func(t *testing.T) {
		for _, p := range []int{0, 8*Kappa*32/2 + 3, 8*Kappa*32 - 1} {
			s, r, choice := startBase(t)
			chal, err := s.Challenge(choice)
			require.NoError(t, err)
			// Flip the bit in an OT whose choice is 1, where the response
			// depends on the challenge.
			i := p / 256
			for r.delta[i/8]>>(i%8)&1 != 1 {
				i = (i + 1) % Kappa
			}
			resp, err := r.Respond(flipVector(t, chal, 256*i+p%256))
			require.NoError(t, err)
			_, _, err = s.Open(resp)
			assert.ErrorIs(t, err, ErrBaseVerification)
			assert.ErrorIs(t, err, round.ErrInvalidProof)
			_, _, err = s.Open(resp)
			assert.ErrorIs(t, err, ErrUnusable)
		}
	})

	t.Run("response", func(t *testing.T) {
		for _, p := range flipPositions(Kappa * 32) {
			s, r, choice := startBase(t)
			chal, err := s.Challenge(choice)
			require.NoError(t, err)
			resp, err := r.Respond(chal)
			require.NoError(t, err)
			_, _, err = s.Open(flipVector(t, resp, p))
			assert.ErrorIs(t, err, ErrBaseVerification)
		}
	})

	t.Run("openings", func(t *testing.T) {
		for _, p := range flipPositions(Kappa * 64) {
			s, r, choice := startBase(t)
			chal, err := s.Challenge(choice)
			require.NoError(t, err)
			resp, err := r.Respond(chal)
			require.NoError(t, err)
			opn, _, err := s.Open(resp)
			require.NoError(t, err)
			_, err = r.Finish(flipVector(t, opn, p))
			assert.ErrorIs(t, err, ErrBaseVerification)
			_, err = r.Finish(opn)
			assert.ErrorIs(t, err, ErrUnusable)
		}
	})
}

// Messages of the wrong shape are refused as malformed, and the party can
// still complete with the right message.
func TestBaseOTMalformedLeavesStateUsable(t *testing.T) {
	t.Parallel()
	s, r, choice := startBase(t)
	short := func(size int) []byte {
		enc, err := wire.Marshal(vectorMsg{V: make([]byte, size-1)})
		require.NoError(t, err)
		return enc
	}
	for _, bad := range [][]byte{nil, {wire.Version}, {0}, short(Kappa * 32)} {
		_, err := s.Challenge(bad)
		assert.ErrorIs(t, err, round.ErrMalformed)
	}
	chal, err := s.Challenge(choice)
	require.NoError(t, err)
	_, err = r.Respond(short(Kappa * 32))
	assert.ErrorIs(t, err, round.ErrMalformed)
	resp, err := r.Respond(chal)
	require.NoError(t, err)
	_, _, err = s.Open(short(Kappa * 32))
	assert.ErrorIs(t, err, round.ErrMalformed)
	opn, _, err := s.Open(resp)
	require.NoError(t, err)
	_, err = r.Finish(short(Kappa * 64))
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
