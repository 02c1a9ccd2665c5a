package rvole

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/internal/ot"
	"github.com/cairn-mpc/cairn/mpc/round"
)

const alice, bob round.PartyID = 3, 5

// fixture is one base-OT setup (Alice = 3 as extension sender, Bob = 5 as
// receiver), encoded, so that every test can start from fresh states.
var fixture = sync.OnceValues(func() ([]byte, []byte) {
	pair := ot.NewPairID([]byte("rvole test key"), alice, bob)
	bs, key, err := ot.NewBaseSender(pair, nil)
	must(err)
	br, choice, err := ot.NewBaseReceiver(pair, key, nil)
	must(err)
	chal, err := bs.Challenge(choice)
	must(err)
	resp, err := br.Respond(chal)
	must(err)
	opn, recv, err := bs.Open(resp)
	must(err)
	send, err := br.Finish(opn)
	must(err)
	sb, err := send.MarshalBinary()
	must(err)
	rb, err := recv.MarshalBinary()
	must(err)
	return sb, rb
})

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func freshPair(t testing.TB) (*Alice, *Bob) {
	sb, rb := fixture()
	send, err := ot.ParseSender(sb)
	require.NoError(t, err)
	recv, err := ot.ParseReceiver(rb)
	require.NoError(t, err)
	return NewAlice(send), NewBob(recv)
}

func randomSID(t testing.TB) SessionID {
	var sign [16]byte
	_, err := rand.Read(sign[:])
	require.NoError(t, err)
	return NewSessionID([]byte("key"), sign[:], alice, bob, nil)
}

func randomScalar(t testing.TB) curve.Scalar {
	s, err := curve.Secp256k1.RandomScalar(rand.Reader)
	require.NoError(t, err)
	return s
}

// run performs one honest multiplication.
func run(t testing.TB, a *Alice, b *Bob, sid SessionID, in [L]curve.Scalar) (c, d [L]curve.Scalar, chi curve.Scalar) {
	t.Helper()
	sess, m1, err := b.Start(sid, nil)
	require.NoError(t, err)
	c, m2, err := a.Multiply(sid, in, m1, nil)
	require.NoError(t, err)
	d, err = sess.Finish(m2)
	require.NoError(t, err)
	return c, d, sess.Chi()
}

// multiplied runs Bob's and Alice's steps of one multiplication on fresh
// states, leaving Bob's Finish to the caller.
func multiplied(t testing.TB, in [L]curve.Scalar) (a *Alice, b *Bob, sess *BobSession, m1, m2 []byte) {
	t.Helper()
	a, b = freshPair(t)
	sid := randomSID(t)
	sess, m1, err := b.Start(sid, nil)
	require.NoError(t, err)
	_, m2, err = a.Multiply(sid, in, m1, nil)
	require.NoError(t, err)
	return a, b, sess, m1, m2
}

func TestMultiplicationCorrect(t *testing.T) {
	t.Parallel()
	a, b := freshPair(t)
	c := curve.Secp256k1
	minusOne := c.ScalarFromUint64(1).Negate()
	inputs := [][L]curve.Scalar{
		{c.NewScalar(), c.NewScalar()},
		{c.ScalarFromUint64(1), minusOne},
		{minusOne, c.ScalarFromUint64(2)},
	}
	for range 60 {
		inputs = append(inputs, [L]curve.Scalar{randomScalar(t), randomScalar(t)})
	}
	chis := map[string]bool{}
	for _, in := range inputs {
		cs, ds, chi := run(t, a, b, randomSID(t), in)
		for i := 0; i < L; i++ {
			require.True(t, cs[i].Add(ds[i]).Equal(in[i].Mul(chi)), "c_%d + d_%d ≠ a_%d·χ", i, i, i)
		}
		chis[string(chi.Bytes())] = true
	}
	assert.Len(t, chis, len(inputs), "χ repeated across sessions")
	assert.True(t, a.Usable())
	assert.True(t, b.Usable())
}

