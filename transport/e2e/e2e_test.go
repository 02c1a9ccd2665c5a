package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
	"github.com/cairn-mpc/cairn/transport/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rejections collects what a node refused.
type rejections struct {
	mu   sync.Mutex
	errs []*e2e.FrameError
	ch   chan *e2e.FrameError
}

func (r *rejections) add(e *e2e.FrameError) {
	r.mu.Lock()
	r.errs = append(r.errs, e)
	r.mu.Unlock()
	select {
	case r.ch <- e:
	default:
	}
}

// cluster is n nodes on one memory network, each wrapped.
type cluster struct {
	net  *memory.Network
	ids  map[transport.NodeID]e2e.Identity
	dir  map[transport.NodeID]e2e.Peer
	node map[transport.NodeID]*e2e.Transport
	rej  map[transport.NodeID]*rejections
}

func newCluster(t testing.TB, kem e2e.KEM, names ...transport.NodeID) *cluster {
	t.Helper()
	c := &cluster{
		net: memory.NewNetwork(), ids: map[transport.NodeID]e2e.Identity{}, dir: map[transport.NodeID]e2e.Peer{},
		node: map[transport.NodeID]*e2e.Transport{}, rej: map[transport.NodeID]*rejections{},
	}
	t.Cleanup(func() { c.net.Close() })
	for _, n := range names {
		id, err := e2e.GenerateIdentity(kem)
		require.NoError(t, err)
		c.ids[n], c.dir[n] = id, id.Public()
	}
	for _, n := range names {
		c.node[n] = c.wrap(t, n, nil)
	}
	return c
}

func (c *cluster) wrap(t testing.TB, n transport.NodeID, edit func(*e2e.Config)) *e2e.Transport {
	t.Helper()
	r := &rejections{ch: make(chan *e2e.FrameError, 64)}
	c.rej[n] = r
	cfg := e2e.Config{Identity: c.ids[n], Peers: c.dir, Rejected: r.add}
	if edit != nil {
		edit(&cfg)
	}
	tr, err := e2e.Wrap(c.net.Endpoint(n), cfg)
	require.NoError(t, err)
	return tr
}

// refusal waits for node n's next refusal.
func (c *cluster) refusal(t testing.TB, n transport.NodeID) *e2e.FrameError {
	t.Helper()
	// Receive drives the checks; run it until the refusal shows.
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.node[n].Receive(ctx)
	}()
	select {
	case e := <-c.rej[n].ch:
		cancel()
		<-done
		return e
	case <-ctx.Done():
		<-done
		t.Fatal("no refusal")
		return nil
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, kem := range []e2e.KEM{e2e.X25519, e2e.MLKEM768X25519} {
		t.Run(kem.String(), func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, kem, "a", "b")
			ctx := testCtx(t)
			for i := range 5 {
				msg := fmt.Appendf(nil, "hello %d", i)
				require.NoError(t, c.node["a"].Send(ctx, "b", msg))
				f, err := c.node["b"].Receive(ctx)
				require.NoError(t, err)
				assert.Equal(t, transport.Frame{From: "a", To: "b", Payload: msg}, f)
			}
			require.NoError(t, c.node["b"].Send(ctx, "a", nil))
			f, err := c.node["a"].Receive(ctx)
			require.NoError(t, err)
			assert.Equal(t, transport.Frame{From: "b", To: "a", Payload: []byte{}}, f)
		})
	}
}

func TestMixedKEMs(t *testing.T) {
	t.Parallel()
	c := newCluster(t, e2e.X25519, "a")
	pq, err := e2e.GenerateIdentity(e2e.MLKEM768X25519)
	require.NoError(t, err)
	c.ids["b"], c.dir["b"] = pq, pq.Public()
	c.node["a"] = c.wrap(t, "a", nil)
	c.node["b"] = c.wrap(t, "b", nil)
	ctx := testCtx(t)
	require.NoError(t, c.node["a"].Send(ctx, "b", []byte("to pq")))
	require.NoError(t, c.node["b"].Send(ctx, "a", []byte("to classic")))
	f, err := c.node["b"].Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "to pq", string(f.Payload))
	f, err = c.node["a"].Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "to classic", string(f.Payload))
}

