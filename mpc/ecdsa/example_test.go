package ecdsa_test

import (
	"crypto/sha256"
	"fmt"

	"github.com/cairn-mpc/cairn/mpc/ecdsa"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/mpc/round/roundtest"
)

// A 2-of-3 key generation and one signature by parties 1 and 3, driven in
// one process by roundtest; in production package mpc runs the same rounds
// over a transport.
func Example() {
	check := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	parties := []round.PartyID{1, 2, 3}
	net := roundtest.NewNetwork(parties)

	// Key generation: the DKG, then base OTs and zero-sharing seeds for
	// every pair.
	keygen := round.NewSessionID("ecdsa-keygen", nil, parties, []byte("a fresh nonce"))
	start := map[round.PartyID]roundtest.Party{}
	for _, id := range parties {
		r, out, err := ecdsa.NewKeygen(ecdsa.KeygenConfig{Session: keygen, Self: id, Parties: parties, Threshold: 2, Evidence: net.Keyring})
		check(err)
		start[id] = roundtest.Party{Round: r, Out: out}
	}
	res, err := net.Run(start)
	check(err)
	keys := map[round.PartyID]*ecdsa.KeyShare{}
	for id, r := range res {
		keys[id] = r.(*ecdsa.KeyShare)
	}

	// Signing: three rounds.
	signers := []round.PartyID{1, 3}
	digest := sha256.Sum256([]byte("hello, threshold ECDSA"))
	sign := round.NewSessionID("ecdsa-sign", keys[1].PublicKey(), signers, []byte("another fresh nonce"))
	start = map[round.PartyID]roundtest.Party{}
	for _, id := range signers {
		r, out, err := ecdsa.NewSigning(keys[id], ecdsa.SignRequest{Session: sign, Signers: signers, Digest: digest[:]}, ecdsa.Config{})
		check(err)
		start[id] = roundtest.Party{Round: r, Out: out}
	}
	res, err = net.Run(start)
	check(err)
	sig := res[1].(*ecdsa.Signature)
	fmt.Println(len(sig.Bytes()), ecdsa.Verify(keys[1].PublicKey(), digest[:], sig) == nil)
	// Output: 64 true
}