// The two directions of a pair get different session ids, as do different
// keys, signatures and derivations.
func TestSessionIDDirectionAware(t *testing.T) {
	t.Parallel()
	base := NewSessionID([]byte("k"), []byte("s"), 1, 2, []byte("m/0/1"))
	for _, other := range []SessionID{
		NewSessionID([]byte("k"), []byte("s"), 2, 1, []byte("m/0/1")),
		NewSessionID([]byte("k2"), []byte("s"), 1, 2, []byte("m/0/1")),
		NewSessionID([]byte("k"), []byte("s2"), 1, 2, []byte("m/0/1")),
		NewSessionID([]byte("k"), []byte("s"), 1, 2, []byte("m/0/2")),
		NewSessionID([]byte("k"), []byte("s"), 1, 2, nil),
		NewSessionID([]byte("ks"), nil, 1, 2, []byte("m/0/1")),
	} {
		assert.NotEqual(t, base, other)
	}
	assert.Equal(t, base, NewSessionID([]byte("k"), []byte("s"), 1, 2, []byte("m/0/1")))
}

// forgeAlice plays a malicious Alice: honest except that at the OTs in
// perOT she uses another input vector, while η', θ and μ are computed for
// her claimed input. This is the selective-failure probe on Bob's β_j: Bob's
// check passes at OT j exactly when β_j = 0.
func forgeAlice(t testing.TB, a *Alice, sid SessionID, in [L]curve.Scalar, msg []byte, perOT map[int][L]curve.Scalar) []byte {
	t.Helper()
	batch, err := a.ot.Extend(sid, Xi, msg, nil)
	require.NoError(t, err)
	eta := randomScalar(t)
	pad0, pad1, err := batch.Pads(32 * Width)
	require.NoError(t, err)
	claimed := [Width]element{fromCurve(in[0]), fromCurve(in[1]), fromCurve(eta)}
	aTilde := make([]byte, 32*Width*Xi)
	alpha0 := make([]element, Width*Xi)
	for j := 0; j < Xi; j++ {
		used := claimed
		if o, ok := perOT[j]; ok {
			used[0], used[1] = fromCurve(o[0]), fromCurve(o[1])
		}
		for i := 0; i < Width; i++ {
			k := Width*j + i
			alpha0[k] = elementFromBytes(pad0[32*k:])
			a1 := elementFromBytes(pad1[32*k:])
			v := sub(&alpha0[k], &a1)
			v = add(&v, &used[i])
			v.put(aTilde[32*k:])
		}
	}
	tr := batch.Transcript()
	th := theta(sid, tr, aTilde)
	etaPrime := claimed[L]
	for i := 0; i < L; i++ {
		v := mul(&th[i], &claimed[i])
		etaPrime = add(&etaPrime, &v)
	}
	mu := newMuHash(sid, tr)
	for j := 0; j < Xi; j++ {
		v := alpha0[Width*j+L]
		for i := 0; i < L; i++ {
			w := mul(&th[i], &alpha0[Width*j+i])
			v = add(&v, &w)
		}
		mu.add(&v)
	}
	salt := batch.Salt()
	out, err := wire.Marshal(aliceMsg{Session: sid[:], Salt: salt[:], ATilde: aTilde, Eta: etaPrime.bytes(), Mu: mu.sum()})
	require.NoError(t, err)
	return out
}

func TestForgeAliceIsFaithful(t *testing.T) {
	t.Parallel()
	a, b := freshPair(t)
	sid := randomSID(t)
	in := [L]curve.Scalar{randomScalar(t), randomScalar(t)}
	sess, m1, err := b.Start(sid, nil)
	require.NoError(t, err)
	d, err := sess.Finish(forgeAlice(t, a, sid, in, m1, nil))
	require.NoError(t, err)
	assert.NotNil(t, d[0])
}

