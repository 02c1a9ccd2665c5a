// Package e2e protects frames end to end, above any carrier: a relay that
// moves them (a NATS server, a TCP proxy, a delivery service) learns nothing
// of their content and can neither forge, alter, replay nor reflect them.
//
// Wrap a carrier's transport.Transport with this node's Identity and a
// directory of its peers' public keys. The directory comes from
// configuration, never from the carrier: a frame from a node not in it is
// refused.
//
// # Frames
//
// Every payload is sealed to its one recipient and signed by its sender. A
// frame is the internal/wire (deterministic CBOR) encoding of
//
//	envelope = [from, body, sig]
//	body     = [kem, from, to, epoch, counter, time, enc, box]
//
// where sig is the sender's Ed25519ctx signature (RFC 8032, context
// "cairn/transport/e2e/v1") over the body's bytes, and box is the payload
// under AES-256-GCM with nonce counter and additional data (counter, time).
//
// The AES key of a sender→recipient pair is HPKE's (RFC 9180) exported
// secret of a base-mode context set up to the recipient's public key, with
// HKDF-SHA256, the export-only AEAD, and an info string binding the KEM,
// sender, recipient and epoch; enc is that context's encapsulated key. A
// sender sets up a new context, with a new epoch, when it starts, after
// Config.RekeyAfter frames and after Config.RekeyInterval. So one KEM
// encapsulation (and, at the receiver, one decapsulation) serves many frames,
// and a frame costs one AEAD operation and one signature at each end; enc
// still travels in every frame, so any frame can be opened on its own, in
// any order.
//
// # What a receiver refuses
//
// In this order, cheapest first, each with a *FrameError naming the claimed
// sender and wrapping one of the sentinels below: undecodable input
// (ErrMalformed); a frame claiming to come from this node (ErrReflected); a
// sender not in the directory (ErrUnknownSender); a bad signature
// (ErrTampered); a signed body that does not decode, names another sender or
// is sealed for another KEM (ErrMalformed); a frame addressed to another
// node (ErrReflected); a frame whose carrier-authenticated sender, if the
// carrier has one, differs from the signed one (ErrSenderMismatch); a
// timestamp more than Config.MaxSkew from the receiver's clock, or earlier
// than the moment the receiving endpoint was wrapped (ErrStale); an epoch
// older than the sender's previous one, or a counter already seen or more
// than 256 behind the highest seen in its epoch (ErrReplayed); a payload
// that does not open (ErrTampered).
//
// Epochs are the sender's wall clock in nanoseconds at key set-up, kept
// strictly increasing within a process, so a restarted sender's frames
// supersede those of its previous run. A sender whose clock went back across
// a restart is refused as a replay until it catches up. A receiver keeps its
// replay state in memory: after a restart, frames stamped before its start
// are refused as stale, so old frames cannot be replayed into it.
//
// Refused frames never reach Receive's caller and never stop it: they are
// reported to Config.Rejected and logged, and Receive waits for the next one.
package e2e

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hpke"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/transport"
)

// Defaults used for zero Config fields.
const (
	DefaultMaxSkew       = 2 * time.Minute
	DefaultRekeyAfter    = 1 << 20
	DefaultRekeyInterval = time.Hour
)

// Labels that separate this package's uses of its keys from any other.
const (
	sigContext = "cairn/transport/e2e/v1"
	infoLabel  = "cairn/transport/e2e/v1 key\x00"
	exportCtx  = "cairn/transport/e2e/v1 aes-256-gcm"
	tagSize    = 16
)

// Sentinels wrapped by *FrameError, one per reason a frame is refused.
var (
	ErrMalformed      = errors.New("e2e: malformed frame")
	ErrUnknownSender  = errors.New("e2e: sender not in the directory")
	ErrReflected      = errors.New("e2e: frame reflected or misdirected")
	ErrTampered       = errors.New("e2e: frame tampered with")
	ErrSenderMismatch = errors.New("e2e: carrier's sender differs from the signed sender")
	ErrStale          = errors.New("e2e: frame timestamp out of range")
	ErrReplayed       = errors.New("e2e: frame replayed")
)

// FrameError is why a received frame was refused. From is the sender the
// frame names (empty if it could not be read, or the carrier's sender for an
// undecodable frame). Treat it as a claim: it is proven only for refusals
// made after the signature check, which are ErrSenderMismatch, ErrStale,
// ErrReplayed, and ErrReflected for a frame addressed to another node.
type FrameError struct {
	From transport.NodeID
	Err  error
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("e2e: frame from %q refused: %v", e.From, e.Err)
}

func (e *FrameError) Unwrap() error { return e.Err }

