package frost

import (
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// btcecVerify is btcec/v2/schnorr's verdict; it takes 32-byte messages only.
func btcecVerify(pub, msg, sig []byte) bool {
	pk, err := schnorr.ParsePubKey(pub)
	if err != nil {
		return false
	}
	s, err := schnorr.ParseSignature(sig)
	if err != nil {
		return false
	}
	return s.Verify(msg, pk)
}

func TestBIP340Vectors(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/bip340-test-vectors.csv")
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"index", "secret key", "public key", "aux_rand", "message", "signature", "verification result", "comment"}, rows[0])
	rows = rows[1:]
	require.GreaterOrEqual(t, len(rows), 19)
	for _, row := range rows {
		idx, sec, pub, msg, sig, want := row[0], row[1], unhex(t, row[2]), unhex(t, row[4]), unhex(t, row[5]), row[6] == "TRUE"
		require.Contains(t, []string{"TRUE", "FALSE"}, row[6])
		err := Verify(BIP340, pub, msg, sig)
		if want {
			assert.NoError(t, err, "vector %s (%s)", idx, row[7])
		} else {
			assert.ErrorIs(t, err, ErrInvalidSignature, "vector %s (%s)", idx, row[7])
			assert.ErrorIs(t, err, round.ErrBadSignature)
		}
		if len(msg) == 32 {
			assert.Equal(t, want, btcecVerify(pub, msg, sig), "btcec disagrees on vector %s", idx)
		}
		if sec != "" {
			d, err := curve.Secp256k1.DecodeScalar(unhex(t, sec))
			require.NoError(t, err)
			assert.Equal(t, strings.ToLower(row[2]), hex.EncodeToString(curve.XOnly(curve.Secp256k1.MulBase(d))), "vector %s public key", idx)
		}
	}
}

// TestVerifyAgreesWithBtcec mutates valid signatures and checks that our
// BIP340 verifier and btcec agree on every result.
func TestVerifyAgreesWithBtcec(t *testing.T) {
	t.Parallel()
	keys := dealKeys(t, BIP340, 2, 3, nil)
	msg := make([]byte, 32)
	msg[0] = 7
	c := newCeremony(t, keys, []round.PartyID{1, 3}, msg, nil)
	res, err := c.run(t)
	require.NoError(t, err)
	sig := requireSignatures(t, res, c.req.Signers, msg)
	require.True(t, btcecVerify(sig.PublicKey, msg, sig.Bytes))
	for i := range 64 * 8 {
		bad := append([]byte(nil), sig.Bytes...)
		bad[i/8] ^= 1 << (i % 8)
		assert.Equal(t, btcecVerify(sig.PublicKey, msg, bad), Verify(BIP340, sig.PublicKey, msg, bad) == nil, "bit %d", i)
		assert.Error(t, Verify(BIP340, sig.PublicKey, msg, bad))
	}
	for i := range 32 * 8 {
		badKey := append([]byte(nil), sig.PublicKey...)
		badKey[i/8] ^= 1 << (i % 8)
		assert.Equal(t, btcecVerify(badKey, msg, sig.Bytes), Verify(BIP340, badKey, msg, sig.Bytes) == nil, "key bit %d", i)
	}
}

