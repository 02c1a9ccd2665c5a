package mpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMuxConcurrentSessions runs several sessions at once over one endpoint
// per party, each party starting its sessions in a different order, so
// frames regularly arrive for sessions a party has not opened yet.
func TestMuxConcurrentSessions(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), scaled(10*time.Second))
	defer cancel()
	muxes := map[round.PartyID]*Mux{}
	var muxWG sync.WaitGroup
	muxCtx, stopMux := context.WithCancel(context.Background())
	for _, id := range c.parties {
		m := NewMux(c.net.Endpoint(node(id)), nil)
		muxes[id] = m
		muxWG.Add(1)
		go func() { defer muxWG.Done(); _ = m.Run(muxCtx) }()
	}
	const sessions = 8
	sids := make([]round.SessionID, sessions)
	for i := range sids {
		sids[i] = round.NewSessionID("sum", nil, c.parties, []byte(fmt.Sprint("mux", i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, sessions*len(c.parties))
	for _, id := range c.parties {
		for k := range sessions {
			i := k
			if id%2 == 0 {
				i = sessions - 1 - k // reverse order on even parties
			}
			conn, err := muxes[id].Open(sids[i])
			require.NoError(t, err)
			r := &Runner{Conn: conn, Protocol: "sum", Session: sids[i], Self: id, Identity: c.keys[id], Peers: c.peers}
			first, out := startSum(id, c.parties, uint64(id))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				v, err := r.Run(ctx, first, out)
				if err == nil && v != c.want(id) {
					err = fmt.Errorf("party %d session %d: got %v", id, i, v)
				}
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	// A used session id cannot be opened again.
	_, err := muxes[1].Open(sids[0])
	assert.ErrorIs(t, err, ErrSessionUsed)
	stopMux()
	muxWG.Wait()
	// Once the mux stops, Open fails.
	_, err = muxes[1].Open(round.NewSessionID("sum", nil, c.parties, []byte("late")))
	assert.Error(t, err)
}

func TestMuxStopEndsSessions(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2)
	m := NewMux(c.net.Endpoint(node(1)), nil)
	conn, err := m.Open(c.session)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	require.NoError(t, c.net.Crash(node(1)))
	require.ErrorIs(t, <-done, transport.ErrClosed)
	_, err = conn.Receive(context.Background())
	assert.ErrorIs(t, err, transport.ErrClosed)
	conn.Close() // after the mux stopped: no double close
}

func TestMuxDropsGarbageAndBoundsEarlyFrames(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2)
	m := NewMux(c.net.Endpoint(node(1)), nil)
	sender := c.net.Endpoint(node(2))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	require.NoError(t, sender.Send(ctx, node(1), []byte("not a frame")))
	// More early frames for one unopened session than the mux holds.
	fr, err := encodeFrame(c.session, []byte("x"))
	require.NoError(t, err)
	for range muxEarlyPer + 10 {
		require.NoError(t, sender.Send(ctx, node(1), fr))
	}
	// A marker frame for a second, open session, sent last on the same
	// in-order link: once it is received, everything before it was routed.
	marker := round.NewSessionID("sum", nil, nil, []byte("marker"))
	mconn, err := m.Open(marker)
	require.NoError(t, err)
	mf, err := encodeFrame(marker, []byte("m"))
	require.NoError(t, err)
	require.NoError(t, sender.Send(ctx, node(1), mf))
	_, err = mconn.Receive(ctx)
	require.NoError(t, err)

	conn, err := m.Open(c.session)
	require.NoError(t, err)
	assert.Len(t, conn.in, muxEarlyPer, "early frames are capped per session")
	cancel()
	assert.True(t, errors.Is(<-done, context.Canceled))
}
