package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/custody/events"
	"github.com/cairn-mpc/cairn/store"
)

// A webhook that answers 500, then drops the connection, then 200 gets the
// event exactly once acknowledged, signed so that Verify accepts it, with
// the event JSON as body; the log shows the failures and none of the
// secrets.
func TestDeliveryRetriesUntilAcknowledged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t, func(n int) int {
		switch n {
		case 1:
			return 500
		case 2:
			return 0
		default:
			return 204
		}
	})
	st := tempStore(t)
	hook, tried := attempts()
	var logs syncBuffer
	cfg := fastConfig(st, hook)
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bus := newBus(t, cfg)
	const pathToken = "path-token-7f3a"
	sec := secret("a")
	require.NoError(t, bus.AddWebhook(ctx, events.Webhook{ID: "wh-a", URL: rcv.URL + "/hooks/" + pathToken, Secret: sec}))
	stop := run(t, bus)

	e := event("req-1:approved", "request.approved")
	enqueue(t, st, bus, e)

	a := next(t, tried)
	assert.False(t, a.Delivered)
	assert.Equal(t, 500, a.Status)
	assert.Equal(t, 1, a.Delivery.Attempts)
	assert.Equal(t, "HTTP 500", a.Delivery.LastError)
	assert.False(t, a.Delivery.Dead)
	assert.False(t, a.Delivery.NextAttempt.IsZero())

	a = next(t, tried)
	assert.False(t, a.Delivered)
	assert.Equal(t, 0, a.Status)
	assert.Equal(t, 2, a.Delivery.Attempts)
	assert.NotEmpty(t, a.Delivery.LastError)

	a = next(t, tried)
	require.True(t, a.Delivered)
	assert.Equal(t, 204, a.Status)
	assert.Equal(t, "wh-a", a.Delivery.Webhook)
	assert.Equal(t, e.ID, a.Delivery.Event.ID)

	pending, err := bus.Pending(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending, "an acknowledged delivery leaves the outbox")
	stop()

	reqs := rcv.requests()
	require.Len(t, reqs, 3, "nothing is left to deliver, so no request can follow")
	acked := rcv.acknowledged()
	require.Len(t, acked, 1)
	got := acked[0]
	for _, r := range reqs {
		assert.Equal(t, e.ID, r.header.Get("Cairn-Event-Id"))
		assert.Equal(t, "request.approved", r.header.Get("Cairn-Event-Type"))
		assert.Equal(t, "application/json", r.header.Get("Content-Type"))
		assert.Equal(t, got.body, r.body, "every attempt sends the same body")
	}

	sig := got.header.Get(events.SignatureHeader)
	require.NoError(t, events.Verify(sec, sig, got.body, time.Now(), time.Minute))
	assert.ErrorIs(t, events.Verify(secret("b"), sig, got.body, time.Now(), time.Minute), events.ErrSignature)

	want, err := json.Marshal(e)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got.body))
	var decoded events.Event
	require.NoError(t, json.Unmarshal(got.body, &decoded))
	assert.Equal(t, e.ID, decoded.ID)
	assert.Equal(t, e.Type, decoded.Type)
	assert.Equal(t, e.Subject, decoded.Subject)
	assert.True(t, e.Time.Equal(decoded.Time))
	assert.JSONEq(t, string(e.Data), string(decoded.Data))

	out := logs.String()
	assert.Contains(t, out, "will retry", "failures are logged")
	assert.Contains(t, out, "wh-a")
	for _, q := range reqs {
		sigHex := q.header.Get(events.SignatureHeader)
		_, v1, _ := strings.Cut(sigHex, "v1=")
		assert.NotContains(t, out, v1, "a signature reached the log")
	}
	assert.NotContains(t, out, string(sec), "the secret reached the log")
	assert.NotContains(t, out, pathToken, "the URL reached the log")
	assert.NotContains(t, out, `"amount"`, "the body reached the log")
}

