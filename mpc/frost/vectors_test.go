package frost

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
)

// rfcVectors is the layout of the RFC 9591 Appendix E files in testdata.
type rfcVectors struct {
	Config struct {
		MaxParticipants string `json:"MAX_PARTICIPANTS"`
		MinParticipants string `json:"MIN_PARTICIPANTS"`
		Name            string `json:"name"`
	} `json:"config"`
	Inputs struct {
		ParticipantList   []int    `json:"participant_list"`
		GroupSecretKey    string   `json:"group_secret_key"`
		GroupPublicKey    string   `json:"group_public_key"`
		VerifyingKey      string   `json:"verifying_key_key"` // the ZF files' name for it
		Message           string   `json:"message"`
		ShareCoefficients []string `json:"share_polynomial_coefficients"`
		Shares            []struct {
			ID    int    `json:"identifier"`
			Share string `json:"participant_share"`
		} `json:"participant_shares"`
	} `json:"inputs"`
	RoundOne struct {
		Outputs []struct {
			ID                 int    `json:"identifier"`
			HidingRandomness   string `json:"hiding_nonce_randomness"`
			BindingRandomness  string `json:"binding_nonce_randomness"`
			HidingNonce        string `json:"hiding_nonce"`
			BindingNonce       string `json:"binding_nonce"`
			HidingCommitment   string `json:"hiding_nonce_commitment"`
			BindingCommitment  string `json:"binding_nonce_commitment"`
			BindingFactorInput string `json:"binding_factor_input"`
			BindingFactor      string `json:"binding_factor"`
		} `json:"outputs"`
	} `json:"round_one_outputs"`
	RoundTwo struct {
		Outputs []struct {
			ID       int    `json:"identifier"`
			SigShare string `json:"sig_share"`
		} `json:"outputs"`
	} `json:"round_two_outputs"`
	Final struct {
		Sig string `json:"sig"`
	} `json:"final_output"`
}

func TestFROSTVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file  string
		suite *Suite
		name  string
	}{
		{"testdata/frost-ed25519-sha512.json", Ed25519, "FROST(Ed25519, SHA-512)"},
		{"testdata/frost-secp256k1-sha256.json", Secp256k1, "FROST(secp256k1, SHA-256)"},
		// Not RFC 9591: the Zcash Foundation's frost-secp256k1-tr vectors
		// (their "name" field is the RFC suite's). Passing them shows the
		// BIP340 suite interoperates with that implementation.
		{"testdata/zcash-frost-secp256k1-tr-vectors.json", BIP340, "FROST(secp256k1, SHA-256)"},
	} {
		t.Run(tc.suite.Name(), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(tc.file)
			require.NoError(t, err)
			var v rfcVectors
			require.NoError(t, json.Unmarshal(raw, &v))
			require.Equal(t, tc.name, v.Config.Name)
			checkRFCVectors(t, tc.suite, &v)
		})
	}
}