func TestNoPlaintextOnTheCarrier(t *testing.T) {
	t.Parallel()
	c := newCluster(t, e2e.X25519, "a", "b")
	secret := []byte("share=0x5ecret5ecret5ecret")
	frame, err := c.node["a"].Seal("b", secret)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(frame, secret))
	assert.False(t, bytes.Contains(frame, secret[6:14]))
}

func TestWrapChecksConfig(t *testing.T) {
	t.Parallel()
	net := memory.NewNetwork()
	defer net.Close()
	good, err := e2e.GenerateIdentity(e2e.X25519)
	require.NoError(t, err)
	other, err := e2e.GenerateIdentity(e2e.X25519)
	require.NoError(t, err)
	cases := map[string]e2e.Config{
		"no signing key":      {Identity: e2e.Identity{KEM: good.KEM}},
		"no KEM key":          {Identity: e2e.Identity{Signing: good.Signing}},
		"peer without keys":   {Identity: good, Peers: map[transport.NodeID]e2e.Peer{"b": {}}},
		"self with wrong key": {Identity: good, Peers: map[transport.NodeID]e2e.Peer{"a": other.Public()}},
		"empty peer id":       {Identity: good, Peers: map[transport.NodeID]e2e.Peer{"": other.Public()}},
	}
	for name, cfg := range cases {
		_, err := e2e.Wrap(net.Endpoint("a"), cfg)
		assert.Error(t, err, name)
	}
	_, err = e2e.Wrap(net.Endpoint("a"), e2e.Config{Identity: good, Peers: map[transport.NodeID]e2e.Peer{"a": good.Public(), "b": other.Public()}})
	assert.NoError(t, err)
}

func TestSendRefusals(t *testing.T) {
	t.Parallel()
	c := newCluster(t, e2e.X25519, "a", "b")
	ctx := testCtx(t)
	assert.ErrorIs(t, c.node["a"].Send(ctx, "stranger", []byte("x")), transport.ErrUnknownNode)
	assert.ErrorIs(t, c.node["a"].Send(ctx, "a", []byte("x")), transport.ErrUnknownNode)
	limit := wire.MaxSize - e2e.Overhead(e2e.X25519, "a", "b")
	assert.ErrorIs(t, c.node["a"].Send(ctx, "b", make([]byte, limit+1)), transport.ErrFrameTooLarge)
}

func TestOverheadBound(t *testing.T) {
	t.Parallel()
	for _, kem := range []e2e.KEM{e2e.X25519, e2e.MLKEM768X25519} {
		c := newCluster(t, kem, "a", "node-with-a-longer-name")
		over := e2e.Overhead(kem, "a", "node-with-a-longer-name")
		for _, n := range []int{0, 1, 23, 24, 255, 256, 65535, 65536, wire.MaxSize - over} {
			f, err := c.node["a"].Seal("node-with-a-longer-name", make([]byte, n))
			require.NoError(t, err, "%v, %d bytes", kem, n)
			assert.LessOrEqual(t, len(f)-n, over, "%v, %d bytes", kem, n)
			assert.GreaterOrEqual(t, len(f)-n, over-40, "the bound is tight (%v, %d bytes)", kem, n)
		}
	}
}

