package transporttest_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
	"github.com/cairn-mpc/cairn/transport/memory"
	"github.com/cairn-mpc/cairn/transport/nats"
	"github.com/cairn-mpc/cairn/transport/nats/natstest"
	"github.com/cairn-mpc/cairn/transport/tcp"
	"github.com/cairn-mpc/cairn/transport/tcp/devpki"
	"github.com/cairn-mpc/cairn/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func memoryNetwork(t testing.TB, ids []transport.NodeID) transporttest.Network {
	net := memory.NewNetwork()
	t.Cleanup(func() { net.Close() })
	n := transporttest.Network{Endpoints: map[transport.NodeID]transport.Transport{}, MaxPayload: memory.DefaultMaxFrameSize}
	for _, id := range ids {
		n.Endpoints[id] = net.Endpoint(id)
	}
	return n
}

// tcpNetwork starts one TCP+mTLS node per id on loopback, all trusting one
// dev CA.
func tcpNetwork(t testing.TB, ids []transport.NodeID) transporttest.Network {
	ca, err := devpki.NewCA("transporttest")
	require.NoError(t, err)
	peers := map[transport.NodeID]string{}
	for _, id := range ids {
		peers[id] = ""
	}
	n := transporttest.Network{Endpoints: map[transport.NodeID]transport.Transport{}, MaxPayload: tcp.DefaultMaxFrameSize}
	var nodes []*tcp.Transport
	for _, id := range ids {
		cert, err := ca.Issue(id)
		require.NoError(t, err)
		tr, err := tcp.Listen(tcp.Config{Self: id, Listen: "127.0.0.1:0", Peers: peers, Certificate: cert, CA: ca.Pool()})
		require.NoError(t, err)
		t.Cleanup(func() { tr.Close() })
		n.Endpoints[id] = tr
		nodes = append(nodes, tr)
	}
	for _, a := range nodes {
		for _, b := range nodes {
			a.SetPeer(b.Self(), b.Addr().String())
		}
	}
	return n
}

// natsNetwork starts an embedded NATS server on loopback and one node per
// id on it; NATS endpoints are always end-to-end protected.
func natsNetwork(t testing.TB, ids []transport.NodeID) transporttest.Network {
	srv, err := natstest.Start(natstest.Options{})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	secret, dir := transporttest.Identities(t, e2e.X25519, ids)
	n := transporttest.Network{Endpoints: map[transport.NodeID]transport.Transport{}, MaxPayload: wire.MaxSize}
	over := 0
	for _, id := range ids {
		tr, err := nats.Dial(t.Context(), nats.Config{URL: srv.URL(), Self: id, E2E: e2e.Config{Identity: secret[id], Peers: dir}})
		require.NoError(t, err)
		t.Cleanup(func() { tr.Close() })
		n.Endpoints[id] = tr
		for _, to := range ids {
			over = max(over, e2e.Overhead(e2e.X25519, string(id), string(to)))
		}
	}
	n.MaxPayload -= over
	return n
}

func secured(f transporttest.Factory, kem e2e.KEM) transporttest.Factory {
	return func(t testing.TB, ids []transport.NodeID) transporttest.Network {
		return transporttest.Secure(t, f(t, ids), kem)
	}
}

// TestSuite runs the conformance suite over every carrier, raw and wrapped.
func TestSuite(t *testing.T) {
	cases := []struct {
		name string
		f    transporttest.Factory
	}{
		{"memory", memoryNetwork},
		{"memory+e2e", secured(memoryNetwork, e2e.X25519)},
		{"memory+e2e-mlkem", secured(memoryNetwork, e2e.MLKEM768X25519)},
		{"tcp", tcpNetwork},
		{"tcp+e2e", secured(tcpNetwork, e2e.X25519)},
		{"nats+e2e", natsNetwork},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			transporttest.Run(t, tc.f)
		})
	}
}
