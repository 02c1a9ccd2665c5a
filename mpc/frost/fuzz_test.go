package frost

import (
	"testing"

	"github.com/cairn-mpc/cairn/mpc/round"
)

// fuzzFixture is a 2-of-3 session on each suite whose real messages seed
// the corpora.
type fuzzFixture struct {
	keys    map[*Suite]map[round.PartyID]*KeyShare
	req     SignRequest
	commits map[*Suite]round.Message // party 2's round-1 broadcast
	shares  map[*Suite]round.Message // party 2's round-2 broadcast
	precom  map[*Suite][]byte        // a marshaled precommitment
}

var fuzzSigners = []round.PartyID{1, 2}

// party1Config fixes party 1's nonce randomness, so that every run of the
// fuzz function rebuilds the party-1 rounds the corpus messages were made
// for (test only: a fixed nonce must never sign twice outside a test).
func party1Config() Config { return Config{Rand: fixedReader(make([]byte, 32), []byte{31: 1})} }

func newFuzzFixture(f *testing.F) *fuzzFixture {
	fx := &fuzzFixture{
		keys:    map[*Suite]map[round.PartyID]*KeyShare{},
		req:     SignRequest{Session: round.NewSessionID(Protocol, []byte("fuzz"), fuzzSigners, []byte("fuzz")), Signers: fuzzSigners, Message: []byte("fuzz")},
		commits: map[*Suite]round.Message{},
		shares:  map[*Suite]round.Message{},
		precom:  map[*Suite][]byte{},
	}
	for _, s := range suites {
		fx.keys[s] = dealKeys(f, s, 2, 3, nil)
		_, o1, err := NewSigning(fx.keys[s][1], fx.req, party1Config())
		if err != nil {
			f.Fatal(err)
		}
		r2, o2, err := NewSigning(fx.keys[s][2], fx.req, Config{})
		if err != nil {
			f.Fatal(err)
		}
		fx.commits[s] = o2[0]
		if err := r2.Store(o1[0]); err != nil {
			f.Fatal(err)
		}
		_, out, err := r2.Finalize()
		if err != nil {
			f.Fatal(err)
		}
		fx.shares[s] = out[0]
		n, err := Precommit(fx.keys[s][2], nil)
		if err != nil {
			f.Fatal(err)
		}
		b, err := n.Commitment().MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		fx.precom[s] = b
	}
	return fx
}

func FuzzDecodeCommitMsg(f *testing.F) {
	fx := newFuzzFixture(f)
	for i, s := range suites {
		f.Add(uint8(i), fx.commits[s].Payload)
	}
	f.Add(uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		s := suites[int(which)%len(suites)]
		sess, c, err := decodeCommitMsg(s, 2, b)
		if err != nil {
			return
		}
		// Whatever decodes is a usable commitment of the suite's group.
		if c.hiding.IsIdentity() || c.binding.IsIdentity() || c.hiding.Equal(c.binding) {
			t.Fatalf("decoded an invalid commitment")
		}
		_ = sess
		_ = encodeGroupCommitmentList(s, []Commitment{c})
	})
}

func FuzzDecodeShareMsg(f *testing.F) {
	fx := newFuzzFixture(f)
	for i, s := range suites {
		f.Add(uint8(i), fx.shares[s].Payload)
	}
	f.Add(uint8(1), []byte{1})
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		s := suites[int(which)%len(suites)]
		_, _, _, z, err := decodeShareMsg(s, b)
		if err == nil && len(z.Bytes()) != s.curve.ScalarSize() {
			t.Fatalf("decoded a scalar of the wrong size")
		}
	})
}

func FuzzUnmarshalCommitment(f *testing.F) {
	fx := newFuzzFixture(f)
	for i, s := range suites {
		f.Add(uint8(i), fx.precom[s])
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		s := suites[int(which)%len(suites)]
		c, err := UnmarshalCommitment(s, b)
		if err != nil {
			return
		}
		if c.Party() == 0 || c.Suite() != s {
			t.Fatalf("decoded an invalid commitment")
		}
		again, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		c2, err := UnmarshalCommitment(s, again)
		if err != nil || !c2.Equal(c) {
			t.Fatalf("commitment does not round-trip")
		}
	})
}

// FuzzStore feeds arbitrary payloads to both rounds of a session: they must
// be refused or accepted without a panic, and a refused one must leave the
// round able to finish with the honest message.
func FuzzStore(f *testing.F) {
	fx := newFuzzFixture(f)
	for i, s := range suites {
		f.Add(uint8(i), false, fx.commits[s].Payload)
		f.Add(uint8(i), true, fx.shares[s].Payload)
	}
	f.Fuzz(func(t *testing.T, which uint8, second bool, b []byte) {
		s := suites[int(which)%len(suites)]
		r, _, err := NewSigning(fx.keys[s][1], fx.req, party1Config())
		if err != nil {
			t.Fatal(err)
		}
		m := fx.commits[s]
		if second {
			if err := r.Store(fx.commits[s]); err != nil {
				t.Fatal(err)
			}
			if r, _, err = r.Finalize(); err != nil {
				t.Fatal(err)
			}
			m = fx.shares[s]
		}
		bad := m
		bad.Payload = b
		if err := r.Store(bad); err == nil {
			return // a valid message (a fresh valid commitment, say)
		}
		if err := r.Store(m); err != nil {
			t.Fatalf("refused payload changed the round: %v", err)
		}
		if second {
			if _, _, err := r.Finalize(); err != nil {
				t.Fatalf("no signature after a refused payload: %v", err)
			}
		}
	})
}