// TestRefusals feeds one receiver frames that break each check in turn and
// wants each refused with its sentinel and the claimed sender named.
func TestRefusals(t *testing.T) {
	t.Parallel()
	stranger, err := e2e.GenerateIdentity(e2e.X25519)
	require.NoError(t, err)

	cases := []struct {
		name     string
		frame    func(t *testing.T, c *cluster) transport.Frame
		sentinel error
		from     transport.NodeID
	}{
		{"garbage", func(t *testing.T, c *cluster) transport.Frame {
			return transport.Frame{From: "a", To: "b", Payload: []byte("\x01garbage")}
		}, e2e.ErrMalformed, "a"},
		{"tampered payload", func(t *testing.T, c *cluster) transport.Frame {
			f := seal(t, c, "a", "b", "pay bob")
			f.Payload[len(f.Payload)-sigLen-3] ^= 0x40
			return f
		}, e2e.ErrTampered, "a"},
		{"tampered signature", func(t *testing.T, c *cluster) transport.Frame {
			f := seal(t, c, "a", "b", "pay bob")
			f.Payload[len(f.Payload)-1] ^= 1
			return f
		}, e2e.ErrTampered, "a"},
		{"unknown sender", func(t *testing.T, c *cluster) transport.Frame {
			sc := newCluster(t, e2e.X25519, "x", "b")
			sc.ids["x"], sc.dir["x"] = stranger, stranger.Public()
			sc.dir["b"] = c.dir["b"]
			sc.node["x"] = sc.wrap(t, "x", nil)
			f, err := sc.node["x"].Seal("b", []byte("hi"))
			require.NoError(t, err)
			return transport.Frame{To: "b", Payload: f}
		}, e2e.ErrUnknownSender, "x"},
		{"misdirected (sealed to c, delivered to b)", func(t *testing.T, c *cluster) transport.Frame {
			f := seal(t, c, "a", "c", "for c")
			return transport.Frame{From: "a", To: "b", Payload: f.Payload}
		}, e2e.ErrReflected, "a"},
		{"reflected (b's own frame back to b)", func(t *testing.T, c *cluster) transport.Frame {
			f := seal(t, c, "b", "a", "b to a")
			return transport.Frame{From: "a", To: "b", Payload: f.Payload}
		}, e2e.ErrReflected, "b"},
		{"carrier sender mismatch", func(t *testing.T, c *cluster) transport.Frame {
			f := seal(t, c, "a", "b", "hi")
			f.From = "c"
			return f
		}, e2e.ErrSenderMismatch, "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, e2e.X25519, "a", "b", "c")
			_, ferr := c.node["b"].Open(tc.frame(t, c))
			require.NotNil(t, ferr)
			assert.ErrorIs(t, ferr, tc.sentinel)
			assert.Equal(t, tc.from, ferr.From)
			assert.Contains(t, ferr.Error(), string(tc.from))
		})
	}
}

const sigLen = 64

func seal(t *testing.T, c *cluster, from, to transport.NodeID, msg string) transport.Frame {
	t.Helper()
	f, err := c.node[from].Seal(to, []byte(msg))
	require.NoError(t, err)
	return transport.Frame{From: from, To: to, Payload: f}
}

func TestReplayRefused(t *testing.T) {
	t.Parallel()
	c := newCluster(t, e2e.X25519, "a", "b")
	f := seal(t, c, "a", "b", "once")
	got, ferr := c.node["b"].Open(f)
	require.Nil(t, ferr)
	assert.Equal(t, "once", string(got.Payload))
	_, ferr = c.node["b"].Open(f)
	require.NotNil(t, ferr)
	assert.ErrorIs(t, ferr, e2e.ErrReplayed)
	assert.Equal(t, transport.NodeID("a"), ferr.From)

	// Through the carrier: the duplicate is refused and Receive moves on.
	ctx := testCtx(t)
	require.NoError(t, c.net.SetFaults(memory.Link{From: "a", To: "b"}, memory.Faults{Duplicate: 1}))
	require.NoError(t, c.node["a"].Send(ctx, "b", []byte("dup")))
	c.net.RemoveFaults(memory.Link{From: "a", To: "b"})
	require.NoError(t, c.node["a"].Send(ctx, "b", []byte("next")))
	for _, want := range []string{"dup", "next"} {
		got, err := c.node["b"].Receive(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(got.Payload))
	}
	c.rej["b"].mu.Lock()
	defer c.rej["b"].mu.Unlock()
	require.Len(t, c.rej["b"].errs, 1)
	assert.ErrorIs(t, c.rej["b"].errs[0], e2e.ErrReplayed)
}

