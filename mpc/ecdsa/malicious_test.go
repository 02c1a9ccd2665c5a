package ecdsa

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/internal/ot"
	"github.com/cairn-mpc/cairn/mpc/internal/rvole"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rewriteFields decodes a toarray CBOR payload into its fields, lets f edit
// them, and re-encodes: a malicious party that knows the message layout but
// not our types.
func rewriteFields(payload []byte, f func(fields []any) []any) []byte {
	var fields []any
	if err := cbor.Unmarshal(payload[1:], &fields); err != nil {
		panic(err)
	}
	b, err := wire.Marshal(f(fields))
	if err != nil {
		panic(err)
	}
	return b
}

// field rewrites field i of a payload with g.
func field(i int, g func([]byte) []byte) func([]byte) []byte {
	return func(p []byte) []byte {
		return rewriteFields(p, func(f []any) []any { f[i] = g(slices.Clone(f[i].([]byte))); return f })
	}
}

func pointPlusG(b []byte) []byte {
	c := curve.Secp256k1
	p, err := c.DecodePoint(b)
	if err != nil {
		panic(err)
	}
	return p.Add(c.Generator()).Bytes()
}

func scalarPlusOne(b []byte) []byte {
	c := curve.Secp256k1
	s, err := c.DecodeScalar(b)
	if err != nil {
		panic(err)
	}
	return s.Add(c.ScalarFromUint64(1)).Bytes()
}

// snapshot is what a party's key share must still be after an aborted
// session: its DKG share, and every pairwise state and seed.
type snapshot map[round.PartyID][]byte

func takeSnapshot(t testing.TB, keys map[round.PartyID]*KeyShare, bad round.PartyID) map[round.PartyID]snapshot {
	t.Helper()
	out := map[round.PartyID]snapshot{}
	for id, k := range keys {
		if id == bad {
			continue
		}
		s := snapshot{}
		b, err := k.share.MarshalBinary()
		require.NoError(t, err)
		s[0] = b
		for j, p := range k.peers {
			send, err := p.send.MarshalBinary()
			require.NoError(t, err)
			recv, err := p.recv.MarshalBinary()
			require.NoError(t, err)
			s[j] = slices.Concat(send, recv, p.seed[:])
		}
		out[id] = s
	}
	return out
}

// assertUnchanged checks that honest parties' shares are as before, apart
// from a ban on bad where the check obliges one.
func assertUnchanged(t *testing.T, before map[round.PartyID]snapshot, keys map[round.PartyID]*KeyShare, bad round.PartyID, ban bool) {
	t.Helper()
	after := takeSnapshot(t, keys, bad)
	banned := 0
	for id, k := range keys {
		if id == bad {
			continue
		}
		for j, b := range before[id] {
			if j == bad && ban {
				continue // the Sender's usable flag may have changed
			}
			assert.Equal(t, b, after[id][j], "party %d's state towards %d changed", id, j)
		}
		switch bs := k.Banned(); {
		case len(bs) == 0:
		case ban && slices.Equal(bs, []round.PartyID{bad}):
			banned++
		default:
			t.Errorf("party %d bans %v", id, bs)
		}
	}
	if ban {
		assert.Positive(t, banned, "nobody banned party %d", bad)
	}
}

// tamper returns an Intercept that rewrites bad's messages of round rnd (of
// the kind broadcast says) to the recipients in to (nil: all) with edit.
func tamper(bad round.PartyID, rnd uint16, broadcast bool, to []round.PartyID, edit func([]byte) []byte) func(round.Message, round.PartyID) []round.Message {
	return func(m round.Message, recipient round.PartyID) []round.Message {
		if m.From == bad && m.Round == rnd && m.IsBroadcast() == broadcast && (to == nil || slices.Contains(to, recipient)) {
			m.Payload = edit(m.Payload)
		}
		return []round.Message{m}
	}
}

