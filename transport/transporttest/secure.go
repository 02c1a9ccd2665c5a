package transporttest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
)

// Identities makes fresh e2e identities for ids and their directory.
func Identities(t testing.TB, kem e2e.KEM, ids []transport.NodeID) (map[transport.NodeID]e2e.Identity, map[transport.NodeID]e2e.Peer) {
	t.Helper()
	secret := map[transport.NodeID]e2e.Identity{}
	dir := map[transport.NodeID]e2e.Peer{}
	for _, id := range ids {
		k, err := e2e.GenerateIdentity(kem)
		require.NoError(t, err)
		secret[id], dir[id] = k, k.Public()
	}
	return secret, dir
}

// Secure wraps every endpoint of n with package e2e, each with a fresh
// identity of kind kem, and lowers MaxPayload by the sealing overhead (and
// to the wire format's limit).
func Secure(t testing.TB, n Network, kem e2e.KEM) Network {
	t.Helper()
	var ids []transport.NodeID
	for id := range n.Endpoints {
		ids = append(ids, id)
	}
	secret, dir := Identities(t, kem, ids)
	out := Network{Endpoints: map[transport.NodeID]transport.Transport{}, MaxPayload: min(n.MaxPayload, wire.MaxSize)}
	over := 0
	for _, a := range ids {
		for _, b := range ids {
			over = max(over, e2e.Overhead(kem, string(a), string(b)))
		}
		w, err := e2e.Wrap(n.Endpoints[a], e2e.Config{Identity: secret[a], Peers: dir})
		require.NoError(t, err)
		out.Endpoints[a] = w
	}
	out.MaxPayload -= over
	return out
}
