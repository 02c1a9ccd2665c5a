package memory_test

import (
	"bytes"
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/memory"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testCtx bounds every blocking call in a test, so a bug fails the test
// instead of hanging it.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newNet(t *testing.T, opts ...memory.Option) *memory.Network {
	t.Helper()
	n := memory.NewNetwork(opts...)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	return n
}

func recv(t *testing.T, ep *memory.Endpoint) transport.Frame {
	t.Helper()
	f, err := ep.Receive(testCtx(t))
	require.NoError(t, err)
	return f
}

func payloads(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s-%02d", prefix, i)
	}
	return out
}

func sendAll(t *testing.T, from *memory.Endpoint, to transport.NodeID, ps [][]byte) {
	t.Helper()
	ctx := testCtx(t)
	for _, p := range ps {
		require.NoError(t, from.Send(ctx, to, p))
	}
}

func sorted(ps [][]byte) [][]byte {
	out := slices.Clone(ps)
	slices.SortFunc(out, bytes.Compare)
	return out
}

func TestDeliveryAndFrom(t *testing.T) {
	t.Parallel()
	n := newNet(t)
	a, b, c := n.Endpoint("a"), n.Endpoint("b"), n.Endpoint("c")
	ctx := testCtx(t)

	require.NoError(t, a.Send(ctx, "b", []byte("hello")))
	assert.Equal(t, transport.Frame{From: "a", To: "b", Payload: []byte("hello")}, recv(t, b))

	require.NoError(t, a.Send(ctx, "a", []byte("self")))
	assert.Equal(t, transport.Frame{From: "a", To: "a", Payload: []byte("self")}, recv(t, a))

	require.NoError(t, transport.Broadcast(ctx, c, []transport.NodeID{"a", "b", "c"}, []byte("all")))
	for _, ep := range []*memory.Endpoint{a, b} {
		assert.Equal(t, transport.Frame{From: "c", To: ep.Self(), Payload: []byte("all")}, recv(t, ep))
	}

	require.NoError(t, a.Send(ctx, "b", nil))
	f := recv(t, b)
	assert.Empty(t, f.Payload)
	assert.Equal(t, transport.NodeID("a"), f.From)

	assert.Same(t, a, n.Endpoint("a"), "same id, same endpoint")
	assert.Equal(t, []transport.NodeID{"a", "b", "c"}, n.Nodes())
	assert.Equal(t, memory.LinkStats{Sent: 2, Delivered: 2}, n.Stats(memory.Link{From: "a", To: "b"}))
	assert.Equal(t, memory.LinkStats{Sent: 5, Delivered: 5}, n.Stats(memory.Link{}))
}

func TestCopySemantics(t *testing.T) {
	t.Parallel()
	n := newNet(t)
	a, b, c := n.Endpoint("a"), n.Endpoint("b"), n.Endpoint("c")
	ctx := testCtx(t)

	buf := []byte("original")
	require.NoError(t, a.Send(ctx, "b", buf))
	require.NoError(t, a.Send(ctx, "c", buf))
	copy(buf, "MUTATED!")

	fb, fc := recv(t, b), recv(t, c)
	assert.Equal(t, []byte("original"), fb.Payload, "sender's later writes must not show")
	fb.Payload[0] = 'X'
	assert.Equal(t, []byte("original"), fc.Payload, "receivers must not share a buffer")
}

func TestEndpointPanicsOnWildcardID(t *testing.T) {
	t.Parallel()
	n := newNet(t)
	assert.Panics(t, func() { n.Endpoint(memory.Any) })
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		to      transport.NodeID
		size    int
		ctx     context.Context
		closeIt bool
		want    error
	}{
		{name: "at limit", to: "b", size: 64},
		{name: "unknown node", to: "nobody", size: 1, want: transport.ErrUnknownNode},
		{name: "too large", to: "b", size: 65, want: transport.ErrFrameTooLarge},
		{name: "too large beats unknown", to: "nobody", size: 65, want: transport.ErrFrameTooLarge},
		{name: "sender closed", to: "b", size: 1, closeIt: true, want: transport.ErrClosed},
		{name: "ctx done", to: "b", size: 1, ctx: cancelled, want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNet(t, memory.WithMaxFrameSize(64))
			a := n.Endpoint("a")
			n.Endpoint("b")
			if tt.closeIt {
				require.NoError(t, a.Close())
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = testCtx(t)
			}
			err := a.Send(ctx, tt.to, make([]byte, tt.size))
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			assert.Zero(t, n.Stats(memory.Link{}).Sent, "a rejected send is not counted")
		})
	}
}