// TestReorderWindow delivers one epoch's frames out of order: each is
// accepted once, and frames more than the window behind are refused.
func TestReorderWindow(t *testing.T) {
	t.Parallel()
	c := newCluster(t, e2e.X25519, "a", "b")
	var frames []transport.Frame
	for i := range 600 {
		frames = append(frames, seal(t, c, "a", "b", fmt.Sprint(i)))
	}
	open := func(i int) *e2e.FrameError { _, e := c.node["b"].Open(frames[i]); return e }
	require.Nil(t, open(10))
	require.Nil(t, open(3))
	assert.ErrorIs(t, open(3), e2e.ErrReplayed)
	require.Nil(t, open(500))
	assert.ErrorIs(t, open(200), e2e.ErrReplayed, "256 or more behind")
	require.Nil(t, open(300), "within the window")
	require.Nil(t, open(499))
	assert.ErrorIs(t, open(499), e2e.ErrReplayed)
	require.Nil(t, open(599))
	assert.ErrorIs(t, open(500), e2e.ErrReplayed)
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRekeyAndEpochs(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c := newCluster(t, e2e.X25519, "a", "b")
	c.node["a"] = c.wrap(t, "a", func(cfg *e2e.Config) { cfg.Now, cfg.RekeyAfter, cfg.RekeyInterval = clk.Now, 3, time.Minute })
	c.node["b"] = c.wrap(t, "b", func(cfg *e2e.Config) { cfg.Now = clk.Now })
	var frames []transport.Frame
	for i := range 7 { // epochs: 0 0 0 1 1 1 2
		frames = append(frames, seal(t, c, "a", "b", fmt.Sprint(i)))
	}
	open := func(f transport.Frame) *e2e.FrameError { _, e := c.node["b"].Open(f); return e }
	require.Nil(t, open(frames[0]))
	require.Nil(t, open(frames[3]), "next epoch")
	require.Nil(t, open(frames[1]), "previous epoch still open")
	require.Nil(t, open(frames[6]), "epoch 2")
	assert.ErrorIs(t, open(frames[2]), e2e.ErrReplayed, "epoch 0 superseded twice")
	require.Nil(t, open(frames[4]), "epoch 1 is the previous one")

	// After RekeyInterval the sender moves on by itself.
	clk.Add(2 * time.Minute)
	f := seal(t, c, "a", "b", "later")
	require.Nil(t, open(f))

	// A restarted sender (a new Transport, same keys) starts a later epoch.
	clk.Add(time.Second)
	c.node["a"] = c.wrap(t, "a", func(cfg *e2e.Config) { cfg.Now = clk.Now })
	require.Nil(t, open(seal(t, c, "a", "b", "after restart")))
}

func TestStaleFrames(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c := newCluster(t, e2e.X25519, "a", "b")
	c.node["a"] = c.wrap(t, "a", func(cfg *e2e.Config) { cfg.Now = clk.Now })
	c.node["b"] = c.wrap(t, "b", func(cfg *e2e.Config) { cfg.Now = clk.Now; cfg.MaxSkew = time.Minute })

	old := seal(t, c, "a", "b", "old")
	clk.Add(2 * time.Minute)
	_, ferr := c.node["b"].Open(old)
	require.NotNil(t, ferr)
	assert.ErrorIs(t, ferr, e2e.ErrStale)

	// A frame from before the receiver restarted is refused even within
	// the skew: its replay state is gone.
	inFlight := seal(t, c, "a", "b", "in flight")
	clk.Add(time.Second)
	c.node["b"] = c.wrap(t, "b", func(cfg *e2e.Config) { cfg.Now = clk.Now })
	_, ferr = c.node["b"].Open(inFlight)
	require.NotNil(t, ferr)
	assert.ErrorIs(t, ferr, e2e.ErrStale)
	_, ferr = c.node["b"].Open(seal(t, c, "a", "b", "fresh"))
	assert.Nil(t, ferr)

	// The sender's clock far ahead.
	clkA := &clock{now: clk.Now().Add(10 * time.Minute)}
	c.node["a"] = c.wrap(t, "a", func(cfg *e2e.Config) { cfg.Now = clkA.Now })
	_, ferr = c.node["b"].Open(seal(t, c, "a", "b", "future"))
	require.NotNil(t, ferr)
	assert.ErrorIs(t, ferr, e2e.ErrStale)
}

// TestCorruptionNeverAccepted sends many frames through a link that flips
// one random bit of most of them: every frame Receive returns is one that
// was sent, unaltered, and every corrupted one is refused.
func TestCorruptionNeverAccepted(t *testing.T) {
	t.Parallel()
	c := newCluster(t, e2e.X25519, "a", "b")
	require.NoError(t, c.net.SetFaults(memory.Link{From: "a", To: "b"}, memory.Faults{Corrupt: 0.8}))
	ctx := testCtx(t)
	const n = 300
	sent := map[string]bool{}
	for i := range n {
		m := fmt.Sprintf("frame %d", i)
		sent[m] = true
		require.NoError(t, c.node["a"].Send(ctx, "b", []byte(m)))
	}
	st := c.net.Stats(memory.Link{From: "a", To: "b"})
	got := 0
	for got < n-int(st.Corrupted) {
		f, err := c.node["b"].Receive(ctx)
		require.NoError(t, err)
		require.True(t, sent[string(f.Payload)], "unexpected payload %q", f.Payload)
		got++
	}
	c.rej["b"].mu.Lock()
	defer c.rej["b"].mu.Unlock()
	assert.Len(t, c.rej["b"].errs, int(st.Corrupted))
}

func TestConcurrentSendersAndReceivers(t *testing.T) {
	t.Parallel()
	names := []transport.NodeID{"a", "b", "c", "d"}
	c := newCluster(t, e2e.X25519, names...)
	ctx := testCtx(t)
	const per = 50
	var wg sync.WaitGroup
	for _, from := range names[1:] {
		for g := range 3 {
			wg.Go(func() {
				for i := range per {
					assert.NoError(t, c.node[from].Send(ctx, "a", fmt.Appendf(nil, "%s/%d/%d", from, g, i)))
				}
			})
		}
	}
	var mu sync.Mutex
	got := map[string]bool{}
	for range 4 {
		wg.Go(func() {
			for {
				mu.Lock()
				if len(got) == 3*3*per {
					mu.Unlock()
					return
				}
				mu.Unlock()
				rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				f, err := c.node["a"].Receive(rctx)
				cancel()
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					continue
				}
				mu.Lock()
				assert.False(t, got[string(f.Payload)], "delivered twice: %s", f.Payload)
				got[string(f.Payload)] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Len(t, got, 3*3*per)
	c.rej["a"].mu.Lock()
	defer c.rej["a"].mu.Unlock()
	assert.Empty(t, c.rej["a"].errs)
}

func TestRejectedLogsNoPayload(t *testing.T) {
	t.Parallel()
	c := newCluster(t, e2e.X25519, "a", "b")
	f := seal(t, c, "a", "b", "top secret share")
	f.Payload[len(f.Payload)-sigLen-3] ^= 1
	_, ferr := c.node["b"].Open(f)
	require.NotNil(t, ferr)
	assert.NotContains(t, ferr.Error(), "top secret")
	assert.True(t, errors.Is(ferr, e2e.ErrTampered))
}

func TestCloseClosesCarrier(t *testing.T) {
	t.Parallel()
	c := newCluster(t, e2e.X25519, "a", "b")
	done := make(chan error, 1)
	go func() { _, err := c.node["b"].Receive(context.Background()); done <- err }()
	require.NoError(t, c.node["b"].Close())
	assert.ErrorIs(t, <-done, transport.ErrClosed)
	assert.ErrorIs(t, c.node["b"].Send(testCtx(t), "a", nil), transport.ErrClosed)
	assert.Equal(t, transport.NodeID("b"), c.node["b"].Self())
	assert.True(t, slices.Contains(c.net.Nodes(), "b"))
}

func TestIdentityPrintsNoSecret(t *testing.T) {
	t.Parallel()
	for _, kem := range []e2e.KEM{e2e.X25519, e2e.MLKEM768X25519} {
		id, err := e2e.GenerateIdentity(kem)
		require.NoError(t, err)
		kemPriv, err := id.KEM.Bytes()
		require.NoError(t, err)
		cfg := e2e.Config{Identity: id}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg, "id", id)
		slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg, "id", id)
		out := fmt.Sprintf("%v %+v %#v %s %x %q", id, cfg, cfg, id, id, id) + id.String() + logged.String()
		for _, secret := range [][]byte{id.Signing.Seed(), kemPriv} {
			for _, enc := range []string{fmt.Sprint(secret), fmt.Sprintf("%x", secret), base64.StdEncoding.EncodeToString(secret)} {
				assert.NotContains(t, out, enc, "%v", kem)
			}
		}
		assert.Contains(t, out, "REDACTED")
	}
}
