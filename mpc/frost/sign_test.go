package frost

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
)

// dealKeysWithParity deals BIP340 keys until the group key's y parity is
// the one asked for, so both branches of the even-y handling run.
func dealKeysWithParity(tb testing.TB, t, n int, even bool) map[round.PartyID]*KeyShare {
	for {
		keys := dealKeys(tb, BIP340, t, n, nil)
		if curve.HasEvenY(keys[1].GroupKey()) == even {
			return keys
		}
	}
}

func randomBytes(tb testing.TB, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	return b
}

// TestSignEverySubset signs with each of the ten 3-signer subsets of a
// 3-of-5 key, on every suite, and checks the signature with the suite's
// reference verifier: crypto/ed25519, the RFC 9591 verifier, and btcec for
// BIP340 (plain, BIP86-tweaked and script-tree-tweaked, under group keys of
// both parities).
func TestSignEverySubset(t *testing.T) {
	t.Parallel()
	type keyCase struct {
		name string
		keys map[round.PartyID]*KeyShare
		tr   *Taproot
	}
	var cases []keyCase
	cases = append(cases, keyCase{"Ed25519", dealKeys(t, Ed25519, 3, 5, nil), nil})
	cases = append(cases, keyCase{"Secp256k1", dealKeys(t, Secp256k1, 3, 5, nil), nil})
	for _, even := range []bool{true, false} {
		keys := dealKeysWithParity(t, 3, 5, even)
		for _, tr := range []*Taproot{nil, {}, {MerkleRoot: randomBytes(t, 32)}} {
			name := fmt.Sprintf("BIP340/evenY=%v/", even)
			switch {
			case tr == nil:
				name += "untweaked"
			case len(tr.MerkleRoot) == 0:
				name += "BIP86"
			default:
				name += "scripttree"
			}
			cases = append(cases, keyCase{name, keys, tr})
		}
	}
	for _, kc := range cases {
		t.Run(kc.name, func(t *testing.T) {
			t.Parallel()
			subs := subsets(5, 3)
			require.Len(t, subs, 10)
			for _, signers := range subs {
				msg := randomBytes(t, 32)
				c := newCeremony(t, kc.keys, signers, msg, kc.tr)
				res, err := c.run(t)
				require.NoError(t, err, "signers %v", signers)
				sig := requireSignatures(t, res, signers, msg)
				want, err := kc.keys[1].VerifyingKey(kc.tr)
				require.NoError(t, err)
				assert.Equal(t, want, sig.PublicKey)
				switch sig.Suite {
				case Ed25519:
					assert.True(t, ed25519.Verify(sig.PublicKey, msg, sig.Bytes), "crypto/ed25519, signers %v", signers)
					assert.Equal(t, kc.keys[1].GroupKey().Bytes(), sig.PublicKey)
				case Secp256k1:
					assert.Len(t, sig.Bytes, 65)
					assert.Equal(t, kc.keys[1].GroupKey().Bytes(), sig.PublicKey)
				case BIP340:
					assert.Len(t, sig.Bytes, 64)
					assert.True(t, btcecVerify(sig.PublicKey, msg, sig.Bytes), "btcec, signers %v", signers)
					if kc.tr == nil {
						assert.Equal(t, curve.XOnly(kc.keys[1].GroupKey()), sig.PublicKey)
					}
				}
				// A signature does not verify for another message.
				assert.ErrorIs(t, Verify(sig.Suite, sig.PublicKey, append(msg, 0), sig.Bytes), ErrInvalidSignature)
			}
		})
	}
}

func TestSignMoreThanThresholdAndAnyMessageLength(t *testing.T) {
	t.Parallel()
	for _, s := range suites {
		t.Run(s.Name(), func(t *testing.T) {
			t.Parallel()
			keys := dealKeys(t, s, 3, 5, nil)
			for i, msg := range [][]byte{nil, {0}, randomBytes(t, 1000)} {
				signers := []round.PartyID{1, 2, 4, 5}
				c := newCeremony(t, keys, signers, msg, nil)
				for _, id := range signers {
					c.cfg[id] = Config{DeferShareChecks: i == 1}
				}
				res, err := c.run(t)
				require.NoError(t, err)
				requireSignatures(t, res, signers, msg)
			}
		})
	}
}

