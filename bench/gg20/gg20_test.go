package gg20

import (
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/coinbase/kryptology/pkg/core/curves"
)

var modes = []ParamsMode{PerPartyParams, SharedParams}

// TestSign signs with several 3-of-5 signer sets in both proof-parameter
// modes and checks each signature with crypto/ecdsa and by key recovery.
func TestSign(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			f, err := NewFixture(3, 5, mode)
			if err != nil {
				t.Fatal(err)
			}
			subsets := Subsets(3, 5)
			if len(subsets) != 10 {
				t.Fatalf("%d subsets of 3 of 5", len(subsets))
			}
			// A GG20 signing takes seconds here: sign with four of the ten
			// sets, every third: {1,2,3}, {1,3,4}, {2,3,4}, {3,4,5}; the second and
			// fourth concurrently. One under -short.
			for k, signers := range subsets {
				if k%3 != 0 || (testing.Short() && k > 0) {
					continue
				}
				digest := Digest(f.Curve, fmt.Appendf(nil, "message %d", k))
				sig, st, err := Sign(f, signers, digest, Options{CountBytes: true, Concurrent: k%2 == 1})
				if err != nil {
					t.Fatalf("signers %v: %v", signers, err)
				}
				if err := Verify(f.PublicKey, digest, sig); err != nil {
					t.Fatalf("signers %v: %v", signers, err)
				}
				if len(st.Phases) != len(Phases) || st.Bytes() == 0 {
					t.Fatalf("signers %v: stats %+v", signers, st)
				}
				// The signature must not verify for another digest.
				other := Digest(f.Curve, []byte("another message"))
				if Verify(f.PublicKey, other, sig) == nil {
					t.Fatal("signature verifies for another message")
				}
			}
		})
	}
}

// TestVerifyRejects checks that Verify is not vacuous: a flipped recovery
// id, a changed s and a high s are refused.
func TestVerifyRejects(t *testing.T) {
	f, err := NewFixture(2, 3, SharedParams)
	if err != nil {
		t.Fatal(err)
	}
	digest := Digest(f.Curve, []byte("m"))
	sig, _, err := Sign(f, []uint32{1, 3}, digest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(f.PublicKey, digest, sig); err != nil {
		t.Fatal(err)
	}
	flipped := *sig
	flipped.V ^= 1
	if Verify(f.PublicKey, digest, &flipped) == nil {
		t.Error("a flipped recovery id was accepted")
	}
	changed := *sig
	changed.S = new(big.Int).Add(sig.S, big.NewInt(1))
	if Verify(f.PublicKey, digest, &changed) == nil {
		t.Error("a changed s was accepted")
	}
	high := *sig
	high.S = new(big.Int).Sub(f.Curve.Params().N, sig.S)
	high.V ^= 1
	if Verify(f.PublicKey, digest, &high) == nil {
		t.Error("a high s was accepted")
	}
}

// BenchmarkGG20Sign3of5 measures one whole GG20 3-of-5 signing, every
// signer's work included (as Cairn's BenchmarkSign counts it), rotating
// through the ten signer sets. Sub-benchmarks:
//
//   - per-party-params / shared-params: see the package documentation;
//   - serial: signers one after another, ns/op is the CPU of all three;
//   - concurrent: each signer's step of a round in its own goroutine, ns/op
//     is wall time (on this 2-core machine, at best about half of serial).
//
// Extra metrics: ms/party (serial ns/op ÷ t: one signer's work, to set
// beside Cairn's ms/party), ms per phase (all signers; names as in Phases),
// and bytes one signer delivers to one cosigner per signing, as JSON
// (kryptology's only message encoding) and as a compact estimate (see
// Phase.RawBytes; compare with Cairn's B/party/peer).
func BenchmarkGG20Sign3of5(b *testing.B) {
	benchSign(b, 3, 5)
}

// BenchmarkGG20Sign2of3 is the same for 2-of-3.
func BenchmarkGG20Sign2of3(b *testing.B) {
	benchSign(b, 2, 3)
}

func benchSign(b *testing.B, t, n int) {
	for _, mode := range modes {
		f, err := NewFixture(t, n, mode)
		if err != nil {
			b.Fatal(err)
		}
		subsets := Subsets(t, n)
		digest := Digest(f.Curve, []byte("benchmark"))
		// Weigh the messages once, outside the timed runs.
		_, st, err := Sign(f, subsets[0], digest, Options{CountBytes: true})
		if err != nil {
			b.Fatal(err)
		}
		perPair, rawPerPair := st.BytesPerPair(), st.RawBytesPerPair()
		for _, concurrent := range []bool{false, true} {
			name := mode.String() + "/serial"
			if concurrent {
				name = mode.String() + "/concurrent"
			}
			b.Run(name, func(b *testing.B) {
				phase := make([]time.Duration, len(Phases))
				i := 0
				for b.Loop() {
					sig, st, err := Sign(f, subsets[i%len(subsets)], digest, Options{Concurrent: concurrent})
					if err != nil {
						b.Fatal(err)
					}
					if sig == nil {
						b.Fatal("no signature")
					}
					for k, p := range st.Phases {
						phase[k] += p.Time
					}
					i++
				}
				if !concurrent {
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(t)/1e6, "ms/party")
				}
				for k, name := range Phases {
					b.ReportMetric(float64(phase[k].Nanoseconds())/float64(b.N)/1e6, "ms-"+name)
				}
				b.ReportMetric(perPair, "B/pair-json")
				b.ReportMetric(rawPerPair, "B/pair-raw")
			})
		}
	}
}

// TestBareK256Truncates records why Secp256k1 wraps curves.K256Curve: the
// bare curve multiplies by a scalar longer than 32 bytes wrongly.
func TestBareK256Truncates(t *testing.T) {
	bare := curves.K256Curve()
	n := bare.Params().N
	k := new(big.Int).Lsh(big.NewInt(1), 700) // like α ∈ Z_{q³}
	k.Add(k, big.NewInt(12345))
	want := new(big.Int).Mod(k, n)
	wx, wy := bare.ScalarBaseMult(want.Bytes())
	if x, y := Secp256k1.ScalarBaseMult(k.Bytes()); x.Cmp(wx) != 0 || y.Cmp(wy) != 0 {
		t.Fatal("Secp256k1 does not reduce a long scalar")
	}
	if x, y := bare.ScalarBaseMult(k.Bytes()); x != nil && x.Cmp(wx) == 0 && y.Cmp(wy) == 0 {
		t.Log("curves.K256Curve now reduces long scalars; the wrapper may be unnecessary")
	}
	gx, gy := bare.Params().Gx, bare.Params().Gy
	if x, y := Secp256k1.ScalarMult(gx, gy, k.Bytes()); x.Cmp(wx) != 0 || y.Cmp(wy) != 0 {
		t.Fatal("Secp256k1.ScalarMult does not reduce a long scalar")
	}
}

func TestRawSize(t *testing.T) {
	for _, c := range []struct {
		json string
		want int
	}{
		{`{"A":255,"B":256,"C":0}`, 1 + 2 + 1},
		{`{"C":"AAECAw==","Name":"secp256k1!"}`, 4 + 10},
		{`[true,null,{"X":[65536]}]`, 1 + 3},
	} {
		got, err := rawSize([]byte(c.json))
		if err != nil || got != c.want {
			t.Errorf("rawSize(%s) = %d, %v; want %d", c.json, got, err, c.want)
		}
	}
}
