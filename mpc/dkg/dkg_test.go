package dkg

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
)

var thresholds = []struct{ t, n int }{
	{1, 1}, {1, 3}, {2, 3}, {3, 5}, {7, 10}, {16, 16}, {5, 16},
}

func TestDKG(t *testing.T) {
	t.Parallel()
	for _, c := range curves {
		for _, tc := range thresholds {
			t.Run(fmt.Sprintf("%s/%d-of-%d", c.Name(), tc.t, tc.n), func(t *testing.T) {
				t.Parallel()
				cl := newCluster(t, c, tc.t, tc.n)
				shares := cl.runHonest(t)
				require.Len(t, shares, tc.n)

				first := shares[cl.ids[0]]
				wantPub, err := first.Public().MarshalBinary()
				require.NoError(t, err)
				assert.NotEqual(t, [32]byte{}, first.ChainCode)
				for _, id := range cl.ids {
					ks := shares[id]
					assert.Equal(t, id, ks.Self)
					assert.Equal(t, tc.t, ks.Threshold)
					assert.Equal(t, cl.ids, ks.Parties)
					assert.Equal(t, c.Name(), ks.Curve.Name())
					require.NoError(t, ks.Validate())
					pub, err := ks.Public().MarshalBinary()
					require.NoError(t, err)
					assert.Equalf(t, wantPub, pub, "party %d disagrees on the public key", id)
					assert.True(t, ks.GroupKey.Equal(first.GroupKey))
					assert.Equal(t, first.ChainCode, ks.ChainCode)
					for _, j := range cl.ids {
						assert.True(t, ks.VerificationShares[j].Equal(c.MulBase(shares[j].Secret)))
					}
				}

				rng := mrand.New(mrand.NewPCG(uint64(tc.t), uint64(tc.n)))
				subsets := [][]round.PartyID{cl.ids[:tc.t], cl.ids[tc.n-tc.t:]}
				for range 3 {
					perm := rng.Perm(tc.n)
					sub := make([]round.PartyID, tc.t)
					for i := range sub {
						sub[i] = cl.ids[perm[i]]
					}
					subsets = append(subsets, sub)
				}
				for _, sub := range subsets {
					assert.Truef(t, c.MulBase(interpolateSecret(t, c, shares, sub)).Equal(first.GroupKey),
						"shares of %v do not interpolate to the group secret", sub)
					if tc.t > 1 {
						fewer := sub[:tc.t-1]
						assert.Falsef(t, c.MulBase(interpolateSecret(t, c, shares, fewer)).Equal(first.GroupKey),
							"t−1 shares of %v interpolate to the group secret", fewer)
					}
				}
			})
		}
	}
}

// interpolateSecret is Σ λ_i·s_i over the parties in sub.
func interpolateSecret(t *testing.T, c curve.Curve, shares map[round.PartyID]*KeyShare, sub []round.PartyID) curve.Scalar {
	ids := make([]uint16, len(sub))
	for i, id := range sub {
		ids[i] = uint16(id)
	}
	acc := c.NewScalar()
	for _, id := range sub {
		l, err := curve.Lagrange(c, uint16(id), ids)
		require.NoError(t, err)
		acc = acc.Add(l.Mul(shares[id].Secret))
	}
	return acc
}

func TestStartRejectsBadConfig(t *testing.T) {
	t.Parallel()
	kr := round.Keyring{}
	good := Config{Curve: curve.Secp256k1, Session: testSession("config"), Self: 1, Parties: partyIDs(3), Threshold: 2, Evidence: kr}
	tooMany := partyIDs(MaxParties + 1)
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
	}{
		{"no curve", func(c *Config) { c.Curve = nil }},
		{"zero session", func(c *Config) { c.Session = round.SessionID{} }},
		{"threshold 0", func(c *Config) { c.Threshold = 0 }},
		{"threshold above n", func(c *Config) { c.Threshold = 4 }},
		{"self not a party", func(c *Config) { c.Self = 9 }},
		{"self zero", func(c *Config) { c.Self = 0 }},
		{"unsorted parties", func(c *Config) { c.Parties = []round.PartyID{2, 1, 3} }},
		{"duplicate parties", func(c *Config) { c.Parties = []round.PartyID{1, 1, 3} }},
		{"party zero", func(c *Config) { c.Parties = []round.PartyID{0, 1, 3} }},
		{"too many parties", func(c *Config) { c.Parties = tooMany }},
		{"no evidence verifier", func(c *Config) { c.Evidence = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mutate(&cfg)
			r, out, err := Start(cfg)
			assert.Error(t, err)
			assert.Nil(t, r)
			assert.Nil(t, out)
		})
	}
	_, _, err := Start(good)
	assert.NoError(t, err)
}

