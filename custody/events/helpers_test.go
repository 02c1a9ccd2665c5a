package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cairn-mpc/cairn/custody/events"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// deadline bounds every wait; nothing in these tests should come near it.
const deadline = 20 * time.Second

func openStore(t *testing.T, path string) *bolt.DB {
	t.Helper()
	st, err := bolt.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func tempStore(t *testing.T) *bolt.DB {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "events.db"))
}

// attempts returns a Config.Attempted hook and the channel it reports to.
func attempts() (func(events.Attempt), <-chan events.Attempt) {
	ch := make(chan events.Attempt, 1000)
	return func(a events.Attempt) { ch <- a }, ch
}

// fastConfig retries within milliseconds.
func fastConfig(st store.Store, hook func(events.Attempt)) events.Config {
	return events.Config{Store: st, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Attempted: hook}
}

func newBus(t *testing.T, cfg events.Config) *events.Bus {
	t.Helper()
	b, err := events.New(cfg)
	require.NoError(t, err)
	return b
}

// run starts b.Run and returns a function that stops it and waits for it
// (also called at cleanup).
func run(t *testing.T, b *events.Bus) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				assert.NoError(t, err)
			case <-time.After(deadline):
				t.Error("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func next(t *testing.T, ch <-chan events.Attempt) events.Attempt {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(deadline):
		t.Fatal("no delivery attempt before the deadline")
		return events.Attempt{}
	}
}

// enqueue commits e in a transaction of its own, then publishes it, as
// custody does.
func enqueue(t *testing.T, st store.Store, b *events.Bus, e events.Event) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, st.Update(ctx, func(tx store.Tx) error { return b.Enqueue(ctx, tx, e) }))
	b.Publish(e)
}

func event(id, typ string) events.Event {
	return events.Event{
		ID:      id,
		Type:    typ,
		Time:    time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC),
		Subject: "req-1",
		Data:    json.RawMessage(`{"amount": "1.5", "asset": "ETH"}`),
	}
}

func secret(s string) []byte { return []byte("0123456789abcdef-" + s) }

// received is one request that reached a receiver.
type received struct {
	header http.Header
	body   []byte
	status int // 0: connection dropped
}

// receiver is a webhook endpoint whose answers a test scripts: respond is
// given the 1-based number of the request and returns the status to answer,
// or 0 to drop the connection without answering.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []received
	respond func(n int) int
}

func newReceiver(t *testing.T, respond func(n int) int) *receiver {
	t.Helper()
	r := &receiver{respond: respond}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := 200
		if r.respond != nil {
			status = r.respond(len(r.reqs) + 1)
		}
		r.reqs = append(r.reqs, received{header: req.Header.Clone(), body: body, status: status})
		r.mu.Unlock()
		if status == 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

func (r *receiver) acknowledged() []received {
	var out []received
	for _, q := range r.requests() {
		if q.status/100 == 2 {
			out = append(out, q)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