// TestSignThresholdExtremes covers the threshold extremes.
func TestSignThresholdExtremes(t *testing.T) {
	t.Parallel()
	for _, s := range suites {
		for _, tn := range [][2]int{{1, 1}, {1, 3}, {4, 4}} {
			keys := dealKeys(t, s, tn[0], tn[1], nil)
			signers := ids(tn[1])[:tn[0]]
			msg := []byte("threshold extremes")
			c := newCeremony(t, keys, signers, msg, nil)
			parties := map[round.PartyID]roundtest.Party{}
			for _, id := range signers {
				r, out, err := NewSigning(keys[id], c.req, Config{})
				require.NoError(t, err)
				parties[id] = roundtest.Party{Round: r, Out: out}
			}
			res, err := roundtest.NewNetwork(signers).Run(parties)
			require.NoError(t, err, "%s %d-of-%d", s, tn[0], tn[1])
			requireSignatures(t, res, signers, msg)
		}
	}
}

// TestPrecommitted exchanges commitments ahead of time through NonceStores
// and their wire encoding, then signs with one broadcast.
func TestPrecommitted(t *testing.T) {
	t.Parallel()
	for _, s := range suites {
		t.Run(s.Name(), func(t *testing.T) {
			t.Parallel()
			keys := dealKeys(t, s, 3, 5, nil)
			signers := []round.PartyID{2, 3, 5}
			stores := map[round.PartyID]*NonceStore{}
			published := map[round.PartyID][][]byte{}
			for _, id := range signers {
				stores[id] = NewNonceStore()
				cs, err := stores[id].Precommit(keys[id], 4, nil)
				require.NoError(t, err)
				require.Len(t, cs, 4)
				for _, c := range cs {
					b, err := c.MarshalBinary()
					require.NoError(t, err)
					published[id] = append(published[id], b)
				}
			}
			var tr *Taproot
			if s == BIP340 {
				tr = &Taproot{}
			}
			for session := range 4 {
				// The coordinator picks each signer's session-th commitment.
				list := make([]Commitment, len(signers))
				for i, id := range signers {
					c, err := UnmarshalCommitment(s, published[id][session])
					require.NoError(t, err)
					require.Equal(t, id, c.Party())
					list[i] = c
				}
				msg := randomBytes(t, 32)
				req := SignRequest{Session: newSession(t, signers), Signers: signers, Message: msg, Taproot: tr}
				parties := map[round.PartyID]roundtest.Party{}
				for i, id := range signers {
					nonce, err := stores[id].Take(list[i])
					require.NoError(t, err)
					r, out, err := NewPrecommittedSigning(keys[id], req, nonce, list, Config{})
					require.NoError(t, err)
					require.Len(t, out, 1, "the online step is one broadcast")
					assert.Equal(t, uint16(1), r.Number())
					assert.True(t, nonce.Used(), "the nonce is erased once the share is computed")
					parties[id] = roundtest.Party{Round: r, Out: out}

					// Neither the nonce nor its commitment signs twice.
					_, _, err = NewPrecommittedSigning(keys[id], req, nonce, list, Config{})
					assert.ErrorIs(t, err, ErrNonceUsed)
					_, err = stores[id].Take(list[i])
					assert.ErrorIs(t, err, ErrNonceUsed)
				}
				res, err := roundtest.NewNetwork(signers).Run(parties)
				require.NoError(t, err)
				sig := requireSignatures(t, res, signers, msg)
				if s == BIP340 {
					assert.True(t, btcecVerify(sig.PublicKey, msg, sig.Bytes))
				}
			}
			for _, id := range signers {
				assert.Equal(t, 0, stores[id].Len())
			}
		})
	}
}

func TestPrecommittedRequestValidation(t *testing.T) {
	t.Parallel()
	keys := dealKeys(t, Secp256k1, 2, 3, nil)
	signers := []round.PartyID{1, 2}
	n1, err := Precommit(keys[1], nil)
	require.NoError(t, err)
	n2, err := Precommit(keys[2], nil)
	require.NoError(t, err)
	n3, err := Precommit(keys[3], nil)
	require.NoError(t, err)
	other, err := Precommit(keys[1], nil)
	require.NoError(t, err)
	edKeys := dealKeys(t, Ed25519, 2, 3, nil)
	edNonce, err := Precommit(edKeys[2], nil)
	require.NoError(t, err)
	req := SignRequest{Session: newSession(t, signers), Signers: signers, Message: []byte("m")}
	for name, tc := range map[string]struct {
		nonce *Nonce
		list  []Commitment
		want  error
	}{
		"missing":      {n1, []Commitment{n1.Commitment()}, ErrMissingCommitment},
		"extra":        {n1, []Commitment{n1.Commitment(), n2.Commitment(), n3.Commitment()}, ErrMissingCommitment},
		"out of order": {n1, []Commitment{n2.Commitment(), n1.Commitment()}, ErrMissingCommitment},
		"non-signer":   {n1, []Commitment{n1.Commitment(), n3.Commitment()}, ErrMissingCommitment},
		"other suite":  {n1, []Commitment{n1.Commitment(), edNonce.Commitment()}, ErrMissingCommitment},
		"wrong nonce":  {other, []Commitment{n1.Commitment(), n2.Commitment()}, ErrInvalidRequest},
		"nil nonce":    {nil, []Commitment{n1.Commitment(), n2.Commitment()}, ErrInvalidRequest},
		"duplicate": {n1, []Commitment{n1.Commitment(), {suite: Secp256k1, party: 2, hiding: n1.Commitment().hiding, binding: n2.Commitment().binding}},
			ErrDuplicateCommitment},
	} {
		_, _, err := NewPrecommittedSigning(keys[1], req, tc.nonce, tc.list, Config{})
		assert.ErrorIs(t, err, tc.want, name)
		if tc.nonce != nil {
			assert.False(t, tc.nonce.Used(), "%s: a refused request must not burn the nonce", name)
		}
	}
}