func refuse(from string, sentinel error, format string, args ...any) *FrameError {
	return &FrameError{From: transport.NodeID(from), Err: fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))}
}

// Config configures Wrap. Identity and Peers are required.
type Config struct {
	// Identity is this node's secret keys.
	Identity Identity
	// Peers are the public keys of every node this one talks to. It may
	// list this node too, if its keys match Identity. Wrap copies it.
	Peers map[transport.NodeID]Peer
	// MaxSkew bounds how far a frame's timestamp may be from the
	// receiver's clock. Zero means DefaultMaxSkew; negative disables the
	// check (the check against the receiver's start remains).
	MaxSkew time.Duration
	// RekeyAfter is how many frames a sealing key seals before the sender
	// sets up a new one. Zero means DefaultRekeyAfter.
	RekeyAfter uint64
	// RekeyInterval is how long a sealing key is used. Zero means
	// DefaultRekeyInterval.
	RekeyInterval time.Duration
	// Rejected, if set, is called with every refused frame's error. It
	// runs on the goroutine calling Receive and must not block for long.
	Rejected func(*FrameError)
	// Logger receives refusals at Warn, with the claimed sender and the
	// reason, never payloads or keys. Nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Transport wraps a carrier with end-to-end sealing and authentication. It
// implements transport.Transport and is safe for concurrent use.
type Transport struct {
	carrier transport.Transport
	self    transport.NodeID
	id      Identity
	kem     uint16 // this node's KEM
	peers   map[transport.NodeID]Peer
	cfg     Config
	log     *slog.Logger
	startMs int64 // frames stamped earlier are refused

	mu  sync.Mutex
	out map[transport.NodeID]*outbound
	in  map[transport.NodeID]*inbound
	// lastEpoch keeps epochs strictly increasing within this process.
	lastEpoch uint64
}

var _ transport.Transport = (*Transport)(nil)

// Wrap returns carrier with end-to-end protection. It checks that cfg is
// complete and that every peer's keys are well formed; the node id is
// carrier.Self(). Closing the returned Transport closes carrier.
func Wrap(carrier transport.Transport, cfg Config) (*Transport, error) {
	if carrier == nil {
		return nil, errors.New("e2e: no carrier")
	}
	if err := cfg.Identity.validate(); err != nil {
		return nil, err
	}
	self := carrier.Self()
	peers := make(map[transport.NodeID]Peer, len(cfg.Peers))
	for id, p := range cfg.Peers {
		if id == "" || len(id) > maxNodeID {
			return nil, fmt.Errorf("e2e: peer id %q: empty or over %d bytes", id, maxNodeID)
		}
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("e2e: peer %q: %w", id, err)
		}
		if id == self {
			if !p.equal(cfg.Identity.Public()) {
				return nil, fmt.Errorf("e2e: the directory's keys for this node %q are not its identity's", id)
			}
			continue
		}
		peers[id] = p
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	if cfg.RekeyAfter == 0 {
		cfg.RekeyAfter = DefaultRekeyAfter
	}
	if cfg.RekeyInterval <= 0 {
		cfg.RekeyInterval = DefaultRekeyInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Transport{
		carrier: carrier, self: self, id: cfg.Identity, kem: cfg.Identity.KEM.KEM().ID(),
		peers: peers, cfg: cfg, log: log, startMs: cfg.Now().UnixMilli(),
		out: map[transport.NodeID]*outbound{}, in: map[transport.NodeID]*inbound{},
	}, nil
}

// Self returns the carrier's node id.
func (t *Transport) Self() transport.NodeID { return t.self }

// Carrier returns the wrapped transport, for its carrier-specific methods.
// Frames sent on it directly are not protected, and receivers refuse them.
func (t *Transport) Carrier() transport.Transport { return t.carrier }

// Close closes the carrier.
func (t *Transport) Close() error { return t.carrier.Close() }

// Send seals payload to node to and hands it to the carrier. It returns an
// error wrapping transport.ErrUnknownNode if to is not in the directory (or
// is this node), transport.ErrFrameTooLarge if the sealed frame would exceed
// the wire format's limit, or the carrier's error. Like the carrier's, a nil
// error does not mean delivery.
func (t *Transport) Send(ctx context.Context, to transport.NodeID, payload []byte) error {
	frame, err := t.Seal(to, payload)
	if err != nil {
		return err
	}
	return t.carrier.Send(ctx, to, frame)
}

// Seal returns the frame that Send would hand to the carrier for payload to
// node to. Each call consumes a counter value, so each result is accepted
// once. It is exported for carriers and tests that move frames themselves.
func (t *Transport) Seal(to transport.NodeID, payload []byte) ([]byte, error) {
	p, ok := t.peers[to]
	if !ok {
		return nil, fmt.Errorf("e2e: %q: send to %q: %w", t.self, to, transport.ErrUnknownNode)
	}
	if limit := wire.MaxSize - Overhead(KEM(p.KEM.KEM().ID()), string(t.self), string(to)); len(payload) > limit {
		return nil, fmt.Errorf("e2e: %q: send %d bytes to %q (limit %d): %w", t.self, len(payload), to, limit, transport.ErrFrameTooLarge)
	}
	k, counter, now, err := t.outbound(to).next(t, to, p)
	if err != nil {
		return nil, err
	}
	b := body{
		KEM: p.KEM.KEM().ID(), From: string(t.self), To: string(to),
		Epoch: k.epoch, Counter: counter, Time: now.UnixMilli(), Enc: k.enc,
	}
	b.Box = k.aead.Seal(nil, nonce(counter), payload, aad(counter, b.Time))
	bb, err := wire.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("e2e: %q: encoding frame to %q: %w", t.self, to, err)
	}
	sig, err := t.id.Signing.Sign(nil, bb, &ed25519.Options{Context: sigContext})
	if err != nil {
		return nil, fmt.Errorf("e2e: signing: %w", err)
	}
	frame, err := wire.Marshal(envelope{From: string(t.self), Body: bb, Sig: sig})
	if err != nil {
		return nil, fmt.Errorf("e2e: %q: encoding frame to %q: %w", t.self, to, fmt.Errorf("%w: %w", transport.ErrFrameTooLarge, err))
	}
	return frame, nil
}

// Receive returns the next frame that passes every check, opened: From is
// the authenticated sender and Payload the plaintext. Refused frames are
// reported to Config.Rejected and skipped. It returns the carrier's error
// (transport.ErrClosed after Close) or ctx's.
func (t *Transport) Receive(ctx context.Context) (transport.Frame, error) {
	for {
		f, err := t.carrier.Receive(ctx)
		if err != nil {
			return transport.Frame{}, err
		}
		out, ferr := t.Open(f)
		if ferr == nil {
			return out, nil
		}
		t.log.Warn("e2e: frame refused", "node", t.self, "from", ferr.From, "err", ferr.Err)
		if t.cfg.Rejected != nil {
			t.cfg.Rejected(ferr)
		}
	}
}

// Open checks and opens one frame as the carrier delivered it, and records
// its counter so it is not accepted again. Receive calls it on every frame;
// it is exported for carriers and tests that move frames themselves.
func (t *Transport) Open(f transport.Frame) (transport.Frame, *FrameError) {
	env, err := decodeEnvelope(f.Payload)
	if err != nil {
		return transport.Frame{}, &FrameError{From: f.From, Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
	}
	from := transport.NodeID(env.From)
	p, ok := t.peers[from]
	switch {
	case from == t.self:
		return transport.Frame{}, refuse(env.From, ErrReflected, "frame claims to come from this node")
	case !ok:
		return transport.Frame{}, &FrameError{From: from, Err: ErrUnknownSender}
	}
	if err := ed25519.VerifyWithOptions(p.Signing, env.Body, env.Sig, &ed25519.Options{Context: sigContext}); err != nil {
		return transport.Frame{}, refuse(env.From, ErrTampered, "bad signature")
	}
	b, err := decodeBody(env.Body)
	if err != nil {
		// Signed garbage: the sender itself is broken.
		return transport.Frame{}, refuse(env.From, ErrMalformed, "signed body: %v", err)
	}
	switch {
	case b.From != env.From:
		return transport.Frame{}, refuse(env.From, ErrMalformed, "signed sender %q", b.From)
	case transport.NodeID(b.To) != t.self:
		return transport.Frame{}, refuse(env.From, ErrReflected, "frame addressed to %q", b.To)
	case b.KEM != t.kem:
		return transport.Frame{}, refuse(env.From, ErrMalformed, "sealed with KEM %v, this node's is %v", KEM(b.KEM), KEM(t.kem))
	case f.From != "" && f.From != from:
		return transport.Frame{}, refuse(env.From, ErrSenderMismatch, "carrier says %q", f.From)
	}
	now := t.cfg.Now().UnixMilli()
	if b.Time < t.startMs {
		return transport.Frame{}, refuse(env.From, ErrStale, "stamped before this endpoint started")
	}
	if skew := t.cfg.MaxSkew; skew > 0 {
		if d := now - b.Time; d > skew.Milliseconds() || -d > skew.Milliseconds() {
			return transport.Frame{}, refuse(env.From, ErrStale, "stamped %d ms from now", -d)
		}
	}
	payload, ferr := t.inbound(from).open(t, &b)
	if ferr != nil {
		return transport.Frame{}, ferr
	}
	if payload == nil {
		payload = []byte{}
	}
	return transport.Frame{From: from, To: t.self, Payload: payload}, nil
}

// sealKey is one epoch's sealing key towards one peer.
type sealKey struct {
	epoch   uint64
	enc     []byte
	aead    cipher.AEAD
	created time.Time
}

// outbound is the sending state towards one peer.
type outbound struct {
	mu      sync.Mutex
	key     *sealKey
	counter uint64
}

func (t *Transport) outbound(to transport.NodeID) *outbound {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.out[to]
	if !ok {
		o = &outbound{}
		t.out[to] = o
	}
	return o
}

func (t *Transport) nextEpoch(now time.Time) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := uint64(now.UnixNano())
	if e <= t.lastEpoch {
		e = t.lastEpoch + 1
	}
	t.lastEpoch = e
	return e
}

// next returns the key, counter and timestamp for one frame, setting up a
// new key when the current one is used up. The clock is read under the lock,
// so concurrent senders see time and counters advance together.
func (o *outbound) next(t *Transport, to transport.NodeID, p Peer) (*sealKey, uint64, time.Time, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := t.cfg.Now()
	if o.key == nil || o.counter >= t.cfg.RekeyAfter || now.Sub(o.key.created) >= t.cfg.RekeyInterval {
		epoch := t.nextEpoch(now)
		enc, s, err := hpke.NewSender(p.KEM, hpke.HKDFSHA256(), hpke.ExportOnly(), info(p.KEM.KEM().ID(), string(t.self), string(to), epoch))
		if err != nil {
			return nil, 0, now, fmt.Errorf("e2e: sealing key for %q: %w", to, err)
		}
		a, err := exportAEAD(s.Export)
		if err != nil {
			return nil, 0, now, err
		}
		o.key, o.counter = &sealKey{epoch: epoch, enc: enc, aead: a, created: now}, 0
	}
	o.counter++
	return o.key, o.counter, now, nil
}

func exportAEAD(export func(string, int) ([]byte, error)) (cipher.AEAD, error) {
	k, err := export(exportCtx, 32)
	if err != nil {
		return nil, fmt.Errorf("e2e: exporting key: %w", err)
	}
	blk, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

// inbound is the receiving state from one peer: its current and previous
// epochs, each with its opened key and replay window.
type inbound struct {
	mu        sync.Mutex
	cur, prev *openKey
}

type openKey struct {
	epoch uint64
	enc   []byte
	aead  cipher.AEAD
	win   window
}

func (t *Transport) inbound(from transport.NodeID) *inbound {
	t.mu.Lock()
	defer t.mu.Unlock()
	in, ok := t.in[from]
	if !ok {
		in = &inbound{}
		t.in[from] = in
	}
	return in
}

// open checks b's epoch and counter, opens its box, and only then records
// the counter. It holds the peer's lock throughout, so two copies of one
// frame cannot both pass.
func (in *inbound) open(t *Transport, b *body) ([]byte, *FrameError) {
	in.mu.Lock()
	defer in.mu.Unlock()
	var k *openKey
	fresh := false
	switch {
	case in.cur != nil && b.Epoch == in.cur.epoch:
		k = in.cur
	case in.prev != nil && b.Epoch == in.prev.epoch:
		k = in.prev
	case in.cur == nil || b.Epoch > in.cur.epoch:
		r, err := hpke.NewRecipient(b.Enc, t.id.KEM, hpke.HKDFSHA256(), hpke.ExportOnly(), info(b.KEM, b.From, b.To, b.Epoch))
		if err != nil {
			return nil, refuse(b.From, ErrTampered, "encapsulated key does not open")
		}
		a, err := exportAEAD(r.Export)
		if err != nil {
			return nil, refuse(b.From, ErrTampered, "%v", err)
		}
		k, fresh = &openKey{epoch: b.Epoch, enc: b.Enc, aead: a}, true
	default:
		return nil, refuse(b.From, ErrReplayed, "epoch %d superseded", b.Epoch)
	}
	if !fresh && string(k.enc) != string(b.Enc) {
		return nil, refuse(b.From, ErrTampered, "encapsulated key changed within epoch %d", b.Epoch)
	}
	if !k.win.fresh(b.Counter) {
		return nil, refuse(b.From, ErrReplayed, "counter %d in epoch %d", b.Counter, b.Epoch)
	}
	pt, err := k.aead.Open(nil, nonce(b.Counter), b.Box, aad(b.Counter, b.Time))
	if err != nil {
		return nil, refuse(b.From, ErrTampered, "payload does not open")
	}
	k.win.record(b.Counter)
	if fresh {
		in.prev, in.cur = in.cur, k
	}
	return pt, nil
}
