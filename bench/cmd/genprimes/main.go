// Command genprimes writes the safe primes the GG20 baseline uses for its
// Paillier keys and its range-proof moduli (N~), one decimal number a line.
//
// Safe-prime generation takes 30–70 s per 1024-bit prime on the project's
// machine, so the primes are made once and committed (gg20/safeprimes.txt)
// rather than generated at every benchmark run. Their generation is not what
// the baseline measures: in GG20 they belong to key generation.
//
//	go run ./cmd/genprimes -n 22 -o gg20/safeprimes.txt
package main

import (
	"flag"
	"fmt"
	"log"
	"math/big"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/coinbase/kryptology/pkg/core"
	"github.com/coinbase/kryptology/pkg/paillier"
)

func main() {
	n := flag.Int("n", 22, "how many safe primes to generate")
	out := flag.String("o", "gg20/safeprimes.txt", "output file")
	workers := flag.Int("j", runtime.GOMAXPROCS(0), "parallel generators")
	flag.Parse()

	start := time.Now()
	jobs := make(chan int)
	primes := make([]*big.Int, *n)
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() {
			for i := range jobs {
				p, err := core.GenerateSafePrime(paillier.PaillierPrimeBits)
				if err != nil {
					log.Fatal(err)
				}
				primes[i] = p
				log.Printf("prime %d/%d after %v", i+1, *n, time.Since(start).Round(time.Second))
			}
		})
	}
	for i := range *n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	var b strings.Builder
	fmt.Fprintf(&b, "# %d safe primes of %d bits, made by cmd/genprimes (core.GenerateSafePrime) on %s.\n",
		*n, paillier.PaillierPrimeBits, time.Now().UTC().Format("2006-01-02"))
	for _, p := range primes {
		fmt.Fprintln(&b, p.String())
	}
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s in %v", *out, time.Since(start).Round(time.Second))
}