func TestStartFailingRandomness(t *testing.T) {
	t.Parallel()
	cfg := Config{Curve: curve.Edwards25519, Session: testSession("rand"), Self: 1, Parties: partyIDs(3), Threshold: 2, Evidence: round.Keyring{}, Rand: failingReader{}}
	_, _, err := Start(cfg)
	assert.Error(t, err)
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, fmt.Errorf("no entropy") }

func TestKeyShareNeverPrintsSecret(t *testing.T) {
	t.Parallel()
	for _, c := range curves {
		cl := newCluster(t, c, 2, 3)
		ks := cl.runHonest(t)[1]
		secretHex := fmt.Sprintf("%x", ks.Secret.Bytes())
		for _, s := range []string{
			ks.String(), fmt.Sprint(ks), fmt.Sprint(*ks),
			fmt.Sprintf("%v %+v %#v %s %x %X %q %d", ks, ks, ks, ks, ks, ks, ks, ks),
			fmt.Sprintf("%v %+v %#v %x", *ks, *ks, *ks, *ks),
		} {
			assert.NotContains(t, s, secretHex)
			assert.NotContains(t, s, fmt.Sprintf("%X", ks.Secret.Bytes()))
		}
		assert.Contains(t, ks.String(), "redacted")
		assert.Contains(t, ks.String(), fmt.Sprintf("%x", ks.GroupKey.Bytes()))
	}
}

func TestKeyShareEncoding(t *testing.T) {
	t.Parallel()
	for _, c := range curves {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			cl := newCluster(t, c, 3, 5)
			shares := cl.runHonest(t)
			ks := shares[4]

			enc, err := ks.MarshalBinary()
			require.NoError(t, err)
			var got KeyShare
			require.NoError(t, got.UnmarshalBinary(enc))
			assert.Equal(t, ks.Self, got.Self)
			assert.Equal(t, ks.Threshold, got.Threshold)
			assert.Equal(t, ks.Parties, got.Parties)
			assert.True(t, ks.Secret.Equal(got.Secret))
			assert.True(t, ks.GroupKey.Equal(got.GroupKey))
			assert.Equal(t, ks.ChainCode, got.ChainCode)
			for _, id := range cl.ids {
				assert.True(t, ks.VerificationShares[id].Equal(got.VerificationShares[id]))
			}
			again, err := got.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, enc, again, "encoding is deterministic")

			pubEnc, err := ks.Public().MarshalBinary()
			require.NoError(t, err)
			var pub PublicKey
			require.NoError(t, pub.UnmarshalBinary(pubEnc))
			assert.True(t, pub.GroupKey.Equal(ks.GroupKey))
			assert.NotContains(t, string(pubEnc), string(ks.Secret.Bytes()))

			// The public encoding is not a key share, and vice versa.
			assert.Error(t, new(KeyShare).UnmarshalBinary(pubEnc))
			assert.Error(t, new(PublicKey).UnmarshalBinary(enc))

			// Public shares no memory with the key share.
			p := ks.Public()
			p.Parties[0] = 99
			delete(p.VerificationShares, 1)
			assert.Equal(t, round.PartyID(1), ks.Parties[0])
			assert.Contains(t, ks.VerificationShares, round.PartyID(1))
		})
	}
}

func TestKeyShareValidateRejectsInconsistency(t *testing.T) {
	t.Parallel()
	for _, c := range curves {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			cl := newCluster(t, c, 2, 4)
			shares := cl.runHonest(t)
			one := c.ScalarFromUint64(1)
			for _, tc := range []struct {
				name   string
				mutate func(*KeyShare)
			}{
				{"secret off by one", func(k *KeyShare) { k.Secret = k.Secret.Add(one) }},
				{"zero secret", func(k *KeyShare) { k.Secret = c.NewScalar() }},
				{"another party's secret", func(k *KeyShare) { k.Secret = shares[2].Secret }},
				{"self not a party", func(k *KeyShare) { k.Self = 9 }},
				{"group key moved", func(k *KeyShare) { k.GroupKey = k.GroupKey.Add(c.Generator()) }},
				{"verification share off the polynomial", func(k *KeyShare) {
					k.VerificationShares[4] = k.VerificationShares[4].Add(c.Generator())
				}},
				{"verification share missing", func(k *KeyShare) { delete(k.VerificationShares, 3) }},
				{"threshold lowered", func(k *KeyShare) { k.Threshold = 1 }},
				{"threshold above n", func(k *KeyShare) { k.Threshold = 5 }},
				{"no curve", func(k *KeyShare) { k.Curve = nil }},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ks := *shares[1]
					ks.Parties = append([]round.PartyID(nil), ks.Parties...)
					ks.VerificationShares = ks.Public().VerificationShares
					tc.mutate(&ks)
					assert.Error(t, ks.Validate())
					_, err := ks.MarshalBinary()
					assert.Error(t, err)
				})
			}
		})
	}
}