func TestMaliciousAliceInconsistentInputs(t *testing.T) {
	t.Parallel()
	other := [L]curve.Scalar{randomScalar(t), randomScalar(t)}

	t.Run("caught where β_j = 1", func(t *testing.T) {
		a, b := freshPair(t)
		sid := randomSID(t)
		sess, m1, err := b.Start(sid, nil)
		require.NoError(t, err)
		j := 0
		for sess.betaBit(j) != 1 {
			j++
		}
		in := [L]curve.Scalar{randomScalar(t), randomScalar(t)}
		_, err = sess.Finish(forgeAlice(t, a, sid, in, m1, map[int][L]curve.Scalar{j: other}))
		require.ErrorIs(t, err, ErrMultiplicationCheck)
		assert.ErrorIs(t, err, round.ErrInvalidProof)
		assert.True(t, BansPeer(err))
		assert.False(t, b.Usable())
		_, _, err = b.Start(randomSID(t), nil)
		assert.ErrorIs(t, err, ErrUnusable)
		_, err = sess.Finish(m1)
		assert.ErrorIs(t, err, ErrFinished)
	})

	t.Run("passes where β_j = 0", func(t *testing.T) {
		// The check cannot see a deviation at an OT whose choice bit is 0:
		// Alice learns that bit. ξ = κ + 2s keeps χ uniform through s such
		// bits, and the first failure bans her.
		a, b := freshPair(t)
		sid := randomSID(t)
		sess, m1, err := b.Start(sid, nil)
		require.NoError(t, err)
		j := 0
		for sess.betaBit(j) != 0 {
			j++
		}
		in := [L]curve.Scalar{randomScalar(t), randomScalar(t)}
		_, err = sess.Finish(forgeAlice(t, a, sid, in, m1, map[int][L]curve.Scalar{j: other}))
		require.NoError(t, err)
	})

	t.Run("every OT", func(t *testing.T) {
		a, b := freshPair(t)
		sid := randomSID(t)
		sess, m1, err := b.Start(sid, nil)
		require.NoError(t, err)
		perOT := map[int][L]curve.Scalar{}
		for j := 0; j < Xi; j += 3 {
			perOT[j] = other
		}
		_, err = sess.Finish(forgeAlice(t, a, sid, [L]curve.Scalar{randomScalar(t), randomScalar(t)}, m1, perOT))
		require.ErrorIs(t, err, ErrMultiplicationCheck)
	})
}

// Flipping a bit of any field of Alice's message is caught with a typed
// error. A flipped session is refused as a replay without a ban; a scalar
// flipped out of range is malformed; anything else fails the check.
func TestMaliciousAliceTamperedFields(t *testing.T) {
	t.Parallel()
	in := [L]curve.Scalar{randomScalar(t), randomScalar(t)}
	_, _, _, _, m2 := multiplied(t, in)
	var m aliceMsg
	require.NoError(t, wire.Unmarshal(m2, &m))
	lengths := map[string]int{"session": len(m.Session), "salt": len(m.Salt), "ã": len(m.ATilde), "η'": len(m.Eta), "μ": len(m.Mu)}

	for name, size := range lengths {
		for _, p := range []int{0, 7, 8*size/2 + 1, 8*size - 1} {
			_, b, sess, _, m2 := multiplied(t, in)
			var mm aliceMsg
			require.NoError(t, wire.Unmarshal(m2, &mm))
			f := map[string]*[]byte{"session": &mm.Session, "salt": &mm.Salt, "ã": &mm.ATilde, "η'": &mm.Eta, "μ": &mm.Mu}[name]
			(*f)[p/8] ^= 1 << (p % 8)
			enc, err := wire.Marshal(mm)
			require.NoError(t, err)
			_, err = sess.Finish(enc)
			switch {
			case name == "session":
				require.ErrorIs(t, err, ErrWrongSession, name)
				require.True(t, b.Usable())
				_, err = sess.Finish(m2) // the genuine message still completes
				require.NoError(t, err)
			case errors.Is(err, round.ErrMalformed):
				// a scalar pushed to ≥ n: refused before any check
				require.Contains(t, []string{"ã", "η'"}, name)
				require.True(t, b.Usable())
				_, err = sess.Finish(m2)
				require.NoError(t, err)
			default:
				require.ErrorIs(t, err, ErrMultiplicationCheck, "%s bit %d", name, p)
				require.False(t, b.Usable())
			}
		}
	}
}

func TestMaliciousAliceWrongCheckHash(t *testing.T) {
	t.Parallel()
	_, _, sess, _, m2 := multiplied(t, [L]curve.Scalar{randomScalar(t), randomScalar(t)})
	var m aliceMsg
	require.NoError(t, wire.Unmarshal(m2, &m))
	m.Mu = bytes.Repeat([]byte{0x5a}, 32)
	enc, err := wire.Marshal(m)
	require.NoError(t, err)
	_, err = sess.Finish(enc)
	require.ErrorIs(t, err, ErrMultiplicationCheck)
}