// assertAbort checks that err is an abort with exactly the culprits given,
// matching every sentinel.
func assertAbort(t *testing.T, res map[round.PartyID]any, err error, culprits []round.PartyID, sentinels ...error) {
	t.Helper()
	var re *round.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, culprits, re.Culprits, "culprits of %v", err)
	for _, s := range sentinels {
		assert.ErrorIs(t, err, s)
	}
	for id, r := range res {
		_, isSig := r.(*Signature)
		assert.False(t, isSig, "party %d released a signature", id)
	}
}

// fixedRand reads prefix first, then crypto/rand.
func fixedRand(prefix []byte) io.Reader { return io.MultiReader(bytes.NewReader(prefix), rand.Reader) }

// TestMaliciousSigner breaks every check of design §4 in turn, with party 3
// of signers {1, 3, 5} of a 3-of-5 key as the malicious party.
func TestMaliciousSigner(t *testing.T) {
	t.Parallel()
	const bad = round.PartyID(3)
	signers := []round.PartyID{1, 3, 5}
	digest := sha256.Sum256([]byte("pay 1 BTC to mallory"))
	one := []round.PartyID{bad}

	cases := []struct {
		name      string
		rnd       uint16
		broadcast bool
		to        []round.PartyID
		edit      func([]byte) []byte
		culprits  []round.PartyID
		ban       bool
		sentinels []error
	}{
		// §4 check 1: the OT extension's consistency check, Alice verifying
		// Bob. Bob's x̃ = h(x) no longer matches his rows.
		{"OT-extension consistency", 1, false, nil, field(0, func(ote []byte) []byte {
			return rewriteFields(ote, func(f []any) []any { f[3].([]byte)[0] ^= 1; return f })
		}), one, true, []error{ErrBanned, ot.ErrConsistency, round.ErrInvalidProof}},
		// §4 check 2: the multiplication check, Bob verifying Alice. Alice
		// uses another input a_1 at every OT (a selective-failure probe on
		// all of Bob's choice bits at once).
		{"multiplication consistency", 2, false, nil, field(3, func(mult []byte) []byte {
			return rewriteFields(mult, func(f []any) []any {
				at := f[2].([]byte)
				for j := range rvole.Xi {
					at[(j*rvole.Width)*32+31] ^= 1
				}
				return f
			})
		}), one, true, []error{ErrBanned, rvole.ErrMultiplicationCheck, round.ErrInvalidProof}},
		// §4 check 3: the Γ-checks bind j's VOLE inputs to R_j and pk_j.
		{"Γ^u check", 2, false, nil, field(0, pointPlusG), one, true, []error{ErrBanned, ErrConsistencyCheck}},
		{"Γ^v check", 2, false, nil, field(1, pointPlusG), one, true, []error{ErrBanned, ErrConsistencyCheck}},
		{"pk_j not the second VOLE input", 2, true, nil, field(2, pointPlusG), one, true, []error{ErrBanned, ErrConsistencyCheck}},
		// §4 check 4: commit-then-open of R_j, R_j ≠ ∞.
		{"R_j does not open the commitment", 2, true, nil, field(0, pointPlusG), one, false, []error{ErrCommitment}},
		{"commitment replaced", 1, true, nil, field(0, func(b []byte) []byte { b[0] ^= 1; return b }), one, false, []error{ErrCommitment}},
		{"R_j = ∞", 2, true, nil, field(0, func([]byte) []byte { return make([]byte, 33) }), one, false, []error{round.ErrMalformed, curve.ErrInvalidPoint}},
		// §4 check 6: what no earlier check attributes, the final
		// verification catches; nobody can be named.
		{"u_j shifted", 3, true, nil, field(3, scalarPlusOne), nil, false, []error{round.ErrBadSignature}},
		{"w_j shifted", 3, true, nil, field(4, scalarPlusOne), nil, false, []error{round.ErrBadSignature}},
		{"ψ shifted", 2, false, nil, field(2, scalarPlusOne), nil, false, []error{round.ErrBadSignature}},
		// §4 item 7: validation of what the online step signs.
		{"another digest", 3, true, nil, field(2, func(b []byte) []byte { b[0] ^= 1; return b }), nil, false, []error{ErrInputMismatch}},
		{"malformed partial signature", 3, true, nil, field(3, func([]byte) []byte { return []byte{1} }), one, false, []error{round.ErrMalformed}},
		{"malformed Bob message", 1, false, nil, field(0, func(b []byte) []byte { return b[:len(b)/2] }), one, false, []error{round.ErrMalformed}},
		{"malformed Alice message", 2, false, nil, field(3, func(b []byte) []byte { return b[:100] }), one, false, []error{round.ErrMalformed}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys := cachedKeys(t, 3, 5)
			before := takeSnapshot(t, keys, bad)
			res, err := sign(t, keys, signers, digest[:], tamper(bad, tc.rnd, tc.broadcast, tc.to, tc.edit))
			assertAbort(t, res, err, tc.culprits, tc.sentinels...)
			assertUnchanged(t, before, keys, bad, tc.ban)
			if tc.ban {
				// A banned party is refused from then on, also after the
				// share went through storage.
				for id, k := range keys {
					if slices.Contains(k.Banned(), bad) {
						stored, err := k.clone()
						require.NoError(t, err)
						assert.Equal(t, []round.PartyID{bad}, stored.Banned())
						_, _, err = NewSigning(stored, SignRequest{Session: freshSession(t, "s", signers), Signers: signers, Digest: digest[:]}, Config{})
						assertAbort(t, nil, err, one, ErrBanned)
						_, _, err = NewPresigning(k, SignRequest{Session: freshSession(t, "s", signers), Signers: signers}, Config{})
						assertAbort(t, nil, err, one, ErrBanned)
						_ = id
					}
				}
			}
		})
	}

	// §4 item 8: session ids include both indices in role order. Bob's
	// message for the instance with Alice = 1 is refused by Alice = 5 as a
	// message of another session, before any secret is used: no ban.
	t.Run("multiplication message for another pair", func(t *testing.T) {
		t.Parallel()
		keys := cachedKeys(t, 3, 5)
		before := takeSnapshot(t, keys, bad)
		var toOne []byte
		res, err := sign(t, keys, signers, digest[:], func(m round.Message, to round.PartyID) []round.Message {
			if m.From == bad && m.Round == 1 && !m.IsBroadcast() {
				if to == 1 {
					toOne = m.Payload
				} else if toOne != nil {
					m.Payload = toOne
				}
			}
			return []round.Message{m}
		})
		assertAbort(t, res, err, one, rvole.ErrWrongSession, round.ErrMalformed)
		assert.NotErrorIs(t, err, ErrBanned)
		assertUnchanged(t, before, keys, bad, false)
	})

	// Σ u = 0: the malicious party, which speaks last, picks u_j so that
	// the sum vanishes.
	t.Run("Σu = 0", func(t *testing.T) {
		t.Parallel()
		// Party 5 finalizes last, after the others' partial signatures are
		// out.
		const bad = round.PartyID(5)
		keys := cachedKeys(t, 3, 5)
		c := curve.Secp256k1
		sum := c.NewScalar()
		res, err := sign(t, keys, signers, digest[:], func(m round.Message, to round.PartyID) []round.Message {
			if m.Round == 3 && m.From != bad && to == bad {
				var pm partialMsg
				require.NoError(t, wire.Unmarshal(m.Payload, &pm))
				u, err := c.DecodeScalar(pm.U)
				require.NoError(t, err)
				sum = sum.Add(u)
			}
			if m.Round == 3 && m.From == bad {
				m.Payload = field(3, func([]byte) []byte { return sum.Negate().Bytes() })(m.Payload)
			}
			return []round.Message{m}
		})
		assertAbort(t, res, err, nil, round.ErrBadSignature)
		assert.ErrorContains(t, err, "Σu = 0")
	})

	// R = ∞: a party that knew every other instance key before committing
	// could cancel them. The test gives it that knowledge through the
	// honest parties' randomness.
	t.Run("R = ∞", func(t *testing.T) {
		t.Parallel()
		keys := cachedKeys(t, 3, 5)
		c := curve.Secp256k1
		rs := map[round.PartyID][]byte{1: c.ScalarFromUint64(1111).Bytes(), 5: c.ScalarFromUint64(5555).Bytes()}
		rs[bad] = c.ScalarFromUint64(1111 + 5555).Negate().Bytes()
		req := SignRequest{Session: freshSession(t, "s", signers), Signers: signers, Digest: digest[:]}
		res, err := signWith(t, keys, req, func(id round.PartyID) Config { return Config{Rand: fixedRand(rs[id])} }, nil)
		assertAbort(t, res, err, nil, ErrIdentityNonce)
	})

	// §4 item 7: a party that sends different (each valid) commitments and
	// openings to different parties. The runner's echo broadcast names it;
	// without one, the views compared in the online step still stop the
	// signature.
	t.Run("equivocated commitment", func(t *testing.T) {
		t.Parallel()
		keys := cachedKeys(t, 3, 5)
		c := curve.Secp256k1
		rBad := c.ScalarFromUint64(424242)
		req := SignRequest{Session: freshSession(t, "s", signers), Signers: signers, Digest: digest[:]}
		ctx := sessionContext(keys[bad].keyID, req.Session, signers, derivationBinding(nil, c.NewScalar()))
		var salt [32]byte
		salt[0] = 7
		com := instanceCommitment(ctx, bad, c.MulBase(rBad), salt)
		res, err := signWith(t, keys, req, func(id round.PartyID) Config {
			if id == bad {
				return Config{Rand: fixedRand(rBad.Bytes())}
			}
			return Config{}
		}, func(m round.Message, to round.PartyID) []round.Message {
			if m.From == bad && m.IsBroadcast() && to == 5 {
				switch m.Round {
				case 1:
					m.Payload = field(0, func([]byte) []byte { return com[:] })(m.Payload)
				case 2:
					m.Payload = field(1, func([]byte) []byte { return salt[:] })(m.Payload)
				}
			}
			return []round.Message{m}
		})
		assertAbort(t, res, err, nil, round.ErrEquivocation)
	})
}