// TestFaultOnOneLink puts each fault on a->b only and checks that a->c, c->b
// and b->a carry every frame unchanged and in order.
func TestFaultOnOneLink(t *testing.T) {
	t.Parallel()
	const count = 20
	ab := memory.Link{From: "a", To: "b"}

	tests := []struct {
		name   string
		faults memory.Faults
		// check judges what b received from a.
		check func(t *testing.T, sent, got [][]byte, st memory.LinkStats)
	}{
		{
			name:   "drop always",
			faults: memory.Faults{Drop: 1},
			check: func(t *testing.T, sent, got [][]byte, st memory.LinkStats) {
				assert.Empty(t, got)
				assert.Equal(t, uint64(count), st.Dropped)
			},
		},
		{
			name:   "drop next 5",
			faults: memory.Faults{DropNext: 5},
			check: func(t *testing.T, sent, got [][]byte, st memory.LinkStats) {
				assert.Equal(t, sent[5:], got)
				assert.Equal(t, uint64(5), st.Dropped)
			},
		},
		{
			name:   "drop half",
			faults: memory.Faults{Drop: 0.5},
			check: func(t *testing.T, sent, got [][]byte, st memory.LinkStats) {
				assert.NotEmpty(t, got)
				assert.Less(t, len(got), count)
				assert.Equal(t, uint64(count-len(got)), st.Dropped)
				// What survives keeps its order.
				i := 0
				for _, s := range sent {
					if i < len(got) && bytes.Equal(s, got[i]) {
						i++
					}
				}
				assert.Equal(t, len(got), i, "survivors are a subsequence of what was sent")
			},
		},
		{
			name:   "fixed delay",
			faults: memory.Faults{Delay: 20 * time.Millisecond},
			check: func(t *testing.T, sent, got [][]byte, st memory.LinkStats) {
				assert.Equal(t, sorted(sent), sorted(got))
			},
		},
		{
			name:   "random delay",
			faults: memory.Faults{Jitter: 20 * time.Millisecond},
			check: func(t *testing.T, sent, got [][]byte, st memory.LinkStats) {
				assert.Equal(t, sorted(sent), sorted(got))
			},
		},
		{
			name:   "duplicate",
			faults: memory.Faults{Duplicate: 1},
			check: func(t *testing.T, sent, got [][]byte, st memory.LinkStats) {
				var want [][]byte
				for _, s := range sent {
					want = append(want, s, s)
				}
				require.Equal(t, want, got)
				assert.Equal(t, uint64(count), st.Duplicated)
				got[0][0] ^= 0xff
				assert.Equal(t, sent[0], got[1], "copies must not share a buffer")
			},
		},
		{
			name:   "corrupt",
			faults: memory.Faults{Corrupt: 1},
			check: func(t *testing.T, sent, got [][]byte, st memory.LinkStats) {
				require.Len(t, got, count)
				for i := range sent {
					require.Len(t, got[i], len(sent[i]))
					flipped := 0
					for j := range sent[i] {
						flipped += bits.OnesCount8(sent[i][j] ^ got[i][j])
					}
					assert.Equal(t, 1, flipped, "frame %d", i)
				}
				assert.Equal(t, uint64(count), st.Corrupted)
			},
		},
		{
			name:   "reorder whole window",
			faults: memory.Faults{Reorder: count},
			check: func(t *testing.T, sent, got [][]byte, st memory.LinkStats) {
				assert.Equal(t, sorted(sent), sorted(got))
				assert.NotEqual(t, sent, got, "a shuffle of 20 frames keeping order is a 1 in 20! event")
			},
		},
		{
			name:   "reorder with remainder released by clear",
			faults: memory.Faults{Reorder: 7},
			check: func(t *testing.T, sent, got [][]byte, st memory.LinkStats) {
				assert.Equal(t, sorted(sent), sorted(got))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNet(t, memory.WithRand(rand.NewPCG(1, 2)))
			a, b, c := n.Endpoint("a"), n.Endpoint("b"), n.Endpoint("c")
			require.NoError(t, n.SetFaults(ab, tt.faults))

			sent := payloads("a-b", count)
			start := time.Now()
			sendAll(t, a, "b", sent)
			sendAll(t, a, "c", payloads("a-c", count))
			sendAll(t, c, "b", payloads("c-b", count))
			sendAll(t, b, "a", payloads("b-a", count))
			n.ClearFaults() // releases frames held for reordering

			st := n.Stats(ab)
			assert.Equal(t, uint64(count), st.Sent)
			want := int(st.Sent - st.Dropped + st.Duplicated)

			var got, fromC [][]byte
			for len(got) < want || len(fromC) < count {
				f := recv(t, b)
				switch f.From {
				case "a":
					got = append(got, f.Payload)
				case "c":
					fromC = append(fromC, f.Payload)
				default:
					t.Fatalf("frame from %q", f.From)
				}
			}
			if d := tt.faults.Delay; d > 0 {
				assert.GreaterOrEqual(t, time.Since(start), d)
			}
			// Nothing more arrives from a: the next frame on the healed link
			// is the sentinel.
			require.NoError(t, a.Send(testCtx(t), "b", []byte("sentinel")))
			assert.Equal(t, []byte("sentinel"), recv(t, b).Payload)

			tt.check(t, sent, got, st)

			assert.Equal(t, payloads("c-b", count), fromC)
			for _, l := range []struct {
				ep   *memory.Endpoint
				from transport.NodeID
			}{{c, "a"}, {a, "b"}} {
				var other [][]byte
				for range count {
					f := recv(t, l.ep)
					require.Equal(t, l.from, f.From)
					other = append(other, f.Payload)
				}
				assert.Equal(t, payloads(string(l.from)+"-"+string(l.ep.Self()), count), other)
				assert.Equal(t, memory.LinkStats{Sent: count, Delivered: count},
					n.Stats(memory.Link{From: l.from, To: l.ep.Self()}))
			}
		})
	}
}