func TestTaprootTweakVectors(t *testing.T) {
	t.Parallel()
	t.Run("BIP341", func(t *testing.T) {
		raw, err := os.ReadFile("testdata/bip341-wallet-test-vectors.json")
		require.NoError(t, err)
		var v struct {
			ScriptPubKey []struct {
				Given struct {
					InternalPubkey string `json:"internalPubkey"`
				} `json:"given"`
				Intermediary struct {
					MerkleRoot    *string `json:"merkleRoot"`
					Tweak         string  `json:"tweak"`
					TweakedPubkey string  `json:"tweakedPubkey"`
				} `json:"intermediary"`
			} `json:"scriptPubKey"`
		}
		require.NoError(t, json.Unmarshal(raw, &v))
		require.NotEmpty(t, v.ScriptPubKey)
		for i, tc := range v.ScriptPubKey {
			p, err := curve.LiftX(unhex(t, tc.Given.InternalPubkey))
			require.NoError(t, err)
			tr := &Taproot{}
			if tc.Intermediary.MerkleRoot != nil {
				tr.MerkleRoot = unhex(t, *tc.Intermediary.MerkleRoot)
			}
			for _, pp := range []curve.Point{p, p.Negate()} { // the internal key's parity must not matter
				tw, q, err := taprootTweak(pp, tr)
				require.NoError(t, err)
				assert.Equal(t, tc.Intermediary.Tweak, hex.EncodeToString(tw.Bytes()), "vector %d tweak", i)
				assert.Equal(t, tc.Intermediary.TweakedPubkey, hex.EncodeToString(curve.XOnly(q)), "vector %d output key", i)
			}
		}
	})
	t.Run("BIP86", func(t *testing.T) {
		raw, err := os.ReadFile("testdata/bip86-vectors.json")
		require.NoError(t, err)
		var v struct {
			Vectors []struct {
				Internal string `json:"internal_key"`
				Output   string `json:"output_key"`
			} `json:"vectors"`
		}
		require.NoError(t, json.Unmarshal(raw, &v))
		require.Len(t, v.Vectors, 3)
		for _, tc := range v.Vectors {
			p, err := curve.LiftX(unhex(t, tc.Internal))
			require.NoError(t, err)
			_, q, err := taprootTweak(p, &Taproot{})
			require.NoError(t, err)
			assert.Equal(t, tc.Output, hex.EncodeToString(curve.XOnly(q)))
		}
	})
	t.Run("BadMerkleRoot", func(t *testing.T) {
		_, _, err := taprootTweak(curve.Secp256k1.Generator(), &Taproot{MerkleRoot: make([]byte, 31)})
		assert.ErrorIs(t, err, ErrInvalidTweak)
	})
}

// TestBIP341KeyPathSpending splits each internal private key of the BIP341
// key-path spending vectors 2-of-3 and 3-of-5, signs the vector's sighash
// with FROST under its Merkle root, and checks that the signature verifies
// under the vector's output key, with our verifier and with btcec.
func TestBIP341KeyPathSpending(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/bip341-wallet-test-vectors.json")
	require.NoError(t, err)
	var v struct {
		KeyPathSpending []struct {
			InputSpending []struct {
				Given struct {
					InternalPrivkey string  `json:"internalPrivkey"`
					MerkleRoot      *string `json:"merkleRoot"`
				} `json:"given"`
				Intermediary struct {
					InternalPubkey string `json:"internalPubkey"`
					TweakedPrivkey string `json:"tweakedPrivkey"`
					SigHash        string `json:"sigHash"`
				} `json:"intermediary"`
			} `json:"inputSpending"`
		} `json:"keyPathSpending"`
	}
	require.NoError(t, json.Unmarshal(raw, &v))
	require.NotEmpty(t, v.KeyPathSpending)
	inputs := v.KeyPathSpending[0].InputSpending
	require.Len(t, inputs, 7)
	for i, in := range inputs {
		secret, err := curve.Secp256k1.DecodeScalar(unhex(t, in.Given.InternalPrivkey))
		require.NoError(t, err)
		tweaked, err := curve.Secp256k1.DecodeScalar(unhex(t, in.Intermediary.TweakedPrivkey))
		require.NoError(t, err)
		outputKey := curve.XOnly(curve.Secp256k1.MulBase(tweaked))
		tr := &Taproot{}
		if in.Given.MerkleRoot != nil {
			tr.MerkleRoot = unhex(t, *in.Given.MerkleRoot)
		}
		msg := unhex(t, in.Intermediary.SigHash)
		for _, tn := range [][2]int{{2, 3}, {3, 5}} {
			keys := dealKeys(t, BIP340, tn[0], tn[1], secret)
			internal, err := keys[1].VerifyingKey(nil)
			require.NoError(t, err)
			assert.Equal(t, in.Intermediary.InternalPubkey, hex.EncodeToString(internal))
			vk, err := keys[1].VerifyingKey(tr)
			require.NoError(t, err)
			require.Equal(t, outputKey, vk, "input %d output key", i)

			signers := ids(tn[1])[tn[1]-tn[0]:]
			c := newCeremony(t, keys, signers, msg, tr)
			res, err := c.run(t)
			require.NoError(t, err)
			sig := requireSignatures(t, res, signers, msg)
			assert.Equal(t, outputKey, sig.PublicKey)
			assert.True(t, btcecVerify(outputKey, msg, sig.Bytes), "input %d: btcec refuses the signature", i)
		}
	}
}