// TestKeyShift is design §4 check 5: a signer whose additive share is
// shifted, consistently with its VOLE inputs, passes the Γ-checks and is
// stopped by Σ pk_j = pk. With two signers the honest one names the other.
func TestKeyShift(t *testing.T) {
	t.Parallel()
	const bad = round.PartyID(2)
	digest := sha256.Sum256([]byte("shift"))
	for _, tc := range []struct {
		tt, n    int
		signers  []round.PartyID
		culprits []round.PartyID
	}{
		{2, 3, []round.PartyID{1, 2}, []round.PartyID{bad}},
		{3, 5, []round.PartyID{1, 2, 4}, nil},
	} {
		keys := cachedKeys(t, tc.tt, tc.n)
		// The malicious party's share, shifted.
		keys[bad].share.Secret = keys[bad].share.Secret.Add(curve.Secp256k1.ScalarFromUint64(1))
		before := takeSnapshot(t, keys, bad)
		res, err := sign(t, keys, tc.signers, digest[:], nil)
		assertAbort(t, res, err, tc.culprits, ErrKeyMismatch)
		assertUnchanged(t, before, keys, bad, false)
	}
}

// TestGarbageInput feeds every round malformed variants of each real
// message before the real one: each is refused with a typed error, nothing
// panics, and the session then completes with a valid signature, so no
// refused message changed any state.
func TestGarbageInput(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 2, 3)
	signers := []round.PartyID{1, 2, 3}
	digest := sha256.Sum256([]byte("garbage"))
	sess := freshSession(t, "s", signers)
	net := newGarbageNet(t, signers)
	res, err := run(t, net, signers, func(id round.PartyID) (round.Round, []round.Message, error) {
		r, out, err := NewSigning(keys[id], SignRequest{Session: sess, Signers: signers, Digest: digest[:]}, Config{})
		return &garbageRound{t: t, inner: r}, out, err
	})
	require.NoError(t, err)
	for _, id := range signers {
		verifyIndependently(t, keys[1].GroupKey(), digest[:], res[id].(*Signature))
	}
	for _, k := range keys {
		assert.Empty(t, k.Banned())
	}
}

