// Package transporttest is a conformance suite for transport.Transport
// implementations: every carrier, raw or wrapped by package e2e, runs the
// same tests.
//
//	transporttest.Run(t, func(t testing.TB, ids []transport.NodeID) transporttest.Network {
//		... start one endpoint per id, register their Close with t.Cleanup ...
//	})
package transporttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/transport"
)

// Network is what a factory returns: one connected endpoint per requested
// id, and the limit they enforce.
type Network struct {
	Endpoints map[transport.NodeID]transport.Transport
	// MaxPayload is the largest payload Send accepts; one more byte must
	// fail with transport.ErrFrameTooLarge.
	MaxPayload int
}

// Factory starts endpoints for ids on a fresh network. It registers their
// shutdown with t.Cleanup; the suite also closes some itself, so Close must
// be idempotent. Benchmarks call it too, hence testing.TB.
type Factory func(t testing.TB, ids []transport.NodeID) Network

// Timeout bounds every blocking call the suite makes.
const Timeout = 20 * time.Second

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

func ids(n int) []transport.NodeID {
	out := make([]transport.NodeID, n)
	for i := range out {
		out[i] = transport.NodeID(fmt.Sprintf("node-%d", i+1))
	}
	return out
}

// Run runs every test of the suite against networks made by f.
func Run(t *testing.T, f Factory) {
	t.Run("SendReceive", func(t *testing.T) { SendReceive(t, f) })
	t.Run("Broadcast", func(t *testing.T) { Broadcast(t, f) })
	t.Run("ConcurrentSenders", func(t *testing.T) { ConcurrentSenders(t, f) })
	t.Run("LargeFrames", func(t *testing.T) { LargeFrames(t, f) })
	t.Run("Oversized", func(t *testing.T) { Oversized(t, f) })
	t.Run("UnknownNode", func(t *testing.T) { UnknownNode(t, f) })
	t.Run("ReceiveContext", func(t *testing.T) { ReceiveContext(t, f) })
	t.Run("CloseUnblocksReceive", func(t *testing.T) { CloseUnblocksReceive(t, f) })
}

// SendReceive: a frame arrives whole, from its authentic sender, and the
// sender may reuse its buffer once Send returns.
func SendReceive(t *testing.T, f Factory) {
	n := f(t, ids(2))
	a, b := n.Endpoints["node-1"], n.Endpoints["node-2"]
	ctx := ctxFor(t)
	buf := []byte("hello, node-2")
	require.NoError(t, a.Send(ctx, "node-2", buf))
	copy(buf, "XXXXX")
	got, err := b.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, transport.Frame{From: "node-1", To: "node-2", Payload: []byte("hello, node-2")}, got)

	require.NoError(t, b.Send(ctx, "node-1", []byte{}))
	got, err = a.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, transport.NodeID("node-2"), got.From)
	assert.Empty(t, got.Payload)
}

// Broadcast: transport.Broadcast reaches every other node once and skips
// the sender.
func Broadcast(t *testing.T, f Factory) {
	all := ids(5)
	n := f(t, all)
	ctx := ctxFor(t)
	require.NoError(t, transport.Broadcast(ctx, n.Endpoints["node-1"], all, []byte("to all")))
	for _, id := range all[1:] {
		got, err := n.Endpoints[id].Receive(ctx)
		require.NoError(t, err, id)
		assert.Equal(t, transport.Frame{From: "node-1", To: id, Payload: []byte("to all")}, got)
	}
	// node-1 got nothing.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := n.Endpoints["node-1"].Receive(short)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// ConcurrentSenders: many goroutines on several nodes send to one node;
// every frame arrives, attributed to its sender.
func ConcurrentSenders(t *testing.T, f Factory) {
	const senders, goroutines, per = 4, 4, 50
	all := ids(senders + 1)
	n := f(t, all)
	ctx := ctxFor(t)
	dst := all[0]
	var wg sync.WaitGroup
	for _, from := range all[1:] {
		for g := range goroutines {
			wg.Go(func() {
				for i := range per {
					if err := n.Endpoints[from].Send(ctx, dst, fmt.Appendf(nil, "%s/%d/%d", from, g, i)); err != nil {
						t.Errorf("send: %v", err)
						return
					}
				}
			})
		}
	}
	want := senders * goroutines * per
	got := map[string]int{}
	for len(got) < want {
		fr, err := n.Endpoints[dst].Receive(ctx)
		require.NoError(t, err, "after %d of %d frames", len(got), want)
		from, _, ok := bytes.Cut(fr.Payload, []byte("/"))
		require.True(t, ok, "payload %q", fr.Payload)
		require.Equal(t, string(from), string(fr.From), "frame attributed to the wrong sender")
		got[string(fr.Payload)]++
	}
	wg.Wait()
	assert.Len(t, got, want)
}

// LargeFrames: payloads up to the limit arrive intact.
func LargeFrames(t *testing.T, f Factory) {
	n := f(t, ids(2))
	ctx := ctxFor(t)
	for _, size := range []int{n.MaxPayload / 2, n.MaxPayload} {
		p := make([]byte, size)
		_, _ = rand.Read(p)
		require.NoError(t, n.Endpoints["node-1"].Send(ctx, "node-2", p), "%d bytes", size)
		got, err := n.Endpoints["node-2"].Receive(ctx)
		require.NoError(t, err)
		require.Equal(t, len(p), len(got.Payload))
		assert.True(t, bytes.Equal(p, got.Payload), "%d bytes differ", size)
	}
}

// Oversized: a payload over the limit is refused with ErrFrameTooLarge and
// the endpoint keeps working.
func Oversized(t *testing.T, f Factory) {
	n := f(t, ids(2))
	ctx := ctxFor(t)
	err := n.Endpoints["node-1"].Send(ctx, "node-2", make([]byte, n.MaxPayload+1))
	require.ErrorIs(t, err, transport.ErrFrameTooLarge)
	require.NoError(t, n.Endpoints["node-1"].Send(ctx, "node-2", []byte("still up")))
	got, err := n.Endpoints["node-2"].Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "still up", string(got.Payload))
}

// UnknownNode: sending to a node outside the network fails with
// ErrUnknownNode.
func UnknownNode(t *testing.T, f Factory) {
	n := f(t, ids(2))
	err := n.Endpoints["node-1"].Send(ctxFor(t), "stranger", []byte("x"))
	assert.ErrorIs(t, err, transport.ErrUnknownNode)
}

// ReceiveContext: Receive returns ctx's error when ctx ends first.
func ReceiveContext(t *testing.T, f Factory) {
	n := f(t, ids(2))
	ctx, cancel := context.WithTimeout(ctxFor(t), 50*time.Millisecond)
	defer cancel()
	_, err := n.Endpoints["node-1"].Receive(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// CloseUnblocksReceive: Close wakes a blocked Receive with ErrClosed, and
// later calls fail with ErrClosed.
func CloseUnblocksReceive(t *testing.T, f Factory) {
	n := f(t, ids(2))
	a := n.Endpoints["node-1"]
	errc := make(chan error, 1)
	go func() {
		_, err := a.Receive(context.Background())
		errc <- err
	}()
	require.NoError(t, a.Close())
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, transport.ErrClosed)
	case <-time.After(Timeout):
		t.Fatal("Close did not unblock Receive")
	}
	_, err := a.Receive(ctxFor(t))
	assert.ErrorIs(t, err, transport.ErrClosed)
	err = a.Send(ctxFor(t), "node-2", []byte("x"))
	assert.True(t, errors.Is(err, transport.ErrClosed), "Send after Close: %v", err)
}