func TestFaultPrecedence(t *testing.T) {
	t.Parallel()
	n := newNet(t)
	a, b, c := n.Endpoint("a"), n.Endpoint("b"), n.Endpoint("c")
	ctx := testCtx(t)

	// Everything to b is dropped, except c->b, which an exact rule keeps perfect.
	require.NoError(t, n.SetFaults(memory.Link{To: "b"}, memory.Faults{Drop: 1}))
	require.NoError(t, n.SetFaults(memory.Link{From: "c", To: "b"}, memory.Faults{}))
	// {From, Any} beats {Any, To}: a's frames are corrupted, not dropped.
	require.NoError(t, n.SetFaults(memory.Link{From: "a"}, memory.Faults{Corrupt: 1}))

	require.NoError(t, a.Send(ctx, "b", []byte{0}))
	require.NoError(t, c.Send(ctx, "b", []byte{0}))
	require.NoError(t, b.Send(ctx, "b", []byte{0}))
	require.NoError(t, b.Send(ctx, "a", []byte{0}))

	f := recv(t, b)
	assert.Equal(t, transport.NodeID("a"), f.From)
	assert.NotEqual(t, []byte{0}, f.Payload)
	f = recv(t, b)
	assert.Equal(t, transport.Frame{From: "c", To: "b", Payload: []byte{0}}, f)
	assert.Equal(t, uint64(1), n.Stats(memory.Link{From: "b", To: "b"}).Dropped)
	assert.Equal(t, transport.Frame{From: "b", To: "a", Payload: []byte{0}}, recv(t, a))

	// Removing the exact rule lets the wildcard apply to c->b.
	n.RemoveFaults(memory.Link{From: "c", To: "b"})
	require.NoError(t, c.Send(ctx, "b", []byte{1}))
	assert.Equal(t, uint64(1), n.Stats(memory.Link{From: "c", To: "b"}).Dropped)
	assert.Equal(t, uint64(2), n.Stats(memory.Link{To: "b"}).Dropped)
}