// garbageRound stores malformed variants of every message before the
// message itself, asserting each is refused.
type garbageRound struct {
	t     *testing.T
	inner round.Round
}

func (g *garbageRound) Number() uint16            { return g.inner.Number() }
func (g *garbageRound) Expect() round.Expectation { return g.inner.Expect() }
func (g *garbageRound) Finalize() (round.Round, []round.Message, error) {
	next, out, err := g.inner.Finalize()
	if _, ok := next.(*round.Output); ok || err != nil {
		return next, out, err
	}
	return &garbageRound{t: g.t, inner: next}, out, err
}

func (g *garbageRound) Store(m round.Message) error {
	for i, v := range garbage(m) {
		err := g.inner.Store(v)
		if assert.Error(g.t, err, "variant %d of round %d message from %d accepted", i, m.Round, m.From) {
			var re *round.Error
			assert.True(g.t, errors.As(err, &re), "variant %d: untyped error %v", i, err)
		}
	}
	return g.inner.Store(m)
}

// garbage returns malformed variants of m: truncations, appended bytes, a
// wrong version, random bytes, every field replaced with a short string,
// another session, round or sender.
func garbage(m round.Message) []round.Message {
	var out []round.Message
	with := func(p []byte) { v := m; v.Payload = p; out = append(out, v) }
	p := m.Payload
	with(nil)
	with(p[:1])
	with(p[:len(p)/2])
	with(p[:len(p)-1])
	with(append(slices.Clone(p), 0))
	with(append([]byte{2}, p[1:]...))
	junk := make([]byte, 64)
	_, _ = rand.Read(junk)
	with(junk)
	var fields []any
	if cbor.Unmarshal(p[1:], &fields) == nil {
		for i := range fields {
			with(rewriteFields(p, func(f []any) []any { f[i] = []byte{0xff}; return f }))
			with(rewriteFields(p, func(f []any) []any { f[i] = uint64(7); return f }))
		}
		with(rewriteFields(p, func(f []any) []any { return f[:len(f)-1] }))
		with(rewriteFields(p, func(f []any) []any { return append(f, []byte{}) }))
	}
	v := m
	v.Session[0] ^= 1
	out = append(out, v)
	v = m
	v.Round++
	out = append(out, v)
	v = m
	v.From = 9
	out = append(out, v)
	return out
}