func TestNonceStore(t *testing.T) {
	t.Parallel()
	keys := dealKeys(t, Ed25519, 2, 3, nil)
	st := NewNonceStore()
	cs, err := st.Precommit(keys[1], 2, nil)
	require.NoError(t, err)
	foreign, err := Precommit(keys[2], nil)
	require.NoError(t, err)
	_, err = st.Take(foreign.Commitment())
	assert.ErrorIs(t, err, ErrUnknownNonce)
	_, err = st.Take(Commitment{})
	assert.ErrorIs(t, err, ErrUnknownNonce)
	n, err := st.Take(cs[0])
	require.NoError(t, err)
	assert.True(t, n.Commitment().Equal(cs[0]))
	_, err = st.Take(cs[0])
	assert.ErrorIs(t, err, ErrNonceUsed)
	assert.Equal(t, 1, st.Len())

	d, e, err := n.take()
	require.NoError(t, err)
	assert.True(t, keys[1].suite.curve.MulBase(d).Equal(cs[0].Hiding()))
	assert.True(t, keys[1].suite.curve.MulBase(e).Equal(cs[0].Binding()))
	assert.Nil(t, n.hiding, "nonce encodings are dropped after use")
	_, _, err = n.take()
	assert.ErrorIs(t, err, ErrNonceUsed)
}

func TestNonceFromInjectedRandomness(t *testing.T) {
	t.Parallel()
	keys := dealKeys(t, Secp256k1, 2, 3, nil)
	zero := make([]byte, 64)
	a, err := Precommit(keys[1], fixedReader(zero))
	require.NoError(t, err)
	b, err := Precommit(keys[2], fixedReader(zero))
	require.NoError(t, err)
	assert.False(t, a.Commitment().hiding.Equal(b.Commitment().hiding), "nonces mix in the secret share")
	// Equal randomness for both nonces gives equal nonces: peers refuse
	// such a commitment (see TestMalformedCommitment).
	assert.True(t, a.Commitment().hiding.Equal(a.Commitment().binding))
	_, err = Precommit(keys[1], fixedReader(zero[:40]))
	assert.Error(t, err, "a short read fails")
}

func TestSignRequestValidation(t *testing.T) {
	t.Parallel()
	keys := dealKeys(t, Secp256k1, 3, 5, nil)
	sess := newSession(t, []round.PartyID{1, 2, 3})
	for name, tc := range map[string]struct {
		key *KeyShare
		req SignRequest
	}{
		"zero session":    {keys[1], SignRequest{Signers: []round.PartyID{1, 2, 3}}},
		"below threshold": {keys[1], SignRequest{Session: sess, Signers: []round.PartyID{1, 2}}},
		"unsorted":        {keys[1], SignRequest{Session: sess, Signers: []round.PartyID{1, 3, 2}}},
		"duplicate":       {keys[1], SignRequest{Session: sess, Signers: []round.PartyID{1, 2, 2, 3}}},
		"zero id":         {keys[1], SignRequest{Session: sess, Signers: []round.PartyID{0, 1, 2, 3}}},
		"without self":    {keys[1], SignRequest{Session: sess, Signers: []round.PartyID{2, 3, 4}}},
		"not a key party": {keys[1], SignRequest{Session: sess, Signers: []round.PartyID{1, 2, 6}}},
		"nil key":         {nil, SignRequest{Session: sess, Signers: []round.PartyID{1, 2, 3}}},
		"tweak on RFC":    {keys[1], SignRequest{Session: sess, Signers: []round.PartyID{1, 2, 3}, Taproot: &Taproot{}}},
	} {
		_, _, err := NewSigning(tc.key, tc.req, Config{})
		assert.Error(t, err, name)
		if name == "tweak on RFC" {
			assert.ErrorIs(t, err, ErrInvalidTweak)
		} else {
			assert.ErrorIs(t, err, ErrInvalidRequest, name)
		}
	}
	btc := dealKeys(t, BIP340, 2, 3, nil)
	_, _, err := NewSigning(btc[1], SignRequest{Session: sess, Signers: []round.PartyID{1, 2}, Taproot: &Taproot{MerkleRoot: []byte{1}}}, Config{})
	assert.ErrorIs(t, err, ErrInvalidTweak)
}

