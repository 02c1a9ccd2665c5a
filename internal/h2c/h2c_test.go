package h2c

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"hash"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vectorFile is the layout of the RFC 9380 appendix K vector files in
// testdata (see testdata/README.md for their source).
type vectorFile struct {
	DST   string `json:"DST"`
	Hash  string `json:"hash"`
	Name  string `json:"name"`
	Tests []struct {
		DSTPrime     string `json:"DST_prime"`
		LenInBytes   string `json:"len_in_bytes"`
		Msg          string `json:"msg"`
		MsgPrime     string `json:"msg_prime"`
		UniformBytes string `json:"uniform_bytes"`
	} `json:"tests"`
}

func TestExpandMessageXMDVectors(t *testing.T) {
	t.Parallel()
	hashes := map[string]func() hash.Hash{"SHA256": sha256.New, "SHA512": sha512.New}
	files, err := filepath.Glob("testdata/expand_message_xmd_*.json")
	require.NoError(t, err)
	require.Len(t, files, 3)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			var vf vectorFile
			require.NoError(t, json.Unmarshal(raw, &vf))
			require.Equal(t, "expand_message_xmd", vf.Name)
			h := hashes[vf.Hash]
			require.NotNil(t, h, "hash %q", vf.Hash)
			require.NotEmpty(t, vf.Tests)
			for i, tc := range vf.Tests {
				n, err := strconv.ParseUint(tc.LenInBytes, 0, 16)
				require.NoError(t, err)
				want, err := hex.DecodeString(tc.UniformBytes)
				require.NoError(t, err)
				got, err := ExpandMessageXMD(h, []byte(tc.Msg), []byte(vf.DST), int(n))
				require.NoError(t, err)
				assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "test %d (msg %.20q, len %d)", i, tc.Msg, n)
			}
		})
	}
}

func TestExpandMessageXMDLengths(t *testing.T) {
	t.Parallel()
	dst := []byte("QUUX-V01-CS02-with-expander-SHA256-128")
	for _, n := range []int{0, -1, 65536, 255*32 + 1} {
		_, err := ExpandMessageXMD(sha256.New, nil, dst, n)
		assert.ErrorIs(t, err, ErrLength, "n=%d", n)
	}
	out, err := ExpandMessageXMD(sha256.New, nil, dst, 255*32)
	require.NoError(t, err)
	assert.Len(t, out, 255*32)
	// A prefix of a longer expansion is not the shorter expansion: the
	// length is an input.
	short, err := ExpandMessageXMD(sha256.New, nil, dst, 32)
	require.NoError(t, err)
	assert.NotEqual(t, short, out[:32])
}

func TestExpandMessageXMDDoesNotAliasDST(t *testing.T) {
	t.Parallel()
	buf := make([]byte, 8, 64)
	copy(buf, "DST-TEST")
	before := append([]byte(nil), buf[:cap(buf)]...)
	_, err := ExpandMessageXMD(sha256.New, []byte("m"), buf, 48)
	require.NoError(t, err)
	assert.Equal(t, before, buf[:cap(buf)])
}