// Messages replayed from another session are refused: as a replay while
// they carry their own session, by a failed check once relabelled.
func TestReplayedMessages(t *testing.T) {
	t.Parallel()
	in := [L]curve.Scalar{randomScalar(t), randomScalar(t)}

	t.Run("Bob's message", func(t *testing.T) {
		a, b := freshPair(t)
		s1, s2 := randomSID(t), randomSID(t)
		_, m1, err := b.Start(s1, nil)
		require.NoError(t, err)
		_, _, err = a.Multiply(s2, in, m1, nil)
		require.ErrorIs(t, err, ErrWrongSession)
		require.True(t, a.Usable())
	})

	t.Run("Alice's message", func(t *testing.T) {
		a, b := freshPair(t)
		s1, s2 := randomSID(t), randomSID(t)
		_, m1, err := b.Start(s1, nil)
		require.NoError(t, err)
		_, old, err := a.Multiply(s1, in, m1, nil)
		require.NoError(t, err)
		sess2, _, err := b.Start(s2, nil)
		require.NoError(t, err)
		_, err = sess2.Finish(old)
		require.ErrorIs(t, err, ErrWrongSession)
		require.True(t, b.Usable())

		var m aliceMsg
		require.NoError(t, wire.Unmarshal(old, &m))
		m.Session = s2[:]
		relabelled, err := wire.Marshal(m)
		require.NoError(t, err)
		_, err = sess2.Finish(relabelled)
		require.ErrorIs(t, err, ErrMultiplicationCheck)
	})
}

// A cheating Bob (the OT-extension receiver) is caught by Alice's
// consistency check and banned; Alice then refuses every later session.
func TestMaliciousBob(t *testing.T) {
	t.Parallel()
	in := [L]curve.Scalar{randomScalar(t), randomScalar(t)}
	_, b := freshPair(t)
	sid := randomSID(t)
	_, m1, err := b.Start(sid, nil)
	require.NoError(t, err)
	for _, p := range []int{100, 8 * 1000, 8 * 20000} {
		a, _ := freshPair(t)
		bad := bytes.Clone(m1)
		bad[len(bad)-p/8-1] ^= 1 << (p % 8) // inside u or the check values
		_, _, err := a.Multiply(sid, in, bad, nil)
		require.ErrorIs(t, err, ErrConsistency)
		assert.True(t, BansPeer(err))
		assert.False(t, a.Usable())
		_, _, err = a.Multiply(sid, in, m1, nil)
		assert.ErrorIs(t, err, ErrUnusable)
	}
}

// Garbage never panics and leaves the states usable.
func TestGarbageLeavesStateUsable(t *testing.T) {
	t.Parallel()
	in := [L]curve.Scalar{randomScalar(t), randomScalar(t)}
	a, b := freshPair(t)
	sid := randomSID(t)
	sess, m1, err := b.Start(sid, nil)
	require.NoError(t, err)
	_, m2, err := a.Multiply(sid, in, m1, nil)
	require.NoError(t, err)
	var m aliceMsg
	require.NoError(t, wire.Unmarshal(m2, &m))
	garbage := [][]byte{nil, {}, {wire.Version}, m1[:len(m1)/3], m2[:len(m2)/3], append(bytes.Clone(m1), 1)}
	for k, g := range garbage {
		_, _, err := a.Multiply(sid, in, g, nil)
		assert.ErrorIs(t, err, round.ErrMalformed, "case %d", k)
		_, err = sess.Finish(g)
		assert.ErrorIs(t, err, round.ErrMalformed, "case %d", k)
	}
	// Alice's message with ã one scalar short, or a non-canonical η'.
	for _, mutate := range []func(*aliceMsg){
		func(m *aliceMsg) { m.ATilde = m.ATilde[:len(m.ATilde)-32] },
		func(m *aliceMsg) { m.Eta = bytes.Repeat([]byte{0xff}, 32) },
		func(m *aliceMsg) {
			m.ATilde = append(bytes.Clone(m.ATilde[:32*Width*Xi-32]), bytes.Repeat([]byte{0xff}, 32)...)
		},
		func(m *aliceMsg) { m.Mu = nil },
	} {
		mm := m
		mutate(&mm)
		enc, err := wire.Marshal(mm)
		require.NoError(t, err)
		_, err = sess.Finish(enc)
		assert.ErrorIs(t, err, round.ErrMalformed)
	}
	require.True(t, a.Usable())
	require.True(t, b.Usable())
	_, err = sess.Finish(m2)
	require.NoError(t, err)
	_, err = sess.Finish(m2)
	assert.ErrorIs(t, err, ErrFinished)

	_, _, err = a.Multiply(sid, [L]curve.Scalar{nil, randomScalar(t)}, m1, nil)
	assert.Error(t, err)
}

func TestRedacts(t *testing.T) {
	t.Parallel()
	a, b := freshPair(t)
	sess, _, err := b.Start(randomSID(t), nil)
	require.NoError(t, err)
	for _, v := range []any{a, b, sess} {
		for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
			assert.Contains(t, sprintf(f, v), "redacted")
		}
	}
}