func TestNewKeyShareValidation(t *testing.T) {
	t.Parallel()
	for _, s := range suites {
		c := s.curve
		keys := dealKeys(t, s, 2, 3, nil)
		k := keys[1]
		shares := map[round.PartyID]curve.Point{1: k.shares[1], 2: k.shares[2], 3: k.shares[3]}
		with := func(id round.PartyID, p curve.Point) map[round.PartyID]curve.Point {
			m := map[round.PartyID]curve.Point{}
			for i, q := range shares {
				m[i] = q
			}
			m[id] = p
			return m
		}
		other := dealKeys(t, s, 2, 3, nil)[1]
		otherSuite := Ed25519
		if s == Ed25519 {
			otherSuite = Secp256k1
		}
		foreign := dealKeys(t, otherSuite, 2, 3, nil)[1]
		for name, tc := range map[string]struct {
			suite  *Suite
			self   round.PartyID
			t      int
			secret curve.Scalar
			group  curve.Point
			shares map[round.PartyID]curve.Point
		}{
			"nil suite":         {nil, 1, 2, k.secret, k.groupKey, shares},
			"zero secret":       {s, 1, 2, c.NewScalar(), k.groupKey, shares},
			"nil secret":        {s, 1, 2, nil, k.groupKey, shares},
			"wrong secret":      {s, 1, 2, other.secret, k.groupKey, shares},
			"wrong group key":   {s, 1, 2, k.secret, other.groupKey, shares},
			"share off curve":   {s, 1, 2, k.secret, k.groupKey, with(3, other.shares[3])},
			"missing share":     {s, 1, 2, k.secret, k.groupKey, with(2, nil)},
			"self not a party":  {s, 4, 2, k.secret, k.groupKey, shares},
			"zero party":        {s, 1, 2, k.secret, k.groupKey, with(0, k.shares[2])},
			"threshold 0":       {s, 1, 0, k.secret, k.groupKey, shares},
			"threshold 4":       {s, 1, 4, k.secret, k.groupKey, shares},
			"threshold too low": {s, 1, 1, k.secret, k.groupKey, shares},
			"foreign curve":     {s, 1, 2, k.secret, foreign.groupKey, shares},
			"identity group":    {s, 1, 2, k.secret, c.Identity(), shares},
		} {
			_, err := NewKeyShare(tc.suite, tc.self, tc.t, tc.secret, tc.group, tc.shares)
			assert.ErrorIs(t, err, ErrInvalidKeyShare, "%s: %s", s, name)
		}
		_, err := NewKeyShare(s, 1, 2, k.secret, k.groupKey, shares)
		assert.NoError(t, err)
	}
}

func TestSuiteByName(t *testing.T) {
	t.Parallel()
	for _, s := range suites {
		assert.Same(t, s, SuiteByName(s.Name()))
	}
	assert.Nil(t, SuiteByName("FROST-P256-SHA256-v1"))
	assert.Equal(t, 64, Ed25519.SignatureSize())
	assert.Equal(t, 65, Secp256k1.SignatureSize())
	assert.Equal(t, 64, BIP340.SignatureSize())
}

func TestSecretsAreRedacted(t *testing.T) {
	t.Parallel()
	for _, s := range suites {
		k := dealKeys(t, s, 2, 3, nil)[1]
		n, err := Precommit(k, nil)
		require.NoError(t, err)
		secrets := []string{fmt.Sprintf("%x", k.secret.Bytes()), fmt.Sprintf("%x", n.hiding), fmt.Sprintf("%x", n.binding)}
		for _, v := range []any{k, n, *k} {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				out := fmt.Sprintf(verb, v)
				for _, sec := range secrets {
					assert.NotContains(t, strings.ToLower(out), sec, "%s %s leaks a secret", s, verb)
				}
			}
		}
		assert.Equal(t, "frost.KeyShare{}", (&KeyShare{}).String())
		assert.Equal(t, "frost.Nonce{}", (&Nonce{}).String())
		assert.Contains(t, k.String(), "redacted")
		assert.Contains(t, n.String(), "redacted")
	}
}
