package bitcoin_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/btcsuite/btcd/txscript"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/chains"
	"github.com/cairn-mpc/cairn/chains/bitcoin"
)

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func mainnet(t *testing.T) *bitcoin.Chain {
	t.Helper()
	c, err := bitcoin.New(bitcoin.Config{Network: bitcoin.Mainnet})
	require.NoError(t, err)
	return c
}

func TestBIP84Vectors(t *testing.T) {
	t.Parallel()
	var f struct {
		Vectors []struct{ Path, Pubkey, Address string }
	}
	readJSON(t, "testdata/bip84.json", &f)
	require.NotEmpty(t, f.Vectors)
	c := mainnet(t)
	for _, v := range f.Vectors {
		got, err := c.Address(chains.PublicKey{Scheme: chains.ECDSA, Bytes: unhex(t, v.Pubkey)})
		require.NoError(t, err, v.Path)
		assert.Equal(t, v.Address, got, v.Path)
		assert.NoError(t, c.ValidateAddress(v.Address))
	}
}

func TestBIP86Vectors(t *testing.T) {
	t.Parallel()
	var f struct {
		Vectors []struct {
			Path                  string
			InternalKey           string `json:"internal_key"`
			OutputKey             string `json:"output_key"`
			ScriptPubKey, Address string
		}
	}
	readJSON(t, "testdata/bip86.json", &f)
	require.NotEmpty(t, f.Vectors)
	c := mainnet(t)
	for _, v := range f.Vectors {
		got, err := c.Address(chains.PublicKey{Scheme: chains.BIP340, Bytes: unhex(t, v.InternalKey)})
		require.NoError(t, err, v.Path)
		assert.Equal(t, v.Address, got, v.Path)
		out, err := bitcoin.TaprootOutputKey(unhex(t, v.InternalKey), nil)
		require.NoError(t, err)
		assert.Equal(t, v.OutputKey, hex.EncodeToString(out), v.Path)
		a, err := bitcoin.ParseAddress("Bitcoin", c.Params(), v.Address)
		require.NoError(t, err)
		script, err := txscript.PayToAddrScript(a)
		require.NoError(t, err)
		assert.Equal(t, v.ScriptPubKey, hex.EncodeToString(script), v.Path)
	}
}

// TestBIP341WalletVectors checks the output key, scriptPubKey and address
// of every scriptPubKey case of BIP341's wallet test vectors, with and
// without script trees, and the BIP86 address where there is no tree.
func TestBIP341WalletVectors(t *testing.T) {
	t.Parallel()
	var f struct {
		ScriptPubKey []struct {
			Given struct {
				InternalPubkey string
				ScriptTree     json.RawMessage
			}
			Intermediary struct {
				MerkleRoot    *string
				TweakedPubkey string
			}
			Expected struct {
				ScriptPubKey  string
				Bip350Address string
			}
		}
	}
	readJSON(t, "testdata/bip341-wallet-test-vectors.json", &f)
	require.Len(t, f.ScriptPubKey, 7)
	c := mainnet(t)
	for i, v := range f.ScriptPubKey {
		var root []byte
		if v.Intermediary.MerkleRoot != nil {
			root = unhex(t, *v.Intermediary.MerkleRoot)
		}
		out, err := bitcoin.TaprootOutputKey(unhex(t, v.Given.InternalPubkey), root)
		require.NoError(t, err, i)
		assert.Equal(t, v.Intermediary.TweakedPubkey, hex.EncodeToString(out), i)
		assert.Equal(t, v.Expected.ScriptPubKey, "5120"+hex.EncodeToString(out), i)
		a, err := bitcoin.ParseAddress("Bitcoin", c.Params(), v.Expected.Bip350Address)
		require.NoError(t, err, i)
		assert.Equal(t, out, a.ScriptAddress(), i)
		if root == nil {
			got, err := c.Address(chains.PublicKey{Scheme: chains.BIP340, Bytes: unhex(t, v.Given.InternalPubkey)})
			require.NoError(t, err)
			assert.Equal(t, v.Expected.Bip350Address, got, i)
		}
	}
}
