// Command baseline runs N GG20 threshold-ECDSA signings with kryptology
// v1.8.0, verifies every signature, and prints time per signature, a
// per-round breakdown and the bytes exchanged. It is the baseline Cairn's
// ECDSA signing is set against in BENCHMARKS.md (see ../../run.sh).
//
//	go run ./cmd/baseline                  # 3-of-5, 20 signings, both proof-parameter modes
//	go run ./cmd/baseline -n 50 -t 2 -parties 3 -mode per-party -concurrent
//
// Keys are dealt; key generation is not measured. Signings rotate through
// every t-element subset of the parties.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cairn-mpc/cairn/bench/gg20"
)

func main() {
	n := flag.Int("n", 20, "signings per configuration")
	t := flag.Int("t", 3, "signers (threshold t of t-of-n)")
	parties := flag.Int("parties", 5, "parties holding a share (n of t-of-n)")
	mode := flag.String("mode", "both", "proof parameters: per-party, shared or both")
	concurrent := flag.Bool("concurrent", false, "also run each signer's step of a round in its own goroutine (wall time)")
	flag.Parse()
	log.SetFlags(0)

	var modes []gg20.ParamsMode
	switch *mode {
	case "per-party":
		modes = []gg20.ParamsMode{gg20.PerPartyParams}
	case "shared":
		modes = []gg20.ParamsMode{gg20.SharedParams}
	case "both":
		modes = []gg20.ParamsMode{gg20.PerPartyParams, gg20.SharedParams}
	default:
		log.Fatalf("-mode %q: want per-party, shared or both", *mode)
	}
	if *n < 1 {
		log.Fatal("-n must be at least 1")
	}

	fmt.Printf("GG20 baseline: github.com/coinbase/kryptology v1.8.0 pkg/tecdsa/gg20, secp256k1, %d-of-%d, dealt keys\n", *t, *parties)
	fmt.Printf("%s %s/%s, GOMAXPROCS=%d, NumCPU=%d%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH,
		runtime.GOMAXPROCS(0), runtime.NumCPU(), loadAvg())

	for _, m := range modes {
		f, err := gg20.NewFixture(*t, *parties, m)
		if err != nil {
			log.Fatal(err)
		}
		runs := []bool{false}
		if *concurrent {
			runs = append(runs, true)
		}
		for _, conc := range runs {
			if err := run(f, *n, conc); err != nil {
				log.Fatal(err)
			}
		}
	}
}

func run(f *gg20.Fixture, n int, concurrent bool) error {
	subsets := gg20.Subsets(f.Threshold, f.Total)
	how := "serial: signers one after another; times are the CPU of all signers"
	if concurrent {
		how = "concurrent: each signer in its own goroutine per round; times are wall clock"
	}
	fmt.Printf("\n== %d-of-%d, %s, %s\n", f.Threshold, f.Total, f.Mode, how)

	// One signing to weigh the messages; its JSON encoding is kept out of
	// the timed runs.
	digest := gg20.Digest(f.Curve, []byte("weighing"))
	sig, weighed, err := gg20.Sign(f, subsets[0], digest, gg20.Options{CountBytes: true})
	if err != nil {
		return err
	}
	if err := gg20.Verify(f.PublicKey, digest, sig); err != nil {
		return err
	}

	totals := make([]time.Duration, 0, n)
	phases := make([]time.Duration, len(gg20.Phases))
	for i := range n {
		signers := subsets[i%len(subsets)]
		digest := gg20.Digest(f.Curve, fmt.Appendf(nil, "baseline message %d", i))
		sig, st, err := gg20.Sign(f, signers, digest, gg20.Options{Concurrent: concurrent})
		if err != nil {
			return fmt.Errorf("signing %d by %v: %w", i, signers, err)
		}
		if err := gg20.Verify(f.PublicKey, digest, sig); err != nil {
			return fmt.Errorf("signing %d by %v: %w", i, signers, err)
		}
		totals = append(totals, st.Total)
		for k, p := range st.Phases {
			phases[k] += p.Time
		}
	}

	var sum time.Duration
	for _, d := range totals {
		sum += d
	}
	sorted := slices.Clone(totals)
	slices.Sort(sorted)
	mean := sum / time.Duration(n)
	fmt.Printf("signatures: %d over %d signer sets, all verified (crypto/ecdsa on secp256k1, key recovery = group key, low s)\n",
		n, min(n, len(subsets)))
	fmt.Printf("ms/signature: mean %s  median %s  min %s  max %s\n",
		ms(mean), ms(sorted[n/2]), ms(sorted[0]), ms(sorted[n-1]))
	if !concurrent {
		fmt.Printf("ms/party (mean ÷ %d, one signer's work): %s\n", f.Threshold, ms(mean/time.Duration(f.Threshold)))
	}
	fmt.Printf("per phase, mean ms:")
	for k, name := range gg20.Phases {
		fmt.Printf("  %s %s", name, ms(phases[k]/time.Duration(n)))
	}
	fmt.Println()
	fmt.Printf("messages per signing: %d deliveries (a broadcast counted once per recipient), %d bytes as JSON, ~%d compact\n",
		weighed.Messages(), weighed.Bytes(), weighed.RawBytes())
	fmt.Printf("bytes one signer sends one cosigner: %.0f as JSON, ~%.0f compact (fields at their binary size, no framing)\n",
		weighed.BytesPerPair(), weighed.RawBytesPerPair())
	fmt.Printf("per round, all deliveries (msgs, JSON B, compact B):")
	for _, p := range weighed.Phases {
		if p.Messages > 0 {
			fmt.Printf("  %s %d/%d/%d", p.Name, p.Messages, p.Bytes, p.RawBytes)
		}
	}
	fmt.Println()
	return nil
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000)
}

// loadAvg reports the load average on Linux, since the figures depend on it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return fmt.Sprintf(", load average %s %s %s", f[0], f[1], f[2])
}