func TestSetFaultsRejectsInvalid(t *testing.T) {
	t.Parallel()
	n := newNet(t)
	for _, f := range []memory.Faults{
		{Drop: -0.1}, {Drop: 1.5}, {Corrupt: 2}, {Duplicate: -1},
		{DropNext: -1}, {Reorder: -1}, {ReorderTimeout: -1}, {Delay: -1}, {Jitter: -1},
	} {
		assert.Error(t, n.SetFaults(memory.Link{}, f), "%+v", f)
	}
}

func TestReorderTimeoutReleasesPartialBatch(t *testing.T) {
	t.Parallel()
	n := newNet(t)
	a, b := n.Endpoint("a"), n.Endpoint("b")
	require.NoError(t, n.SetFaults(memory.Link{From: "a", To: "b"},
		memory.Faults{Reorder: 100, ReorderTimeout: 5 * time.Millisecond}))
	sent := payloads("x", 3)
	sendAll(t, a, "b", sent)
	var got [][]byte
	for range sent {
		got = append(got, recv(t, b).Payload)
	}
	assert.Equal(t, sorted(sent), sorted(got))
}

func TestDelayDoesNotBlockSender(t *testing.T) {
	t.Parallel()
	// An inbox of one, already full: an undelayed Send would block.
	n := newNet(t, memory.WithInboxSize(1))
	a, b := n.Endpoint("a"), n.Endpoint("b")
	sendAll(t, a, "b", payloads("fill", 1))
	require.NoError(t, n.SetFaults(memory.Link{From: "a", To: "b"}, memory.Faults{Delay: time.Hour}))
	sendAll(t, a, "b", payloads("late", 10))
	assert.Equal(t, memory.LinkStats{Sent: 11, Delivered: 1}, n.Stats(memory.Link{}))
	assert.Equal(t, []byte("fill-00"), recv(t, b).Payload)
}

func TestSameSeedSameFaults(t *testing.T) {
	t.Parallel()
	run := func(seed uint64) [][]byte {
		n := newNet(t, memory.WithRand(rand.NewPCG(seed, 0)))
		a, b := n.Endpoint("a"), n.Endpoint("b")
		require.NoError(t, n.SetFaults(memory.Link{}, memory.Faults{Drop: 0.5, Corrupt: 0.5}))
		sendAll(t, a, "b", payloads("m", 50))
		n.ClearFaults()
		require.NoError(t, a.Send(testCtx(t), "b", []byte("end")))
		var got [][]byte
		for {
			f := recv(t, b)
			if string(f.Payload) == "end" {
				return got
			}
			got = append(got, f.Payload)
		}
	}
	assert.Equal(t, run(7), run(7))
	assert.NotEqual(t, run(7), run(8))
}

func TestPartitionAndHeal(t *testing.T) {
	t.Parallel()
	n := newNet(t)
	a, b, c := n.Endpoint("a"), n.Endpoint("b"), n.Endpoint("c")
	ctx := testCtx(t)

	n.Partition([]transport.NodeID{"a"}, []transport.NodeID{"b", "c"})
	require.NoError(t, a.Send(ctx, "b", []byte("cut")), "a partition is silent")
	require.NoError(t, c.Send(ctx, "a", []byte("cut")))
	require.NoError(t, b.Send(ctx, "c", []byte("b-c")))
	require.NoError(t, a.Send(ctx, "a", []byte("a-a")))
	assert.Equal(t, []byte("b-c"), recv(t, c).Payload, "links inside one side still work")
	assert.Equal(t, []byte("a-a"), recv(t, a).Payload)
	assert.Equal(t, uint64(1), n.Stats(memory.Link{From: "a", To: "b"}).Dropped)
	assert.Equal(t, uint64(1), n.Stats(memory.Link{From: "c", To: "a"}).Dropped)

	n.Heal()
	require.NoError(t, a.Send(ctx, "b", []byte("healed")))
	require.NoError(t, c.Send(ctx, "a", []byte("healed")))
	assert.Equal(t, transport.Frame{From: "a", To: "b", Payload: []byte("healed")}, recv(t, b))
	assert.Equal(t, transport.Frame{From: "c", To: "a", Payload: []byte("healed")}, recv(t, a))
}