func checkRFCVectors(t *testing.T, s *Suite, v *rfcVectors) {
	c := s.curve
	scalar := func(h string) curve.Scalar {
		k, err := c.DecodeScalar(unhex(t, h))
		require.NoError(t, err)
		return k
	}
	point := func(h string) curve.Point {
		p, err := c.DecodePoint(unhex(t, h))
		require.NoError(t, err)
		return p
	}

	// Key material: the shares are the dealer polynomial's values.
	groupSecret := scalar(v.Inputs.GroupSecretKey)
	if v.Inputs.GroupPublicKey == "" {
		v.Inputs.GroupPublicKey = v.Inputs.VerifyingKey
	}
	groupKey := point(v.Inputs.GroupPublicKey)
	require.True(t, c.MulBase(groupSecret).Equal(groupKey))
	coeffs := []curve.Scalar{groupSecret}
	for _, h := range v.Inputs.ShareCoefficients {
		coeffs = append(coeffs, scalar(h))
	}
	require.Equal(t, v.Config.MinParticipants, itoa(len(coeffs)))
	keys := keysFromPolynomial(t, s, coeffs, len(v.Inputs.Shares))
	for _, sh := range v.Inputs.Shares {
		require.Equal(t, sh.Share, hex.EncodeToString(keys[round.PartyID(sh.ID)].secret.Bytes()), "share of %d", sh.ID)
	}

	signers := make([]round.PartyID, len(v.Inputs.ParticipantList))
	for i, id := range v.Inputs.ParticipantList {
		signers[i] = round.PartyID(id)
	}
	msg := unhex(t, v.Inputs.Message)

	// Round one: nonce_generate from the given randomness, and commit.
	list := make([]Commitment, len(signers))
	nonces := map[round.PartyID]*Nonce{}
	for i, out := range v.RoundOne.Outputs {
		id := round.PartyID(out.ID)
		require.Equal(t, signers[i], id)
		n, err := commit(s, id, keys[id].secret, fixedReader(unhex(t, out.HidingRandomness), unhex(t, out.BindingRandomness)))
		require.NoError(t, err)
		assert.Equal(t, out.HidingNonce, hex.EncodeToString(n.hiding), "hiding nonce of %d", id)
		assert.Equal(t, out.BindingNonce, hex.EncodeToString(n.binding), "binding nonce of %d", id)
		assert.Equal(t, out.HidingCommitment, hex.EncodeToString(n.commitment.hiding.Bytes()), "hiding commitment of %d", id)
		assert.Equal(t, out.BindingCommitment, hex.EncodeToString(n.commitment.binding.Bytes()), "binding commitment of %d", id)
		list[i], nonces[id] = n.commitment, n
	}

	// Binding factors.
	inputs := bindingFactorInputs(s, groupKey, list, msg)
	rhos := computeBindingFactors(s, groupKey, list, msg)
	for i, out := range v.RoundOne.Outputs {
		assert.Equal(t, out.BindingFactorInput, hex.EncodeToString(inputs[i]), "binding factor input of %d", out.ID)
		assert.Equal(t, out.BindingFactor, hex.EncodeToString(rhos[i].Bytes()), "binding factor of %d", out.ID)
	}

	// Round two: signature shares, each verified.
	sk, err := keys[signers[0]].signingKey(signers, nil)
	require.NoError(t, err)
	var zs []curve.Scalar
	for i, out := range v.RoundTwo.Outputs {
		id := round.PartyID(out.ID)
		require.Equal(t, signers[i], id)
		ski, err := keys[id].signingKey(signers, nil)
		require.NoError(t, err)
		sc, err := newSigContext(ski, msg, list)
		require.NoError(t, err)
		d, e, err := nonces[id].take()
		require.NoError(t, err)
		z := sc.signShare(id, d, e)
		assert.Equal(t, out.SigShare, hex.EncodeToString(z.Bytes()), "signature share of %d", id)
		assert.True(t, sc.verifyShare(id, z), "verify_signature_share of %d", id)
		assert.False(t, sc.verifyShare(id, z.Add(c.ScalarFromUint64(1))), "verify_signature_share accepts a wrong share")
		zs = append(zs, z)
		_, _, err = nonces[id].take()
		assert.ErrorIs(t, err, ErrNonceUsed)
	}
	sc, err := newSigContext(sk, msg, list)
	require.NoError(t, err)
	sig := sc.aggregate(zs)
	assert.Equal(t, v.Final.Sig, hex.EncodeToString(sig))
	vk := groupKey.Bytes()
	switch s {
	case Ed25519:
		assert.True(t, ed25519.Verify(vk, msg, sig), "crypto/ed25519 refuses the RFC 9591 signature")
	case BIP340:
		vk = curve.XOnly(groupKey)
		if len(msg) == 32 { // btcec takes 32-byte messages only
			assert.True(t, btcecVerify(vk, msg, sig), "btcec refuses the signature")
		}
	}
	require.NoError(t, Verify(s, vk, msg, sig))

	// The state machines reproduce the same signature from the same
	// randomness.
	parties := map[round.PartyID]roundtest.Party{}
	req := SignRequest{Session: newSession(t, signers), Signers: signers, Message: msg}
	for _, out := range v.RoundOne.Outputs {
		id := round.PartyID(out.ID)
		cfg := Config{Rand: fixedReader(unhex(t, out.HidingRandomness), unhex(t, out.BindingRandomness))}
		r, msgs, err := NewSigning(keys[id], req, cfg)
		require.NoError(t, err)
		parties[id] = roundtest.Party{Round: r, Out: msgs}
	}
	res, err := roundtest.NewNetwork(signers).Run(parties)
	require.NoError(t, err)
	got := requireSignatures(t, res, signers, msg)
	assert.Equal(t, v.Final.Sig, hex.EncodeToString(got.Bytes))
}

func itoa(n int) string { return strconv.Itoa(n) }
