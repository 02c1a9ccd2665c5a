package e2e

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/memory"
)

// fixedIdentity derives an identity from a label, so fuzz corpora stay valid
// across runs.
func fixedIdentity(tb testing.TB, kem KEM, label string) Identity {
	tb.Helper()
	k, err := kem.hpke()
	if err != nil {
		tb.Fatal(err)
	}
	seed := bytes.Repeat([]byte(label), 64)[:64]
	priv, err := k.DeriveKeyPair(seed)
	if err != nil {
		tb.Fatal(err)
	}
	return Identity{Signing: ed25519.NewKeyFromSeed(seed[:ed25519.SeedSize]), KEM: priv}
}

// fuzzPair is node "a" and node "b" on a memory network with a frozen clock.
func fuzzPair(tb testing.TB) (a, b *Transport) {
	tb.Helper()
	net := memory.NewNetwork()
	tb.Cleanup(func() { net.Close() })
	ia, ib := fixedIdentity(tb, X25519, "a"), fixedIdentity(tb, X25519, "b")
	dir := map[transport.NodeID]Peer{"a": ia.Public(), "b": ib.Public()}
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	var err error
	if a, err = Wrap(net.Endpoint("a"), Config{Identity: ia, Peers: dir, Now: now}); err != nil {
		tb.Fatal(err)
	}
	if b, err = Wrap(net.Endpoint("b"), Config{Identity: ib, Peers: dir, Now: now}); err != nil {
		tb.Fatal(err)
	}
	return a, b
}

func FuzzDecodeEnvelope(f *testing.F) {
	a, _ := fuzzPair(f)
	fr, err := a.Seal("b", []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fr)
	f.Add([]byte{})
	f.Add([]byte{wire.Version, 0x83, 0x61, 'a', 0x40, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		if e.From == "" || len(e.From) > maxNodeID || len(e.Sig) != sigSize {
			t.Fatalf("accepted %+v", e)
		}
	})
}

func FuzzDecodeBody(f *testing.F) {
	b, err := wire.Marshal(body{KEM: uint16(X25519), From: "a", To: "b", Epoch: 1, Counter: 1, Time: 1, Enc: make([]byte, 32), Box: make([]byte, 20)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{wire.Version, 0x88})
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := decodeBody(in)
		if err != nil {
			return
		}
		if d.Counter == 0 || len(d.Box) < tagSize || len(d.Enc) == 0 || d.From == "" || d.To == "" {
			t.Fatalf("accepted %+v", d)
		}
	})
}

// FuzzOpen feeds whole frames to a receiver: none but the seeds may open,
// and nothing may panic.
func FuzzOpen(f *testing.F) {
	a, _ := fuzzPair(f)
	for _, p := range []string{"", "seed", string(make([]byte, 300))} {
		fr, err := a.Seal("b", []byte(p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr, false)
	}
	f.Add([]byte("\x01garbage"), true)
	f.Fuzz(func(t *testing.T, in []byte, withFrom bool) {
		_, b := fuzzPair(t)
		from := transport.NodeID("")
		if withFrom {
			from = "a"
		}
		got, ferr := b.Open(transport.Frame{From: from, To: "b", Payload: in})
		if ferr == nil {
			if got.From != "a" {
				t.Fatalf("opened a frame from %q", got.From)
			}
			// Only an untouched frame from a opens; check it is one.
			if _, ferr := b.Open(transport.Frame{Payload: in}); ferr == nil {
				t.Fatal("the same frame opened twice")
			}
		}
	})
}

func TestWindowAgainstModel(t *testing.T) {
	t.Parallel()
	var w window
	seen := map[uint64]bool{}
	var hi uint64
	// A deterministic walk forwards with jumps and looks back.
	c := uint64(1)
	for step := range 5000 {
		switch step % 7 {
		case 0:
			c += uint64(step%300) + 1
		case 3:
			if c > 100 {
				c -= uint64(step % 100)
			}
		default:
			c++
		}
		want := c != 0 && !seen[c] && (c > hi || hi-c < windowSize)
		if got := w.fresh(c); got != want {
			t.Fatalf("step %d: fresh(%d) = %v, want %v (max %d)", step, c, got, want, hi)
		}
		if want {
			w.record(c)
			seen[c] = true
			hi = max(hi, c)
		}
	}
}

func TestKeyEncodings(t *testing.T) {
	t.Parallel()
	for _, kem := range []KEM{X25519, MLKEM768X25519} {
		id, err := GenerateIdentity(kem)
		if err != nil {
			t.Fatal(err)
		}
		b, err := id.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back Identity
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !back.Public().equal(id.Public()) || !back.Signing.Equal(id.Signing) {
			t.Fatalf("%v: identity does not round-trip", kem)
		}
		txt, err := id.Public().MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var p Peer
		if err := p.UnmarshalText(txt); err != nil {
			t.Fatal(err)
		}
		if !p.equal(id.Public()) {
			t.Fatalf("%v: peer does not round-trip: %s", kem, txt)
		}
	}
}

func FuzzPeerText(f *testing.F) {
	txt, err := fixedIdentity(f, X25519, "a").Public().MarshalText()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(txt))
	f.Add("ed25519:,x25519:")
	f.Fuzz(func(t *testing.T, s string) {
		var p Peer
		if p.UnmarshalText([]byte(s)) != nil {
			return
		}
		if err := p.validate(); err != nil {
			t.Fatalf("parsed an invalid peer: %v", err)
		}
		again, err := p.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var q Peer
		if err := q.UnmarshalText(again); err != nil || !q.equal(p) {
			t.Fatalf("does not round-trip: %q", again)
		}
	})
}

func FuzzIdentityBinary(f *testing.F) {
	b, err := fixedIdentity(f, X25519, "a").MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var id Identity
		if id.UnmarshalBinary(b) != nil {
			return
		}
		if err := id.validate(); err != nil {
			t.Fatalf("decoded an invalid identity: %v", err)
		}
	})
}