func TestCrashAndRestart(t *testing.T) {
	t.Parallel()
	n := newNet(t)
	a, b := n.Endpoint("a"), n.Endpoint("b")
	ctx := testCtx(t)
	ab := memory.Link{From: "a", To: "b"}

	require.NoError(t, a.Send(ctx, "b", []byte("lost with the crash")))
	// A frame in flight to this incarnation of b: it must never reach the next one.
	require.NoError(t, n.SetFaults(ab, memory.Faults{Reorder: 2}))
	require.NoError(t, a.Send(ctx, "b", []byte("held")))

	require.NoError(t, n.Crash("b"))
	require.NoError(t, n.Crash("b"), "crashing twice is harmless")
	require.ErrorIs(t, n.Crash("nobody"), transport.ErrUnknownNode)

	_, err := b.Receive(ctx)
	require.ErrorIs(t, err, transport.ErrClosed, "even with a frame left in the inbox")
	require.ErrorIs(t, b.Send(ctx, "a", []byte("x")), transport.ErrClosed)
	require.NoError(t, a.Send(ctx, "b", []byte("to the dead")), "a crash is silent")
	assert.Same(t, b, n.Endpoint("b"), "Endpoint does not revive a crashed node")

	b2, err := n.Restart("b")
	require.NoError(t, err)
	assert.NotSame(t, b, b2)
	assert.Same(t, b2, n.Endpoint("b"))
	_, err = n.Restart("nobody")
	require.ErrorIs(t, err, transport.ErrUnknownNode)

	n.ClearFaults() // releases "held" towards the crashed incarnation
	require.NoError(t, a.Send(ctx, "b", []byte("after restart")))
	assert.Equal(t, transport.Frame{From: "a", To: "b", Payload: []byte("after restart")}, recv(t, b2))
	require.NoError(t, b2.Send(ctx, "a", []byte("back")))
	assert.Equal(t, []byte("back"), recv(t, a).Payload)

	_, err = b.Receive(ctx)
	require.ErrorIs(t, err, transport.ErrClosed, "the old endpoint stays closed")

	// Closing an endpoint is a crash of its node.
	require.NoError(t, b2.Close())
	require.NoError(t, b2.Close())
	_, err = b2.Receive(ctx)
	require.ErrorIs(t, err, transport.ErrClosed)
	b3, err := n.Restart("b")
	require.NoError(t, err)
	require.NoError(t, a.Send(ctx, "b", []byte("third life")))
	assert.Equal(t, []byte("third life"), recv(t, b3).Payload)

	// After Close every frame is accounted for: had "held" reached b2 or b3,
	// Delivered would be 4.
	require.NoError(t, n.Close())
	assert.Equal(t, memory.LinkStats{Sent: 5, Delivered: 3, Dropped: 2}, n.Stats(ab))
}

func TestBackpressure(t *testing.T) {
	t.Parallel()
	n := newNet(t, memory.WithInboxSize(2))
	a, b := n.Endpoint("a"), n.Endpoint("b")
	sendAll(t, a, "b", payloads("m", 2))

	short, cancel := context.WithTimeout(testCtx(t), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, a.Send(short, "b", []byte("blocked")), context.DeadlineExceeded)
	assert.Equal(t, memory.LinkStats{Sent: 3, Delivered: 2, Dropped: 1}, n.Stats(memory.Link{From: "a", To: "b"}))

	// A blocked Send goes through once the receiver makes room.
	errc := make(chan error, 1)
	go func() { errc <- a.Send(testCtx(t), "b", []byte("m-02")) }()
	var got [][]byte
	for range 3 {
		got = append(got, recv(t, b).Payload)
	}
	require.NoError(t, <-errc)
	assert.Equal(t, payloads("m", 3), got)
}