// A delivery that is failing when Run stops is still in the store, with its
// attempts and schedule, and a new Bus over the reopened file delivers it
// once, when it falls due.
func TestDeliveryPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var up atomic.Bool
	rcv := newReceiver(t, func(int) int {
		if up.Load() {
			return 200
		}
		return 503
	})
	path := filepath.Join(t.TempDir(), "events.db")
	sec := secret("restart")

	// The first Bus waits an hour after a failure, so when it stops no
	// attempt is in flight (an abandoned one could still reach the receiver
	// and count as a delivery: at least once, not exactly once).
	st1 := openStore(t, path)
	hook1, tried1 := attempts()
	cfg1 := fastConfig(st1, hook1)
	cfg1.MinBackoff, cfg1.MaxBackoff = time.Hour, time.Hour
	bus1 := newBus(t, cfg1)
	require.NoError(t, bus1.AddWebhook(ctx, events.Webhook{ID: "wh", URL: rcv.URL, Secret: sec}))
	stop1 := run(t, bus1)
	e := event("req-9:broadcasted", "request.broadcasted")
	enqueue(t, st1, bus1, e)
	a := next(t, tried1)
	require.False(t, a.Delivered)
	assert.Equal(t, 503, a.Status)
	stop1()
	require.NoError(t, st1.Close())
	require.Len(t, rcv.requests(), 1)

	// The second Bus runs two hours later.
	st2 := openStore(t, path)
	hook2, tried2 := attempts()
	clock := &offsetClock{}
	cfg2 := fastConfig(st2, hook2)
	cfg2.Clock = clock.now
	bus2 := newBus(t, cfg2)
	pending, err := bus2.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	d := pending[0]
	assert.Equal(t, e.ID, d.Event.ID)
	assert.Equal(t, "wh", d.Webhook)
	assert.Equal(t, 1, d.Attempts, "the attempt count is persisted")
	assert.Equal(t, "HTTP 503", d.LastError)
	assert.False(t, d.Dead)
	assert.GreaterOrEqual(t, d.NextAttempt.Sub(d.Enqueued), 30*time.Minute, "the schedule is persisted")

	up.Store(true)
	clock.advance(2 * time.Hour)
	stop2 := run(t, bus2)
	a = next(t, tried2)
	require.True(t, a.Delivered)
	assert.Equal(t, e.ID, a.Delivery.Event.ID)
	pending, err = bus2.Pending(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)
	stop2()

	require.Len(t, rcv.requests(), 2)
	acked := rcv.acknowledged()
	require.Len(t, acked, 1, "delivered exactly once")
	assert.NoError(t, events.Verify(sec, acked[0].header.Get(events.SignatureHeader), acked[0].body, clock.now(), 0))
	assert.Equal(t, e.ID, acked[0].header.Get("Cairn-Event-Id"))
}

// An Enqueue whose transaction fails leaves nothing: no delivery, and no
// sequence number used up.
func TestEnqueueInFailedTransactionWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t, nil)
	st := tempStore(t)
	hook, tried := attempts()
	bus := newBus(t, fastConfig(st, hook))
	require.NoError(t, bus.AddWebhook(ctx, events.Webhook{ID: "wh", URL: rcv.URL, Secret: secret("x")}))

	boom := errors.New("the state change failed")
	lost := event("req-1:approved", "request.approved")
	err := st.Update(ctx, func(tx store.Tx) error {
		require.NoError(t, bus.Enqueue(ctx, tx, lost))
		return boom
	})
	require.ErrorIs(t, err, boom)
	pending, err := bus.Pending(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)

	kept := event("req-2:approved", "request.approved")
	enqueue(t, st, bus, kept)
	pending, err = bus.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, uint64(1), pending[0].Seq, "the failed transaction used no sequence number")

	stop := run(t, bus)
	a := next(t, tried)
	require.True(t, a.Delivered)
	stop()
	reqs := rcv.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, kept.ID, reqs[0].header.Get("Cairn-Event-Id"), "only the committed event is sent")
}

func TestEnqueueRefusesBadEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := tempStore(t)
	bus := newBus(t, events.Config{Store: st})
	require.NoError(t, bus.AddWebhook(ctx, events.Webhook{ID: "wh", URL: "https://example.com/h", Secret: secret("x")}))
	big := `"` + strings.Repeat("a", events.MaxEventSize) + `"`
	for name, e := range map[string]events.Event{
		"no id":          {Type: "request.approved"},
		"no type":        {ID: "x"},
		"type with tab":  {ID: "x", Type: "request\tapproved"},
		"data not JSON":  {ID: "x", Type: "t", Data: json.RawMessage(`{"a":`)},
		"too large":      {ID: "x", Type: "t", Data: json.RawMessage(big)},
		"time too large": {ID: "x", Type: "t", Time: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		err := st.Update(ctx, func(tx store.Tx) error { return bus.Enqueue(ctx, tx, e) })
		assert.ErrorIs(t, err, events.ErrInvalid, name)
	}
	pending, err := bus.Pending(ctx)
	require.NoError(t, err)
	assert.Empty(t, pending)
}

// Each webhook gets its own delivery, signed with its own secret, of the
// event types it asked for only.
func TestTypesFilterAndSeveralWebhooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	approvals, all, wallets := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	st := tempStore(t)
	hook, tried := attempts()
	bus := newBus(t, fastConfig(st, hook))
	require.NoError(t, bus.AddWebhook(ctx, events.Webhook{ID: "approvals", URL: approvals.URL, Secret: secret("approvals"), Types: []string{"request.approved", "request.rejected"}}))
	require.NoError(t, bus.AddWebhook(ctx, events.Webhook{ID: "all", URL: all.URL, Secret: secret("all")}))
	require.NoError(t, bus.AddWebhook(ctx, events.Webhook{ID: "wallets", URL: wallets.URL, Secret: secret("wallets"), Types: []string{"wallet.created"}}))

	e := event("req-3:approved", "request.approved")
	enqueue(t, st, bus, e)
	pending, err := bus.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 2)
	assert.Equal(t, "all", pending[0].Webhook)
	assert.Equal(t, "approvals", pending[1].Webhook)
	assert.Equal(t, pending[0].Seq, pending[1].Seq, "one event, one sequence number")

	stop := run(t, bus)
	got := map[string]bool{}
	for range 2 {
		a := next(t, tried)
		require.True(t, a.Delivered)
		got[a.Delivery.Webhook] = true
	}
	assert.Equal(t, map[string]bool{"approvals": true, "all": true}, got)
	stop()

	for _, c := range []struct {
		rcv         *receiver
		own, others []byte
	}{
		{approvals, secret("approvals"), secret("all")},
		{all, secret("all"), secret("approvals")},
	} {
		reqs := c.rcv.requests()
		require.Len(t, reqs, 1)
		sig := reqs[0].header.Get(events.SignatureHeader)
		assert.NoError(t, events.Verify(c.own, sig, reqs[0].body, time.Now(), 0))
		assert.ErrorIs(t, events.Verify(c.others, sig, reqs[0].body, time.Now(), 0), events.ErrSignature)
	}
	assert.Empty(t, wallets.requests(), "wallets asked for wallet.created only")
}

// offsetClock is the real time plus an offset the test moves forward.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) now() time.Time                  { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) advance(d time.Duration)         { c.offset.Add(int64(d)) }
func (c *offsetClock) since(t time.Time) time.Duration { return c.now().Sub(t) }

