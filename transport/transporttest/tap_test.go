package transporttest_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	natsgo "github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/ecdsa"
	"github.com/cairn-mpc/cairn/mpc/frost"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
	"github.com/cairn-mpc/cairn/transport/nats"
	"github.com/cairn-mpc/cairn/transport/nats/natstest"
	"github.com/cairn-mpc/cairn/transport/transporttest"
)

// recorder keeps every payload its node hands the transport: the runner's
// frames in the clear, before end-to-end sealing.
type recorder struct {
	transport.Transport
	mu   sync.Mutex
	sent [][]byte
}

func (r *recorder) Send(ctx context.Context, to transport.NodeID, payload []byte) error {
	r.mu.Lock()
	r.sent = append(r.sent, bytes.Clone(payload))
	r.mu.Unlock()
	return r.Transport.Send(ctx, to, payload)
}

// TestNATSSubscriberSeesNoSecret runs a DKG (its direct messages carry
// Shamir shares) and a threshold-ECDSA key generation (its direct messages
// carry base-OT material) over NATS while a subscriber on every node's
// subject records all that passes. No 16-byte window of any frame the nodes
// sent, share and OT secrets included, may appear in what it saw.
func TestNATSSubscriberSeesNoSecret(t *testing.T) {
	t.Parallel()
	srv, err := natstest.Start(natstest.Options{})
	require.NoError(t, err)
	t.Cleanup(srv.Close)

	tap, err := natsgo.Connect(srv.URL())
	require.NoError(t, err)
	t.Cleanup(tap.Close)
	var mu sync.Mutex
	var seen [][]byte
	_, err = tap.Subscribe(nats.Subject("", "*"), func(m *natsgo.Msg) {
		mu.Lock()
		seen = append(seen, bytes.Clone(m.Data))
		mu.Unlock()
	})
	require.NoError(t, err)
	require.NoError(t, tap.Flush())

	ids := []transport.NodeID{"node-1", "node-2", "node-3", "node-4", "node-5"}
	secret, dir := transporttest.Identities(t, e2e.X25519, ids)
	n := transporttest.Network{Endpoints: map[transport.NodeID]transport.Transport{}, MaxPayload: wire.MaxSize}
	recorders := map[transport.NodeID]*recorder{}
	for _, id := range ids {
		tr, err := nats.Dial(t.Context(), nats.Config{URL: srv.URL(), Self: id, E2E: e2e.Config{Identity: secret[id], Peers: dir}})
		require.NoError(t, err)
		t.Cleanup(func() { tr.Close() })
		recorders[id] = &recorder{Transport: tr}
		n.Endpoints[id] = recorders[id]
	}
	c := newCeremony(t, n, ids)

	keys := c.dkg(t, frost.Ed25519)
	require.Len(t, keys, 5)
	all := []round.PartyID{1, 2, 3, 4, 5}
	sess := round.NewSessionID(ecdsa.Protocol, nil, all, nonce(t))
	res := c.run(t, ecdsa.Protocol, sess, all, func(id round.PartyID) (round.Round, []round.Message, error) {
		return ecdsa.NewKeygen(ecdsa.KeygenConfig{Session: sess, Self: id, Parties: all, Threshold: 3, Evidence: c.ring})
	})
	for _, id := range all {
		require.NoError(t, res[id].err)
	}

	require.NoError(t, tap.Flush())
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, seen, "the subscriber saw the traffic")
	onWire := bytes.Join(seen, nil)
	checked := 0
	for _, r := range recorders {
		for _, p := range r.sent {
			for i := 0; i+16 <= len(p); i += 16 {
				checked++
				if bytes.Contains(onWire, p[i:i+16]) {
					t.Fatalf("16 bytes of a frame %x… were visible on the subjects", p[i:i+8])
				}
			}
		}
	}
	assert.Positive(t, checked)
}