func TestReceiveCtx(t *testing.T) {
	t.Parallel()
	n := newNet(t)
	b := n.Endpoint("b")
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Millisecond)
	defer cancel()
	_, err := b.Receive(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestCloseUnblocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		close func(n *memory.Network, ep *memory.Endpoint) error
	}{
		{"network close", func(n *memory.Network, _ *memory.Endpoint) error { return n.Close() }},
		{"endpoint close", func(_ *memory.Network, ep *memory.Endpoint) error { return ep.Close() }},
		{"crash", func(n *memory.Network, ep *memory.Endpoint) error { return n.Crash(ep.Self()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := newNet(t, memory.WithInboxSize(1))
			a := n.Endpoint("a")
			n.Endpoint("b")
			ctx := testCtx(t)
			// a's inbox is empty, so its Receive blocks; b's is full, so a's Send blocks.
			sendAll(t, a, "b", payloads("fill", 1))
			recvErr := make(chan error, 1)
			go func() {
				_, err := a.Receive(ctx)
				recvErr <- err
			}()
			sendErr := make(chan error, 1)
			go func() { sendErr <- a.Send(ctx, "b", []byte("blocked")) }()

			require.NoError(t, tt.close(n, a))
			require.ErrorIs(t, <-recvErr, transport.ErrClosed)
			require.ErrorIs(t, <-sendErr, transport.ErrClosed)
		})
	}
}

// TestCloseLeavesNoGoroutine is not parallel, so goleak sees only this
// test's goroutines on top of those already running.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	n := memory.NewNetwork(memory.WithInboxSize(1))
	a, b := n.Endpoint("a"), n.Endpoint("b")
	n.Endpoint("c")
	ctx := testCtx(t)
	// A delivery goroutine stuck on c's full inbox.
	sendAll(t, a, "c", payloads("fill", 1))
	require.NoError(t, n.SetFaults(memory.Link{From: "a", To: "c"}, memory.Faults{Duplicate: 1, Reorder: 2}))
	sendAll(t, a, "c", payloads("stuck", 1))
	// Timers far in the future, delayed frames and a reorder timeout.
	require.NoError(t, n.SetFaults(memory.Link{From: "a", To: "b"}, memory.Faults{Delay: time.Hour, Jitter: time.Hour}))
	require.NoError(t, n.SetFaults(memory.Link{From: "b", To: "a"}, memory.Faults{Reorder: 10, ReorderTimeout: time.Hour}))
	sendAll(t, a, "b", payloads("late", 5))
	sendAll(t, b, "a", payloads("held", 3))

	require.NoError(t, n.Close())
	require.NoError(t, n.Close(), "Close is idempotent")

	st := n.Stats(memory.Link{})
	assert.Equal(t, st.Sent+st.Duplicated, st.Delivered+st.Dropped, "every frame is accounted for after Close")

	require.ErrorIs(t, a.Send(ctx, "b", []byte("x")), transport.ErrClosed)
	_, err := n.Endpoint("new").Receive(ctx)
	require.ErrorIs(t, err, transport.ErrClosed)
	_, err = n.Restart("a")
	require.ErrorIs(t, err, transport.ErrClosed)
}

// TestConcurrentFaultyTraffic is for the race detector: many senders, every
// fault at once, and an exact count of what must arrive.
func TestConcurrentFaultyTraffic(t *testing.T) {
	t.Parallel()
	const senders, each = 4, 100
	n := newNet(t, memory.WithRand(rand.NewPCG(3, 4)), memory.WithInboxSize(16))
	sink := n.Endpoint("sink")
	require.NoError(t, n.SetFaults(memory.Link{To: "sink"}, memory.Faults{
		Drop: 0.1, Corrupt: 0.1, Duplicate: 0.3, Reorder: 4, ReorderTimeout: time.Millisecond,
		Jitter: time.Millisecond,
	}))

	var wg sync.WaitGroup
	for i := range senders {
		ep := n.Endpoint(transport.NodeID(fmt.Sprintf("s%d", i)))
		wg.Go(func() {
			for _, p := range payloads(string(ep.Self()), each) {
				assert.NoError(t, ep.Send(testCtx(t), "sink", p))
			}
		})
	}
	// Drain while sending, so backpressure is exercised too.
	ctx, cancel := context.WithCancel(testCtx(t))
	got := make(chan transport.Frame, 2*senders*each)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			f, err := sink.Receive(ctx)
			if err != nil {
				return
			}
			got <- f
		}
	}()
	wg.Wait()
	n.ClearFaults()
	st := n.Stats(memory.Link{To: "sink"})
	assert.Equal(t, uint64(senders*each), st.Sent)
	want := int(st.Sent - st.Dropped + st.Duplicated)
	deadline := testCtx(t)
	for range want {
		select {
		case <-got:
		case <-deadline.Done():
			t.Fatalf("fewer than %d frames arrived", want)
		}
	}
	cancel()
	<-drained
}