// TestMaliciousKeygen breaks the pairwise setup: the base OTs' verification
// (Verified Simplest OT) and the zero-sharing seed commitments. The honest
// parties abort naming the culprit and output no key.
func TestMaliciousKeygen(t *testing.T) {
	t.Parallel()
	const bad = round.PartyID(2)
	parties := ids(3)
	flip := func(b []byte) []byte { b[len(b)/2] ^= 1; return b }
	cases := []struct {
		name      string
		rnd       uint16
		edit      func([]byte) []byte
		sentinels []error
	}{
		{"seed does not open its commitment", dkgRounds + 2, field(1, flip), []error{ErrCommitment}},
		{"base OT: sender key not a point", dkgRounds + 1, field(0, func(b []byte) []byte {
			return rewriteFields(b, func(f []any) []any { f[0] = make([]byte, 32); return f })
		}), []error{round.ErrMalformed}},
		{"base OT: wrong response", dkgRounds + 4, field(0, func(b []byte) []byte {
			return rewriteFields(b, func(f []any) []any { flip(f[0].([]byte)); return f })
		}), []error{ot.ErrBaseVerification, round.ErrInvalidProof}},
		{"base OT: wrong openings", dkgRounds + 5, field(0, func(b []byte) []byte {
			return rewriteFields(b, func(f []any) []any { flip(f[0].([]byte)); return f })
		}), []error{ot.ErrBaseVerification, round.ErrInvalidProof}},
		{"garbage setup message", dkgRounds + 3, func([]byte) []byte { return []byte{1, 2, 3} }, []error{round.ErrMalformed}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			net := roundtest.NewNetwork(parties)
			net.Intercept = tamper(bad, tc.rnd, false, nil, tc.edit)
			sess := freshSession(t, "ecdsa-keygen", parties)
			res, err := run(t, net, parties, func(id round.PartyID) (round.Round, []round.Message, error) {
				return NewKeygen(KeygenConfig{Session: sess, Self: id, Parties: parties, Threshold: 2, Evidence: net.Keyring})
			})
			assertAbort(t, nil, err, []round.PartyID{bad}, tc.sentinels...)
			for id, r := range res {
				_, isKey := r.(*KeyShare)
				assert.False(t, isKey && id != bad, "party %d output a key", id)
			}
		})
	}
}

