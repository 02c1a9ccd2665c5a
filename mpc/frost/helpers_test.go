package frost

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
)

// suites are the three ciphersuites, for table-driven tests.
var suites = []*Suite{Ed25519, Secp256k1, BIP340}

// dealKeys is a test-only trusted dealer: it Shamir-splits secret (random
// when nil) into n shares with threshold t and returns every party's
// KeyShare, keyed by identifiers 1…n.
func dealKeys(tb testing.TB, s *Suite, t, n int, secret curve.Scalar) map[round.PartyID]*KeyShare {
	tb.Helper()
	c := s.curve
	coeffs := make([]curve.Scalar, t)
	for i := range coeffs {
		k, err := c.RandomScalar(rand.Reader)
		require.NoError(tb, err)
		coeffs[i] = k
	}
	if secret != nil {
		coeffs[0] = secret
	}
	return keysFromPolynomial(tb, s, coeffs, n)
}

func keysFromPolynomial(tb testing.TB, s *Suite, coeffs []curve.Scalar, n int) map[round.PartyID]*KeyShare {
	tb.Helper()
	c := s.curve
	secrets := map[round.PartyID]curve.Scalar{}
	pubs := map[round.PartyID]curve.Point{}
	for i := 1; i <= n; i++ {
		id := round.PartyID(i)
		secrets[id] = curve.EvalPolynomial(c, coeffs, c.ScalarFromUint64(uint64(i)))
		pubs[id] = c.MulBase(secrets[id])
	}
	group := c.MulBase(coeffs[0])
	keys := map[round.PartyID]*KeyShare{}
	for id, sec := range secrets {
		k, err := NewKeyShare(s, id, len(coeffs), sec, group, pubs)
		require.NoError(tb, err)
		keys[id] = k
	}
	return keys
}

// ids returns 1…n.
func ids(n int) []round.PartyID {
	out := make([]round.PartyID, n)
	for i := range out {
		out[i] = round.PartyID(i + 1)
	}
	return out
}

// subsets returns every k-element subset of 1…n, each ascending.
func subsets(n, k int) [][]round.PartyID {
	var out [][]round.PartyID
	var rec func(start int, cur []round.PartyID)
	rec = func(start int, cur []round.PartyID) {
		if len(cur) == k {
			out = append(out, append([]round.PartyID(nil), cur...))
			return
		}
		for i := start; i <= n; i++ {
			rec(i+1, append(cur, round.PartyID(i)))
		}
	}
	rec(1, nil)
	return out
}

func newSession(tb testing.TB, signers []round.PartyID) round.SessionID {
	tb.Helper()
	nonce := make([]byte, 16)
	_, err := rand.Read(nonce)
	require.NoError(tb, err)
	return round.NewSessionID(Protocol, []byte("test key"), signers, nonce)
}

// ceremony is one signing session over an in-process network.
type ceremony struct {
	keys   map[round.PartyID]*KeyShare
	req    SignRequest
	reqFor map[round.PartyID]SignRequest // per-party overrides of req
	cfg    map[round.PartyID]Config
	net    *roundtest.Network
	rounds map[round.PartyID]round.Round // first rounds, for inspection after a run
}

// newCeremony prepares a two-round session for signers; the network also
// knows every other key holder, so that a test can forge a message from a
// non-signer.
func newCeremony(tb testing.TB, keys map[round.PartyID]*KeyShare, signers []round.PartyID, msg []byte, tr *Taproot) *ceremony {
	tb.Helper()
	return &ceremony{
		keys: keys,
		req:  SignRequest{Session: newSession(tb, signers), Signers: signers, Message: msg, Taproot: tr},
		cfg:  map[round.PartyID]Config{},
		net:  roundtest.NewNetwork(ids(len(keys))),
	}
}

func (c *ceremony) run(tb testing.TB) (map[round.PartyID]any, error) {
	tb.Helper()
	parties := map[round.PartyID]roundtest.Party{}
	c.rounds = map[round.PartyID]round.Round{}
	for _, id := range c.req.Signers {
		req, ok := c.reqFor[id]
		if !ok {
			req = c.req
		}
		r, out, err := NewSigning(c.keys[id], req, c.cfg[id])
		require.NoError(tb, err)
		parties[id] = roundtest.Party{Round: r, Out: out}
		c.rounds[id] = r
	}
	return c.net.Run(parties)
}

// requireSignatures checks that every signer returned the same signature
// and that it verifies; it returns it.
func requireSignatures(tb testing.TB, res map[round.PartyID]any, signers []round.PartyID, msg []byte) *Signature {
	tb.Helper()
	require.Len(tb, res, len(signers))
	var first *Signature
	for _, id := range signers {
		sig, ok := res[id].(*Signature)
		require.Truef(tb, ok, "party %d returned %T", id, res[id])
		if first == nil {
			first = sig
		}
		require.Equalf(tb, first.Bytes, sig.Bytes, "party %d disagrees on the signature", id)
		require.Equal(tb, first.PublicKey, sig.PublicKey)
	}
	require.NoError(tb, Verify(first.Suite, first.PublicKey, msg, first.Bytes))
	return first
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(tb, err)
	return b
}

// fixedReader yields the given bytes and then io.EOF, so a test notices
// extra reads.
func fixedReader(parts ...[]byte) *bytes.Reader { return bytes.NewReader(bytes.Join(parts, nil)) }
