package authn_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/authn/authntest"
)

// benchStores are the stores the action benchmarks run over: the
// in-memory test store shows the package's own cost; over store/bolt every
// Update is also a durable write (an fsync).
var benchStores = []struct {
	name string
	open func(testing.TB) *fixture
}{
	{"mem", newFixture},
	{"bolt", func(t testing.TB) *fixture { f, _ := newBoltFixture(t); return f }},
}

// BenchmarkVerifyAction measures what every state-changing call pays: the
// token lookup, the binding check against the request, the identity and
// credential checks and the atomic consumption. Signing happens outside
// the timer.
func BenchmarkVerifyAction(b *testing.B) {
	for _, st := range benchStores {
		for _, k := range signerKinds {
			b.Run(st.name+"/"+k.name, func(b *testing.B) {
				f := st.open(b)
				alice := f.user(b, "alice")
				s, _ := k.register(b, f, alice.ID)
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					tok, _, err := authntest.SignAction(f.ctx, f.svc, s, alice.ID, opSign, resource, payload)
					require.NoError(b, err)
					b.StartTimer()
					if _, err := f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkCompleteAction measures the verification of a signed action
// (where the credential kinds differ: the signature check) and the issuing
// of its token. InitAction and the client's signing are outside the timer.
func BenchmarkCompleteAction(b *testing.B) {
	for _, st := range benchStores {
		for _, k := range signerKinds {
			b.Run(st.name+"/"+k.name, func(b *testing.B) {
				f := st.open(b)
				alice := f.user(b, "alice")
				s, _ := k.register(b, f, alice.ID)
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					ch, err := f.svc.InitAction(f.ctx, alice.ID, opSign, resource, payload)
					require.NoError(b, err)
					a, err := s.Answer(ch)
					require.NoError(b, err)
					b.StartTimer()
					if _, _, err := f.svc.CompleteAction(f.ctx, ch.ID, a); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEvidenceVerify measures the offline re-verification a signer
// or an audit-log verifier runs; no store is involved.
func BenchmarkEvidenceVerify(b *testing.B) {
	for _, k := range signerKinds {
		b.Run(k.name, func(b *testing.B) {
			f := newFixture(b)
			alice := f.user(b, "alice")
			s, cred := k.register(b, f, alice.ID)
			tok, _, err := authntest.SignAction(f.ctx, f.svc, s, alice.ID, opSign, resource, payload)
			require.NoError(b, err)
			ev, err := f.svc.VerifyAction(f.ctx, tok, opSign, resource, payload)
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if err := ev.Verify(cred.PublicKey); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
