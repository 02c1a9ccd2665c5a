package ot

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

var fixture = sync.OnceValue(func() *baseRun {
	return runBase(&testing.T{}, testPair)
})

// freshStates returns new extension states over the fixture's base OTs.
func freshStates(t testing.TB) (*Sender, *Receiver) {
	b := fixture()
	require.NotNil(t, b.send)
	return &Sender{pair: b.send.pair, delta: b.send.delta, seeds: b.send.seeds},
		&Receiver{pair: b.recv.pair, seeds: b.recv.seeds}
}

func randomSession(t testing.TB) (s [32]byte) {
	_, err := rand.Read(s[:])
	require.NoError(t, err)
	return s
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func choiceBit(choices []byte, j int) int { return int(choices[j/8] >> (j % 8) & 1) }

func TestExtensionOutputsMatchChoices(t *testing.T) {
	t.Parallel()
	send, recv := freshStates(t)
	for _, n := range []int{1, 7, 64, 416, 1000} {
		for _, width := range []int{1, 33, 96} {
			session := randomSession(t)
			choices := randomBytes(t, (n+7)/8)
			rb, msg, err := recv.Extend(session, choices, n, nil)
			require.NoError(t, err)
			sb, err := send.Extend(session, n, msg, nil)
			require.NoError(t, err)
			require.Equal(t, n, sb.Len())
			require.Equal(t, n, rb.Len())
			p0, p1, err := sb.Pads(width)
			require.NoError(t, err)
			got, err := rb.Pads(sb.Salt(), width)
			require.NoError(t, err)
			for j := 0; j < n; j++ {
				pads := [2][]byte{p0[j*width : (j+1)*width], p1[j*width : (j+1)*width]}
				c := choiceBit(choices, j)
				require.Equal(t, pads[c], got[j*width:(j+1)*width], "n=%d OT %d", n, j)
				if width >= 16 { // shorter pads collide by chance
					require.NotEqual(t, pads[1-c], got[j*width:(j+1)*width], "n=%d OT %d", n, j)
				}
			}
			require.Equal(t, sb.Transcript(), rb.Transcript(sb.Salt()))
			// Another salt gives unrelated pads.
			other, err := rb.Pads(randomSession(t), width)
			require.NoError(t, err)
			require.NotEqual(t, got, other)
		}
	}
	assert.True(t, send.Usable())
}

// forge builds an extension message as a malicious receiver would: row i of
// u encodes rowX[i] instead of x, and the check value t̃_i is adjusted by a
// guess g_i of Δ_i so that the check passes exactly when the guess is right
// (the selective-failure probe of KOS15 §3).
func forge(t testing.TB, r *Receiver, session [32]byte, n int, x []uint64, rowX map[int][]uint64, guess map[int]uint64) []byte {
	t.Helper()
	nPad, cols, words := layout(n)
	salt := randomBytes(t, 32)
	nonce := useNonce(r.pair, session, salt)
	prg := r.blocks()
	t0 := make([]uint64, Kappa*words)
	t1 := make([]uint64, words)
	u := make([]byte, Kappa*cols/8)
	for i := 0; i < Kappa; i++ {
		row := t0[i*words : (i+1)*words]
		expand(prg[i][0], &nonce, row)
		expand(prg[i][1], &nonce, t1)
		xi := x
		if rx, ok := rowX[i]; ok {
			xi = rx
		}
		for k := range row {
			binary.LittleEndian.PutUint64(u[(i*words+k)*8:], row[k]^t1[k]^xi[k])
		}
	}
	_, chis := challenges(r.pair, nonce, u, nPad)
	colsT := make([]gf, cols)
	transposeToColumns(t0, words, colsT)
	tilde := hashColumns(colsT, nPad, chis)
	hx := hashVector(x, nPad, chis)
	for i, g := range guess {
		tilde[i] = tilde[i].xor(hashVector(rowX[i], nPad, chis).xor(hx).and(-g))
	}
	var tb []byte
	for i := range tilde {
		tb = append(tb, tilde[i].bytes()...)
	}
	msg, err := wire.Marshal(extendMsg{Session: session[:], Salt: salt, U: u, X: hx.bytes(), T: tb})
	require.NoError(t, err)
	return msg
}

func flipped(x []uint64, j int) []uint64 {
	y := append([]uint64(nil), x...)
	y[j/64] ^= 1 << (j % 64)
	return y
}

func TestExtensionForgeIsFaithful(t *testing.T) {
	t.Parallel()
	send, recv := freshStates(t)
	_, _, words := layout(416)
	session := randomSession(t)
	_, err := send.Extend(session, 416, forge(t, recv, session, 416, randomWords(t, words), nil, nil), nil)
	require.NoError(t, err)
}

// A receiver whose rows encode different choice vectors is caught unless it
// guesses the sender's Δ bit of every deviating row; the first failure makes
// the Sender unusable, even for honest messages.
func TestExtensionSelectiveFailure(t *testing.T) {
	t.Parallel()
	const n = 416
	_, _, words := layout(n)

	t.Run("wrong guess", func(t *testing.T) {
		send, recv := freshStates(t)
		x := randomWords(t, words)
		i := 17
		d := uint64(send.delta[i/8] >> (i % 8) & 1)
		session := randomSession(t)
		msg := forge(t, recv, session, n, x, map[int][]uint64{i: flipped(x, 5)}, map[int]uint64{i: 1 - d})
		_, err := send.Extend(session, n, msg, nil)
		require.ErrorIs(t, err, ErrConsistency)
		assert.ErrorIs(t, err, round.ErrInvalidProof)
		assert.False(t, send.Usable())

		session = randomSession(t)
		_, honest, err := recv.Extend(session, randomBytes(t, (n+7)/8), n, nil)
		require.NoError(t, err)
		_, err = send.Extend(session, n, honest, nil)
		assert.ErrorIs(t, err, ErrUnusable)
	})

	t.Run("right guess passes", func(t *testing.T) {
		// The check cannot tell a receiver who guessed Δ_i right: this is the
		// leakage KOS bounds (k bits with probability 2^−k) and the reason a
		// single failure bans.
		send, recv := freshStates(t)
		x := randomWords(t, words)
		i := 17
		d := uint64(send.delta[i/8] >> (i % 8) & 1)
		session := randomSession(t)
		msg := forge(t, recv, session, n, x, map[int][]uint64{i: flipped(x, 5)}, map[int]uint64{i: d})
		_, err := send.Extend(session, n, msg, nil)
		require.NoError(t, err)
	})

	t.Run("forty guesses", func(t *testing.T) {
		send, recv := freshStates(t)
		x := randomWords(t, words)
		rowX, guess := map[int][]uint64{}, map[int]uint64{}
		for i := 0; i < 40; i++ {
			rowX[3*i] = flipped(x, i)
			guess[3*i] = 0
		}
		session := randomSession(t)
		_, err := send.Extend(session, n, forge(t, recv, session, n, x, rowX, guess), nil)
		require.ErrorIs(t, err, ErrConsistency)
	})

	t.Run("inconsistent columns, no guessing", func(t *testing.T) {
		send, recv := freshStates(t)
		x := randomWords(t, words)
		rowX := map[int][]uint64{}
		for i := 0; i < Kappa; i += 2 {
			rowX[i] = flipped(x, i%n) // a different choice bit flipped in every other row
		}
		session := randomSession(t)
		_, err := send.Extend(session, n, forge(t, recv, session, n, x, rowX, nil), nil)
		require.ErrorIs(t, err, ErrConsistency)
	})

	t.Run("mask bits", func(t *testing.T) {
		// Deviating only in the extra random OTs is caught too: they are
		// hashed like the rest.
		send, recv := freshStates(t)
		x := randomWords(t, words)
		rowX := map[int][]uint64{}
		for i := 0; i < Kappa; i++ {
			rowX[i] = flipped(x, 64*words-1-i)
		}
		session := randomSession(t)
		_, err := send.Extend(session, n, forge(t, recv, session, n, x, rowX, nil), nil)
		require.ErrorIs(t, err, ErrConsistency)
	})
}

// Flipping any bit of any field of the receiver's message is caught with a
// typed error; only the session field, which is checked before anything
// secret is touched, leaves the Sender usable.
func TestExtensionTamperedFields(t *testing.T) {
	t.Parallel()
	const n = 416
	_, recv := freshStates(t)
	session := randomSession(t)
	_, msg, err := recv.Extend(session, randomBytes(t, (n+7)/8), n, nil)
	require.NoError(t, err)
	var m extendMsg
	require.NoError(t, wire.Unmarshal(msg, &m))
	fields := map[string]*[]byte{"session": &m.Session, "salt": &m.Salt, "u": &m.U, "x": &m.X, "t": &m.T}
	for name, field := range fields {
		orig := *field
		flipEach(orig, func(c []byte) {
			send, _ := freshStates(t)
			*field = c
			enc, err := wire.Marshal(m)
			require.NoError(t, err)
			_, err = send.Extend(session, n, enc, nil)
			if name == "session" {
				assert.ErrorIs(t, err, ErrWrongSession)
				assert.ErrorIs(t, err, round.ErrMalformed)
				assert.True(t, send.Usable())
			} else {
				assert.ErrorIs(t, err, ErrConsistency, name)
				assert.False(t, send.Usable(), name)
			}
		})
		*field = orig
	}
}

func TestExtensionReplay(t *testing.T) {
	t.Parallel()
	const n = 416
	send, recv := freshStates(t)
	s1, s2 := randomSession(t), randomSession(t)
	_, msg1, err := recv.Extend(s1, randomBytes(t, (n+7)/8), n, nil)
	require.NoError(t, err)

	// Replayed into another session: refused before any secret is used.
	_, err = send.Extend(s2, n, msg1, nil)
	require.ErrorIs(t, err, ErrWrongSession)
	require.True(t, send.Usable())
	_, err = send.Extend(s1, n, msg1, nil)
	require.NoError(t, err)

	// Relabelled for the other session: the rows no longer match the
	// session's PRG expansion, so the check fails.
	var m extendMsg
	require.NoError(t, wire.Unmarshal(msg1, &m))
	m.Session = s2[:]
	relabelled, err := wire.Marshal(m)
	require.NoError(t, err)
	_, err = send.Extend(s2, n, relabelled, nil)
	require.ErrorIs(t, err, ErrConsistency)
}

func TestExtensionMalformedLeavesSenderUsable(t *testing.T) {
	t.Parallel()
	const n = 416
	send, recv := freshStates(t)
	session := randomSession(t)
	_, msg, err := recv.Extend(session, randomBytes(t, (n+7)/8), n, nil)
	require.NoError(t, err)
	var m extendMsg
	require.NoError(t, wire.Unmarshal(msg, &m))
	bad := [][]byte{nil, {}, {wire.Version}, msg[:len(msg)/2], append(bytes.Clone(msg), 0)}
	for _, cut := range []func(){
		func() { m.U = m.U[:len(m.U)-1] },
		func() { m.T = m.T[:len(m.T)-32] },
		func() { m.X = nil },
		func() { m.Salt = append(m.Salt, 0) },
		func() { m.Session = m.Session[:31] },
	} {
		var mm extendMsg
		require.NoError(t, wire.Unmarshal(msg, &mm))
		m = mm
		cut()
		enc, err := wire.Marshal(m)
		require.NoError(t, err)
		bad = append(bad, enc)
	}
	for k, b := range bad {
		_, err := send.Extend(session, n, b, nil)
		assert.ErrorIs(t, err, round.ErrMalformed, "case %d", k)
	}
	// A message for another batch size is malformed for this one.
	_, err = send.Extend(session, n+64, msg, nil)
	assert.ErrorIs(t, err, round.ErrMalformed)
	_, err = send.Extend(session, 0, msg, nil)
	assert.Error(t, err)
	require.True(t, send.Usable())
	_, err = send.Extend(session, n, msg, nil)
	require.NoError(t, err)
}

func TestExtensionArguments(t *testing.T) {
	t.Parallel()
	_, recv := freshStates(t)
	s := randomSession(t)
	for _, c := range []struct {
		n       int
		choices int
	}{{0, 0}, {MaxBatch + 1, (MaxBatch + 8) / 8}, {10, 1}, {10, 3}} {
		_, _, err := recv.Extend(s, make([]byte, c.choices), c.n, nil)
		assert.Error(t, err)
	}
	send, recv := freshStates(t)
	rb, msg, err := recv.Extend(s, []byte{1}, 3, nil)
	require.NoError(t, err)
	sb, err := send.Extend(s, 3, msg, nil)
	require.NoError(t, err)
	for _, w := range []int{0, -1, MaxPadSize + 1} {
		_, _, err = sb.Pads(w)
		assert.Error(t, err)
		_, err = rb.Pads(sb.Salt(), w)
		assert.Error(t, err)
	}
	for _, f := range []string{"%v", "%+v", "%#v"} {
		assert.Contains(t, sprintf(f, sb), "redacted")
		assert.Contains(t, sprintf(f, rb), "redacted")
	}
}

// Concurrent cheaters get one consistency check between them: exactly one
// ErrConsistency, every later check refused.
func TestExtensionConcurrentChecks(t *testing.T) {
	t.Parallel()
	const n, cheaters, honest = 64, 4, 4
	send, recv := freshStates(t)
	_, _, words := layout(n)
	type job struct {
		session [32]byte
		msg     []byte
	}
	var jobs []job
	for k := 0; k < cheaters; k++ {
		x := randomWords(t, words)
		rowX := map[int][]uint64{}
		for i := 0; i < Kappa; i++ {
			rowX[i] = flipped(x, i%n)
		}
		s := randomSession(t)
		jobs = append(jobs, job{s, forge(t, recv, s, n, x, rowX, nil)})
	}
	for k := 0; k < honest; k++ {
		s := randomSession(t)
		_, msg, err := recv.Extend(s, randomBytes(t, (n+7)/8), n, nil)
		require.NoError(t, err)
		jobs = append(jobs, job{s, msg})
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for k, j := range jobs {
		wg.Go(func() {
			_, errs[k] = send.Extend(j.session, n, j.msg, nil)
		})
	}
	wg.Wait()
	failures := 0
	for k, err := range errs {
		switch {
		case errors.Is(err, ErrConsistency):
			failures++
		case k < cheaters:
			assert.ErrorIs(t, err, ErrUnusable)
		default:
			assert.True(t, err == nil || errors.Is(err, ErrUnusable), "%v", err)
		}
	}
	assert.Equal(t, 1, failures)
}
