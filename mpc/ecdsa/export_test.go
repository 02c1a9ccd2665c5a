package ecdsa

import (
	"slices"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// What the external tests (package ecdsa_test, which drive malicious parties
// through mpc.Runner over the memory transport) need of a KeyShare's secret
// state. Being a _test.go file, none of it exists outside this package's test
// binary.

// ShiftedShare returns a copy of k whose Shamir share is x + δ, its public
// parts and pairwise state unchanged: a malicious party that uses a
// consistently shifted key share, sk_j + λ_j·δ in its VOLE input and
// pk_j + λ_j·δ·G in its broadcast (design §4 check 5). No production path
// builds such a share: ParseKeyShare and NewSetup check the secret against
// the party's verification share.
func ShiftedShare(k *KeyShare, delta uint64) (*KeyShare, error) {
	c, err := k.clone()
	if err != nil {
		return nil, err
	}
	c.share.Secret = c.share.Secret.Add(curve.Secp256k1.ScalarFromUint64(delta))
	return c, nil
}

// SessionState encodes what no signing session may change in k: its DKG
// share and, for every counterparty but skip, the pairwise OT state (both
// roles) and the zero-sharing seed. The state towards skip is left out
// because a ban on it is the one change a session may make.
func SessionState(k *KeyShare, skip round.PartyID) ([]byte, error) {
	out, err := k.share.MarshalBinary()
	if err != nil {
		return nil, err
	}
	for _, j := range k.share.Parties {
		p := k.peers[j]
		if p == nil || j == skip {
			continue
		}
		send, err := p.send.MarshalBinary()
		if err != nil {
			return nil, err
		}
		recv, err := p.recv.MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = slices.Concat(out, []byte{byte(j >> 8), byte(j)}, send, recv, p.seed[:])
	}
	return out, nil
}