// A delivery still failing MaxAge after it was enqueued is dead-lettered,
// kept and listed, and no longer holds back the webhook's later events.
func TestDeadLetterAfterMaxAge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var up atomic.Bool
	rcv := newReceiver(t, func(int) int {
		if up.Load() {
			return 200
		}
		return 500
	})
	st := tempStore(t)
	clock := &offsetClock{}
	hook, tried := attempts()
	cfg := fastConfig(st, hook)
	cfg.Clock = clock.now
	cfg.MaxAge = time.Hour
	bus := newBus(t, cfg)
	require.NoError(t, bus.AddWebhook(ctx, events.Webhook{ID: "wh", URL: rcv.URL, Secret: secret("x")}))
	run(t, bus)

	doomed := event("req-4:failed", "request.failed")
	enqueue(t, st, bus, doomed)
	a := next(t, tried)
	require.False(t, a.Delivered)
	require.False(t, a.Delivery.Dead, "retried while younger than MaxAge")
	clock.advance(2 * time.Hour)
	for !a.Delivery.Dead {
		a = next(t, tried)
		require.False(t, a.Delivered)
	}
	assert.Equal(t, doomed.ID, a.Delivery.Event.ID)
	assert.True(t, a.Delivery.NextAttempt.IsZero())

	pending, err := bus.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	d := pending[0]
	assert.True(t, d.Dead)
	assert.Equal(t, doomed.ID, d.Event.ID)
	assert.GreaterOrEqual(t, d.Attempts, 2)
	assert.Equal(t, "HTTP 500", d.LastError)
	assert.GreaterOrEqual(t, clock.since(d.Enqueued), time.Hour)

	up.Store(true)
	later := event("req-5:confirmed", "request.confirmed")
	enqueue(t, st, bus, later)
	a = next(t, tried)
	require.True(t, a.Delivered)
	assert.Equal(t, later.ID, a.Delivery.Event.ID)
	pending, err = bus.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1, "the dead letter stays")
	assert.True(t, pending[0].Dead)
}

// Deliveries to one webhook are made in event order, even across a failure.
func TestDeliveriesInEventOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t, func(n int) int {
		if n == 1 {
			return 500
		}
		return 200
	})
	st := tempStore(t)
	hook, tried := attempts()
	bus := newBus(t, fastConfig(st, hook))
	require.NoError(t, bus.AddWebhook(ctx, events.Webhook{ID: "wh", URL: rcv.URL, Secret: secret("x")}))
	ids := []string{"req-6:pending", "req-6:approved", "req-6:broadcasted", "req-6:confirmed"}
	for _, id := range ids {
		enqueue(t, st, bus, event(id, "request."+strings.SplitN(id, ":", 2)[1]))
	}
	stop := run(t, bus)
	for delivered := 0; delivered < len(ids); {
		if next(t, tried).Delivered {
			delivered++
		}
	}
	stop()
	var order []string
	for _, r := range rcv.requests() {
		order = append(order, r.header.Get("Cairn-Event-Id"))
	}
	assert.Equal(t, append([]string{ids[0]}, ids...), order, "the failed first event is retried before the others are sent")
}

func TestRemoveWebhookDropsItsDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := tempStore(t)
	bus := newBus(t, events.Config{Store: st})
	require.NoError(t, bus.AddWebhook(ctx, events.Webhook{ID: "a", URL: "https://a.example/h", Secret: secret("a")}))
	require.NoError(t, bus.AddWebhook(ctx, events.Webhook{ID: "b", URL: "https://b.example/h", Secret: secret("b")}))
	enqueue(t, st, bus, event("e1", "wallet.created"))

	require.NoError(t, bus.RemoveWebhook(ctx, "a"))
	assert.ErrorIs(t, bus.RemoveWebhook(ctx, "a"), events.ErrNotFound)
	assert.ErrorIs(t, bus.RemoveWebhook(ctx, "nobody"), events.ErrNotFound)
	hooks, err := bus.Webhooks(ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	assert.Equal(t, "b", hooks[0].ID)
	pending, err := bus.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, "b", pending[0].Webhook)
}

func TestRunOnlyOnce(t *testing.T) {
	t.Parallel()
	bus := newBus(t, events.Config{Store: tempStore(t)})
	// Of two Runs on one Bus, one serves until ctx ends and the other is
	// refused at once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 2)
	for range 2 {
		go func() { errc <- bus.Run(ctx) }()
	}
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, events.ErrRunning)
	case <-time.After(deadline):
		t.Fatal("neither Run was refused")
	}
	cancel()
	select {
	case err := <-errc:
		assert.NoError(t, err)
	case <-time.After(deadline):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestRunStopsWhenStoreCloses(t *testing.T) {
	t.Parallel()
	st := tempStore(t)
	bus := newBus(t, events.Config{Store: st})
	require.NoError(t, st.Close())
	err := bus.Run(context.Background())
	assert.ErrorIs(t, err, store.ErrClosed)
}
