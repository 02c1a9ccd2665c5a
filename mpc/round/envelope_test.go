package round

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testKeys(t testing.TB) (ed25519.PrivateKey, Keyring) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return priv, Keyring{3: pub}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	priv, ring := testKeys(t)
	sess := NewSessionID("test", []byte("key"), []PartyID{1, 3}, []byte("n"))
	m := Message{Session: sess, Round: 2, From: 3, To: 1, Payload: []byte("hello")}
	sealed, err := Seal(priv, m, false)
	require.NoError(t, err)
	got, echo, err := Open(ring.Key, sealed)
	require.NoError(t, err)
	assert.False(t, echo)
	assert.Equal(t, m.Payload, got.Payload)
	assert.Equal(t, m.Session, got.Session)
	assert.Equal(t, sealed, got.Evidence)
	ev, err := ring.VerifyEvidence(sess, sealed)
	require.NoError(t, err)
	assert.Equal(t, PartyID(1), ev.To)
	_, err = ring.VerifyEvidence(NewSessionID("other", nil, nil, nil), sealed)
	assert.Error(t, err, "evidence from another session")

	// Any flipped bit breaks the envelope.
	for i := range sealed {
		bad := append([]byte{}, sealed...)
		bad[i] ^= 0x01
		_, _, err := Open(ring.Key, bad)
		assert.Error(t, err, "byte %d", i)
	}
	// An unknown sender is refused.
	_, _, err = Open(Keyring{}.Key, sealed)
	assert.ErrorIs(t, err, ErrUnknownSender)
}

func TestSessionIDSeparatesFields(t *testing.T) {
	t.Parallel()
	a := NewSessionID("ab", []byte("c"), []PartyID{1, 2}, nil)
	b := NewSessionID("a", []byte("bc"), []PartyID{1, 2}, nil)
	c := NewSessionID("ab", []byte("c"), []PartyID{1, 3}, nil)
	assert.NotEqual(t, a, b)
	assert.NotEqual(t, a, c)
}

func TestValidateParties(t *testing.T) {
	t.Parallel()
	assert.NoError(t, ValidateParties([]PartyID{1, 2, 5}, 2))
	assert.Error(t, ValidateParties(nil, 0))
	assert.Error(t, ValidateParties([]PartyID{0, 1}, 1))
	assert.Error(t, ValidateParties([]PartyID{2, 1}, 1))
	assert.Error(t, ValidateParties([]PartyID{1, 1}, 1))
	assert.Error(t, ValidateParties([]PartyID{1, 2}, 3))
}

func FuzzOpen(f *testing.F) {
	priv, ring := testKeys(f)
	sealed, err := Seal(priv, Message{Round: 1, From: 3, Payload: []byte("x")}, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add([]byte{1, 0x82, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _, err := Open(ring.Key, b)
		if err == nil && m.From != 3 {
			t.Fatalf("opened an envelope from party %d with party 3's key", m.From)
		}
		_, _ = Parse(b)
	})
}
