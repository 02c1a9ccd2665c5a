package ecdsa

import (
	"crypto/sha256"
	"testing"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/stretchr/testify/require"
)

// samples runs one presigning and one signing session of a 2-of-3 key and
// returns real payloads by kind, the keys and an unused presignature of
// party 1 for {1, 2}.
type samples struct {
	keys     map[round.PartyID]*KeyShare
	payloads map[string][][]byte
	pre      map[round.PartyID]*Presignature
	signers  []round.PartyID
}

func collectSamples(t testing.TB) *samples {
	t.Helper()
	s := &samples{keys: cachedKeys(t, 2, 3), payloads: map[string][][]byte{}, signers: []round.PartyID{1, 2}}
	kind := func(m round.Message) string {
		k := map[uint16]string{1: "commit", 2: "reveal", 3: "partial"}[m.Round]
		if !m.IsBroadcast() {
			k = map[uint16]string{1: "ote", 2: "mult"}[m.Round]
		}
		return k
	}
	digest := sha256.Sum256([]byte("fuzz"))
	_, err := sign(t, s.keys, []round.PartyID{1, 2, 3}, digest[:], func(m round.Message, _ round.PartyID) []round.Message {
		k := kind(m)
		s.payloads[k] = append(s.payloads[k], m.Payload)
		return []round.Message{m}
	})
	require.NoError(t, err)
	s.pre = presign(t, s.keys, SignRequest{Session: freshSession(t, "p", s.signers), Signers: s.signers})
	sampleMu.Lock()
	for _, p := range sampleSetup {
		s.payloads["setup"] = append(s.payloads["setup"], p)
	}
	sampleMu.Unlock()
	return s
}

func seed(f *testing.F, payloads [][]byte) {
	for _, p := range payloads {
		f.Add(p)
	}
	f.Add([]byte{})
	f.Add([]byte{wire.Version})
}

func FuzzDecodeCommit(f *testing.F) {
	seed(f, collectSamples(f).payloads["commit"])
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = decodeCommitMsg(b) })
}

func FuzzDecodeOTE(f *testing.F) {
	seed(f, collectSamples(f).payloads["ote"])
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = decodeOTEMsg(b) })
}

func FuzzDecodeReveal(f *testing.F) {
	seed(f, collectSamples(f).payloads["reveal"])
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = decodeRevealMsg(b) })
}

func FuzzDecodeMult(f *testing.F) {
	seed(f, collectSamples(f).payloads["mult"])
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = decodeMultMsg(b) })
}

func FuzzDecodePartial(f *testing.F) {
	seed(f, collectSamples(f).payloads["partial"])
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = decodePartialMsg(b) })
}

func FuzzDecodeSetup(f *testing.F) {
	seed(f, collectSamples(f).payloads["setup"])
	f.Fuzz(func(t *testing.T, b []byte) {
		var m setupMsg
		_ = wire.Unmarshal(b, &m)
	})
}

func FuzzParseKeyShare(f *testing.F) {
	s := collectSamples(f)
	enc, err := s.keys[1].MarshalBinary()
	require.NoError(f, err)
	f.Add(enc)
	f.Add(enc[:len(enc)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKeyShare(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes.
		back, err := k.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, b, back)
	})
}

func FuzzParsePresignature(f *testing.F) {
	s := collectSamples(f)
	enc, err := s.pre[1].MarshalBinary()
	require.NoError(f, err)
	f.Add(enc)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePresignature(b)
		if err != nil {
			return
		}
		back, err := p.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, b, back)
	})
}

// FuzzOnlineStore hands arbitrary payloads to the online round: no panic,
// and a refused message leaves the round as it was.
func FuzzOnlineStore(f *testing.F) {
	s := collectSamples(f)
	seed(f, s.payloads["partial"])
	pre := s.pre[1]
	enc, err := pre.MarshalBinary()
	require.NoError(f, err)
	digest := sha256.Sum256([]byte("online fuzz"))
	sess := freshSession(f, "o", s.signers)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePresignature(enc)
		require.NoError(t, err)
		r, _, err := NewOnlineSigning(s.keys[1], p, sess, digest[:])
		require.NoError(t, err)
		or := r.(*onlineRound)
		if err := or.Store(round.Message{Session: sess, Round: 1, From: 2, To: round.Broadcast, Payload: b}); err != nil {
			require.Len(t, or.u, 1)
			require.Len(t, or.w, 1)
		}
	})
}

// FuzzRound1Store hands arbitrary payloads to round 1, broadcast and direct:
// no panic, and a refused message leaves the round as it was.
func FuzzRound1Store(f *testing.F) {
	s := collectSamples(f)
	for _, p := range append(s.payloads["commit"], s.payloads["ote"]...) {
		f.Add(p, false)
		f.Add(p, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, direct bool) {
		// A fresh copy: an input that passes decoding but fails a check
		// bans party 2 in it.
		key, err := s.keys[1].clone()
		require.NoError(t, err)
		sess := freshSession(t, "r1", s.signers)
		r, _, err := NewSigning(key, SignRequest{Session: sess, Signers: s.signers, Digest: make([]byte, 32)}, Config{})
		require.NoError(t, err)
		r1 := r.(*round1)
		to := round.Broadcast
		if direct {
			to = 1
		}
		if err := r1.Store(round.Message{Session: sess, Round: 1, From: 2, To: to, Payload: b}); err != nil {
			require.Empty(t, r1.commits)
			require.Empty(t, r1.mult)
		}
	})
}
