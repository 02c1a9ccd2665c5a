package rvole_test

import (
	"fmt"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/internal/ot"
	"github.com/cairn-mpc/cairn/mpc/internal/rvole"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// One ordered pair: party 1 is Alice (inputs a vector), party 2 is Bob
// (samples χ). At key generation the pair runs the base OT once, Bob as its
// sender; every signature then runs one multiplication of two messages.
func Example() {
	const alice, bob round.PartyID = 1, 2
	check := func(err error) {
		if err != nil {
			panic(err)
		}
	}

	// Key generation: five base-OT messages, alternating Bob → Alice first.
	pair := ot.NewPairID([]byte("dkg session id"), alice, bob)
	bs, m1, err := ot.NewBaseSender(pair, nil) // Bob
	check(err)
	br, m2, err := ot.NewBaseReceiver(pair, m1, nil) // Alice
	check(err)
	m3, err := bs.Challenge(m2)
	check(err)
	m4, err := br.Respond(m3)
	check(err)
	m5, recv, err := bs.Open(m4)
	check(err)
	send, err := br.Finish(m5)
	check(err)
	a, b := rvole.NewAlice(send), rvole.NewBob(recv)

	// Signing: the session id binds key, signature, roles and derivation.
	sid := rvole.NewSessionID([]byte("key id"), []byte("sign id"), alice, bob, nil)
	sess, toAlice, err := b.Start(sid, nil) // round 1, Bob → Alice
	check(err)
	in := [rvole.L]curve.Scalar{curve.Secp256k1.ScalarFromUint64(3), curve.Secp256k1.ScalarFromUint64(5)}
	c, toBob, err := a.Multiply(sid, in, toAlice, nil) // round 2, Alice → Bob
	if rvole.BansPeer(err) {
		// Bob failed the OT consistency check: ban him for this key.
	}
	check(err)
	d, err := sess.Finish(toBob) // round 3, Bob
	if rvole.BansPeer(err) {
		// Alice failed the multiplication check: ban her for this key.
	}
	check(err)

	chi := sess.Chi()
	fmt.Println(c[0].Add(d[0]).Equal(in[0].Mul(chi)), c[1].Add(d[1]).Equal(in[1].Mul(chi)))
	// Output: true true
}