// TestMessageValidation is design §4 item 7 on its own: a message from a
// party outside the session, for another recipient, session or round, or a
// second one for a filled slot, is refused with a typed error, blaming its
// sender only when the message itself proves the deviation.
func TestMessageValidation(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 3, 5)
	signers := []round.PartyID{1, 2, 4}
	sess := freshSession(t, "s", signers)
	req := SignRequest{Session: sess, Signers: signers, Digest: make([]byte, 32)}
	r1, _, err := NewSigning(keys[1], req, Config{})
	require.NoError(t, err)
	_, out2, err := NewSigning(keys[2], req, Config{})
	require.NoError(t, err)
	var bcast, direct round.Message
	for _, m := range out2 {
		if m.IsBroadcast() {
			bcast = m
		} else if m.To == 1 {
			direct = m
		}
	}
	cases := []struct {
		name     string
		m        func() round.Message
		sentinel error
		culprits []round.PartyID
	}{
		{"non-member", func() round.Message { m := bcast; m.From = 3; return m }, ErrNotSigner, []round.PartyID{3}},
		{"another session", func() round.Message { m := bcast; m.Session[0] ^= 1; return m }, ErrWrongSession, []round.PartyID{2}},
		{"another round", func() round.Message { m := bcast; m.Round = 2; return m }, round.ErrMalformed, []round.PartyID{2}},
		{"another recipient", func() round.Message { m := direct; m.To = 4; return m }, round.ErrMalformed, []round.PartyID{2}},
		{"from self", func() round.Message { m := bcast; m.From = 1; return m }, round.ErrMalformed, nil},
	}
	for _, tc := range cases {
		err := r1.Store(tc.m())
		var re *round.Error
		require.ErrorAs(t, err, &re, tc.name)
		assert.ErrorIs(t, err, tc.sentinel, tc.name)
		assert.Equal(t, tc.culprits, re.Culprits, tc.name)
	}
	require.NoError(t, r1.Store(bcast))
	require.NoError(t, r1.Store(direct))
	assert.ErrorIs(t, r1.Store(bcast), ErrDuplicateMessage)
	assert.ErrorIs(t, r1.Store(direct), ErrDuplicateMessage)
	// Not every message is in: Finalize refuses and names nobody.
	_, _, err = r1.Finalize()
	var re *round.Error
	require.ErrorAs(t, err, &re)
	assert.Empty(t, re.Culprits)
}
