package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/custody/events"
)

func TestAddWebhookRefusesBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bus := newBus(t, events.Config{Store: tempStore(t)})
	original := events.Webhook{ID: "ops", URL: "https://hooks.example.com/cairn", Secret: secret("ops"), Types: []string{"request.pending"}}
	require.NoError(t, bus.AddWebhook(ctx, original))

	ok := func(mod func(*events.Webhook)) events.Webhook {
		w := events.Webhook{ID: "new", URL: "https://example.com/h", Secret: secret("new")}
		mod(&w)
		return w
	}
	for _, c := range []struct {
		name string
		w    events.Webhook
	}{
		{"empty id", ok(func(w *events.Webhook) { w.ID = "" })},
		{"id with space", ok(func(w *events.Webhook) { w.ID = "a b" })},
		{"id with NUL", ok(func(w *events.Webhook) { w.ID = "a\x00b" })},
		{"id with slash", ok(func(w *events.Webhook) { w.ID = "a/b" })},
		{"id too long", ok(func(w *events.Webhook) { w.ID = strings.Repeat("a", 129) })},
		{"empty URL", ok(func(w *events.Webhook) { w.URL = "" })},
		{"relative URL", ok(func(w *events.Webhook) { w.URL = "/hooks" })},
		{"not a URL", ok(func(w *events.Webhook) { w.URL = "not a url" })},
		{"ftp URL", ok(func(w *events.Webhook) { w.URL = "ftp://example.com/h" })},
		{"file URL", ok(func(w *events.Webhook) { w.URL = "file:///etc/passwd" })},
		{"no host", ok(func(w *events.Webhook) { w.URL = "https:///h" })},
		{"port only", ok(func(w *events.Webhook) { w.URL = "http://:8080/h" })},
		{"unparsable", ok(func(w *events.Webhook) { w.URL = "http://[::1/h" })},
		{"fragment", ok(func(w *events.Webhook) { w.URL = "https://example.com/h#x" })},
		{"URL too long", ok(func(w *events.Webhook) { w.URL = "https://example.com/" + strings.Repeat("a", 3000) })},
		{"no secret", ok(func(w *events.Webhook) { w.Secret = nil })},
		{"15-byte secret", ok(func(w *events.Webhook) { w.Secret = []byte("0123456789abcde") })},
		{"huge secret", ok(func(w *events.Webhook) { w.Secret = make([]byte, 2000) })},
		{"empty type", ok(func(w *events.Webhook) { w.Types = []string{"request.pending", ""} })},
		{"type with space", ok(func(w *events.Webhook) { w.Types = []string{"request pending"} })},
		{"duplicate id", ok(func(w *events.Webhook) { w.ID = "ops" })},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := bus.AddWebhook(ctx, c.w)
			require.Error(t, err)
			assert.ErrorIs(t, err, events.ErrInvalid)
			if c.name == "duplicate id" {
				assert.ErrorIs(t, err, events.ErrExists)
			}
			if len(c.w.Secret) > 0 {
				assert.NotContains(t, err.Error(), string(c.w.Secret))
			}
		})
	}

	hooks, err := bus.Webhooks(ctx)
	require.NoError(t, err)
	require.Len(t, hooks, 1, "nothing was stored")
	assert.Equal(t, original.ID, hooks[0].ID)
	assert.Equal(t, original.URL, hooks[0].URL, "the duplicate did not overwrite the original")
	assert.Equal(t, original.Types, hooks[0].Types)
	assert.Nil(t, hooks[0].Secret, "Webhooks redacts secrets")

	// The 16-byte minimum is allowed.
	require.NoError(t, bus.AddWebhook(ctx, ok(func(w *events.Webhook) { w.Secret = []byte("0123456789abcdef") })))
}

func TestWebhookNeverPrintsItsSecret(t *testing.T) {
	t.Parallel()
	w := events.Webhook{ID: "ops", URL: "https://example.com/h", Secret: []byte("super-secret-value-123")}
	var logs syncBuffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("hook", "w", w)
	for _, s := range []string{fmt.Sprint(w), fmt.Sprintf("%v %+v %#v %s", w, w, w, w), logs.String()} {
		assert.NotContains(t, s, "super-secret")
		assert.NotContains(t, s, "73757065722d736563726574") // hex of it
		assert.Contains(t, s, "ops")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	st := tempStore(t)
	for name, cfg := range map[string]events.Config{
		"no store":              {},
		"max below min backoff": {Store: st, MinBackoff: time.Minute, MaxBackoff: time.Second},
		"negative backoff":      {Store: st, MinBackoff: -time.Second},
		"negative max age":      {Store: st, MaxAge: -time.Hour},
	} {
		_, err := events.New(cfg)
		assert.ErrorIs(t, err, events.ErrInvalid, name)
	}
	_, err := events.New(events.Config{Store: st, MinBackoff: 10 * time.Minute})
	assert.NoError(t, err, "a MinBackoff above the default MaxBackoff raises the default")
}

func TestSubscribers(t *testing.T) {
	t.Parallel()
	bus := newBus(t, events.Config{Store: tempStore(t)})
	fast, unsubFast := bus.Subscribe(100)
	slow, unsubSlow := bus.Subscribe(1)
	const n = 50

	// Publish must return although slow is never read.
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range n {
			bus.Publish(events.Event{ID: fmt.Sprint(i), Type: "wallet.created"})
		}
	}()
	select {
	case <-published:
	case <-time.After(deadline):
		t.Fatal("Publish blocked on a slow subscriber")
	}

	for i := range n {
		select {
		case e := <-fast:
			assert.Equal(t, fmt.Sprint(i), e.ID, "in publish order")
		case <-time.After(deadline):
			t.Fatalf("fast subscriber got %d of %d events", i, n)
		}
	}
	assert.Equal(t, uint64(n-1), bus.Dropped(), "the slow subscriber's misses are counted")

	unsubSlow()
	unsubSlow() // idempotent
	e, open := <-slow
	require.True(t, open)
	assert.Equal(t, "0", e.ID, "the slow subscriber kept the first event")
	_, open = <-slow
	assert.False(t, open, "unsubscribing closes the channel")

	bus.Publish(events.Event{ID: "after", Type: "wallet.created"}) // no panic on the closed channel
	assert.Equal(t, "after", (<-fast).ID)
	unsubFast()
	_, open = <-fast
	assert.False(t, open)
	assert.Equal(t, uint64(n-1), bus.Dropped())
}
