package ecdsa

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeygen(t *testing.T) {
	t.Parallel()
	keys := cachedKeys(t, 2, 3)
	require.Len(t, keys, 3)
	var pk []byte
	for id, k := range keys {
		assert.Equal(t, id, k.Self())
		if pk == nil {
			pk = k.PublicKey()
		}
		assert.Equal(t, pk, k.PublicKey())
		assert.Empty(t, k.Banned())
		for j, p := range k.peers {
			// The zero-sharing seed is symmetric.
			assert.Equal(t, p.seed, keys[j].peers[id].seed)
		}
		s := fmt.Sprintf("%v %+v %#v %s", k, k, k, k)
		assert.NotContains(t, s, fmt.Sprintf("%x", k.share.Secret.Bytes()))
		enc, err := k.MarshalBinary()
		require.NoError(t, err)
		back, err := ParseKeyShare(enc)
		require.NoError(t, err)
		enc2, err := back.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, enc, enc2)
	}
}
