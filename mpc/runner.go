package mpc

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
)

// AbortError is the error of a failed ceremony; Culprits names the parties
// that deviated (or, on a deadline, whose messages never came).
type AbortError = round.Error

// Peer is one party of a session: its protocol id, where to reach it, and the
// identity key its envelopes are signed with.
type Peer struct {
	ID   round.PartyID
	Node transport.NodeID
	Key  ed25519.PublicKey
}

// Conn is the part of a transport a run needs. A transport.Transport is a
// Conn; so is a Mux session.
type Conn interface {
	Send(ctx context.Context, to transport.NodeID, payload []byte) error
	Receive(ctx context.Context) (transport.Frame, error)
}

// ErrRejected wraps the reason a frame was refused without aborting the run.
var ErrRejected = errors.New("mpc: frame rejected")

// Runner drives one party of one ceremony. Fill it in and call Run once.
//
// # Complaints
//
// A direct (pairwise) message is seen by its recipient alone. When the round
// refuses one and blames its sender (at Store, or at Finalize for a culprit
// that sent this party a direct message in that round), the recipient aborts
// and sends every other party of the session a complaint: an envelope of its
// own, signed with its identity key and bound to the session, that encloses
// the accused's envelope exactly as the accused signed it (bound by that
// signature to the session, round, sender and recipient). A party that
// receives a complaint checks the complainer's signature, that the complaint
// is for this session, and the accused's signature on a direct message of
// this session addressed to the complainer; it then aborts at once naming the
// accused, with a *Complaint (errors.Is ErrComplaint) recording the accuser
// and the evidence, rather than waiting for its deadline to blame the
// complainer's silence. A complaint that does not verify is the complainer's
// deviation (ErrInvalidComplaint names it), and so is a complaint about this
// party's own message: it knows what it sent. A complaint signed for another
// session is refused (Rejected) like any frame of another session.
//
// Trust model: the other parties can prove that the accused sent that exact
// message, so nobody can be named for a message it did not send. They cannot
// always prove the message was wrong: checks that need the recipient's
// secret state (the multiplication and OT-extension checks of threshold
// ECDSA, the Γ-checks) cannot be re-run by anyone else. A malicious
// complainer can therefore abort a ceremony by complaining about a valid
// message (it could abort it anyway, by not answering) and get the accused
// named by the others; the *Complaint in the error says whose word the blame
// rests on, and a caller that excludes or bans parties on blame should weigh
// it as a dispute between accuser and accused. Checks anyone can re-run stay
// the protocol's job (mpc/dkg judges a complaint about a share publicly).
type Runner struct {
	Conn     Conn
	Protocol string          // for errors and logs
	Session  round.SessionID // every message must carry it
	Self     round.PartyID
	Identity ed25519.PrivateKey // signs this party's envelopes
	Peers    []Peer             // every party of the session, Self included
	// Logger receives metadata only (session, round, party, reason), never
	// payloads. Nil discards.
	Logger *slog.Logger
	// Rejected, if set, is told of every frame refused without aborting the
	// run: undecodable, another session, a bad signature, a non-member, a
	// stale round. Such frames cannot be pinned on a session party (anyone
	// can send garbage claiming to be anyone), so they do not abort.
	Rejected func(from transport.NodeID, err error)
	// MaxBuffered bounds messages held for later rounds; zero means 1024.
	MaxBuffered int
	// Retransmit is how long the run waits without a frame before it sends
	// its messages of the current and previous round again to the peers it
	// is still waiting for, so a lost frame costs a delay rather than the
	// ceremony. Receivers drop the copies. Zero means 250 ms; negative
	// disables it.
	Retransmit time.Duration
}

// maxRoundsAhead bounds how far ahead of the current round a message may be
// buffered.
const maxRoundsAhead = 8

type slotKind uint8

const (
	kindBroadcast slotKind = iota
	kindDirect
	kindEcho
)

type slot struct {
	round uint16
	from  round.PartyID
	kind  slotKind
}

type sentFrame struct {
	to    round.PartyID
	frame []byte
}

type inbound struct {
	m      round.Message
	echo   bool
	digest [32]byte
	sig    []byte
}

type run struct {
	*Runner
	ctx      context.Context
	keys     round.Keyring
	nodes    map[round.PartyID]transport.NodeID
	others   []round.PartyID
	cur      round.Round
	sent     map[uint16][]sentFrame // by round: what was sent, for retransmission
	wait     time.Duration          // current retransmission wait
	accepted map[[32]byte]bool      // digests of the envelopes accepted so far
	seen     map[slot][32]byte
	pending  map[uint16][]inbound
	npend    int
	myBcast  map[uint16][32]byte

	// State of the current round.
	bcast    map[round.PartyID]inbound
	direct   map[round.PartyID]inbound
	echoes   map[round.PartyID][]echoEntry
	echoSent bool
	stored   bool // a broadcast round's held messages were stored
}

// Run sends out (the first round's messages, as the protocol's constructor
// returned them) and drives first to completion. It returns the protocol's
// result, or an error; protocol failures and deadlines are *AbortError.
func (r *Runner) Run(ctx context.Context, first round.Round, out []round.Message) (any, error) {
	st, err := r.newRun(ctx, first)
	if err != nil {
		return nil, err
	}
	if err := st.send(out); err != nil {
		return nil, err
	}
	for {
		if res, done, err := st.advance(); err != nil || done {
			return res, err
		}
		f, err := st.receive(ctx)
		if errors.Is(err, errRetransmit) {
			st.retransmit()
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, st.deadline(ctx.Err())
			}
			return nil, fmt.Errorf("mpc: %s: receiving: %w", r.Protocol, err)
		}
		if err := st.accept(f); err != nil {
			return nil, err
		}
	}
}

var errRetransmit = errors.New("mpc: retransmit")

// receive waits for a frame, or for the retransmission interval.
func (st *run) receive(ctx context.Context) (transport.Frame, error) {
	if st.Retransmit < 0 {
		return st.Conn.Receive(ctx)
	}
	if st.wait == 0 {
		st.wait = st.Retransmit
	}
	tick, cancel := context.WithTimeout(ctx, st.wait)
	defer cancel()
	f, err := st.Conn.Receive(tick)
	if err != nil && ctx.Err() == nil && tick.Err() != nil {
		return f, errRetransmit
	}
	return f, err
}

// retransmit resends this party's frames of the current and the previous
// round to every peer the current round still waits for: such a peer may be
// stuck for want of one of them.
func (st *run) retransmit() {
	// Back off while nothing new arrives, so that many stalled sessions on
	// a loaded node do not flood each other with copies; any new message
	// resets the wait (see accept).
	st.wait = min(2*st.wait, 8*st.Retransmit)
	waiting := st.missing()
	if len(waiting) == 0 {
		return
	}
	n := st.cur.Number()
	for _, rnd := range []uint16{n - 1, n} {
		for _, sf := range st.sent[rnd] {
			if slices.Contains(waiting, sf.to) {
				if err := st.Conn.Send(st.ctx, st.nodes[sf.to], sf.frame); err != nil {
					st.Logger.Debug("mpc: retransmission failed", "protocol", st.Protocol, "session", st.Session, "to", sf.to, "err", err)
				}
			}
		}
	}
}

func (r *Runner) newRun(ctx context.Context, first round.Round) (*run, error) {
	if r.Conn == nil || first == nil || len(r.Identity) != ed25519.PrivateKeySize {
		return nil, errors.New("mpc: runner needs a Conn, a first round and an identity key")
	}
	st := &run{
		Runner: r, ctx: ctx, cur: first,
		keys: round.Keyring{}, nodes: map[round.PartyID]transport.NodeID{},
		seen: map[slot][32]byte{}, pending: map[uint16][]inbound{}, myBcast: map[uint16][32]byte{},
		sent: map[uint16][]sentFrame{}, accepted: map[[32]byte]bool{},
	}
	ids := make([]round.PartyID, 0, len(r.Peers))
	for _, p := range r.Peers {
		if len(p.Key) != ed25519.PublicKeySize || p.Node == "" {
			return nil, fmt.Errorf("mpc: peer %d needs a node id and an identity key", p.ID)
		}
		if _, dup := st.keys[p.ID]; dup {
			return nil, fmt.Errorf("mpc: peer %d listed twice", p.ID)
		}
		st.keys[p.ID], st.nodes[p.ID] = p.Key, p.Node
		ids = append(ids, p.ID)
		if p.ID != r.Self {
			st.others = append(st.others, p.ID)
		}
	}
	slices.Sort(ids)
	if err := round.ValidateParties(ids, r.Self); err != nil {
		return nil, fmt.Errorf("mpc: %w", err)
	}
	if r.MaxBuffered == 0 {
		r.MaxBuffered = 1024
	}
	if r.Retransmit == 0 {
		r.Retransmit = 250 * time.Millisecond
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	st.resetRound()
	return st, nil
}

func (st *run) resetRound() {
	st.bcast = map[round.PartyID]inbound{}
	st.direct = map[round.PartyID]inbound{}
	st.echoes = map[round.PartyID][]echoEntry{}
	st.echoSent, st.stored = false, false
}

func (st *run) reject(from transport.NodeID, err error) {
	st.Logger.Debug("mpc: frame rejected", "protocol", st.Protocol, "session", st.Session, "from", from, "err", err)
	if st.Rejected != nil {
		st.Rejected(from, fmt.Errorf("%w: %w", ErrRejected, err))
	}
}

func (st *run) abort(rnd uint16, sentinel error, reason string, culprits ...round.PartyID) error {
	e := round.Blame(st.Protocol, rnd, sentinel, reason, culprits...)
	st.Logger.Warn("mpc: ceremony aborted", "protocol", st.Protocol, "session", st.Session, "round", rnd, "culprits", e.Culprits, "reason", reason)
	return e
}

// send seals and sends messages a round produced.
func (st *run) send(out []round.Message) error {
	for _, m := range out {
		if m.Round == complaintRound {
			return fmt.Errorf("mpc: %s: round produced a message for round %d", st.Protocol, complaintRound)
		}
		m.Session, m.From = st.Session, st.Self
		if err := st.sendOne(m, false); err != nil {
			return err
		}
	}
	return nil
}

func (st *run) sendOne(m round.Message, echo bool) error {
	fr, d, err := st.frame(m, echo)
	if err != nil {
		return fmt.Errorf("mpc: %s: %w", st.Protocol, err)
	}
	if m.IsBroadcast() && !echo {
		st.myBcast[m.Round] = d
	}
	to := st.others
	if !m.IsBroadcast() {
		if _, ok := st.nodes[m.To]; !ok || m.To == st.Self {
			return fmt.Errorf("mpc: %s: round addressed a message to non-member %d", st.Protocol, m.To)
		}
		to = []round.PartyID{m.To}
	}
	// Keep the last two rounds' frames for retransmission.
	delete(st.sent, m.Round-2)
	for _, p := range to {
		st.sent[m.Round] = append(st.sent[m.Round], sentFrame{to: p, frame: fr})
		// A failed send is not fatal: the peer may be down, and the
		// deadline names it if its absence matters.
		if err := st.Conn.Send(st.ctx, st.nodes[p], fr); err != nil {
			st.Logger.Warn("mpc: send failed", "protocol", st.Protocol, "session", st.Session, "to", p, "err", err)
		}
	}
	return nil
}

// frame seals m under this party's identity key and frames it for the
// transport; it also returns the digest the signature covers.
func (st *run) frame(m round.Message, echo bool) ([]byte, [32]byte, error) {
	sealed, d, err := round.SealDigest(st.Identity, m, echo)
	if err != nil {
		return nil, d, fmt.Errorf("sealing: %w", err)
	}
	fr, err := encodeFrame(st.Session, sealed)
	if err != nil {
		return nil, d, fmt.Errorf("framing: %w", err)
	}
	return fr, d, nil
}

// accept opens one frame and files or processes its message. Only a proven
// deviation by a session party returns an error.
func (st *run) accept(f transport.Frame) error {
	sess, sealed, err := decodeFrame(f.Payload)
	if err != nil {
		st.reject(f.From, err)
		return nil
	}
	if sess != st.Session {
		st.reject(f.From, fmt.Errorf("frame for session %v", sess))
		return nil
	}
	// An exact copy of an envelope already accepted (a retransmission or a
	// duplicate delivery) is dropped before its signature is checked again.
	env, err := round.Parse(sealed)
	if err != nil {
		st.reject(f.From, err)
		return nil
	}
	d := env.Digest
	if st.accepted[d] {
		return nil
	}
	m, echo, err := env.Open(st.keys.Key)
	if err != nil {
		st.reject(f.From, err)
		return nil
	}
	switch {
	case m.Session != st.Session:
		st.reject(f.From, fmt.Errorf("envelope for session %v inside a frame for %v", m.Session, st.Session))
		return nil
	case m.From == st.Self:
		st.reject(f.From, errors.New("envelope claims to come from this party"))
		return nil
	case m.To != round.Broadcast && m.To != st.Self:
		st.reject(f.From, fmt.Errorf("envelope addressed to party %d", m.To))
		return nil
	case echo && !m.IsBroadcast():
		st.reject(f.From, errors.New("direct echo"))
		return nil
	case m.Round == complaintRound && !echo:
		return st.onComplaint(m)
	case m.Round == 0 || m.Round > st.cur.Number()+maxRoundsAhead:
		st.reject(f.From, fmt.Errorf("round %d out of range", m.Round))
		return nil
	}
	in := inbound{m: m, echo: echo, digest: d, sig: env.Sig}
	k := slot{round: m.Round, from: m.From, kind: kindDirect}
	if echo {
		k.kind = kindEcho
	} else if m.IsBroadcast() {
		k.kind = kindBroadcast
	}
	if prev, ok := st.seen[k]; ok {
		if prev == d {
			return nil // a duplicate delivery
		}
		// Two different envelopes, both signed by m.From, for one slot.
		return st.abort(m.Round, round.ErrEquivocation, "two different signed messages for one slot", m.From)
	}
	switch {
	case m.Round < st.cur.Number():
		st.reject(f.From, fmt.Errorf("message for finished round %d", m.Round))
		return nil
	case m.Round > st.cur.Number():
		if st.npend >= st.MaxBuffered {
			st.reject(f.From, errors.New("too many messages buffered for later rounds"))
			return nil
		}
		st.seen[k], st.accepted[d], st.wait = d, true, 0
		st.pending[m.Round] = append(st.pending[m.Round], in)
		st.npend++
		return nil
	}
	st.seen[k], st.accepted[d], st.wait = d, true, 0
	return st.process(in)
}

// process hands a message of the current round to the round, or records an
// echo.
func (st *run) process(in inbound) error {
	m, n, exp := in.m, st.cur.Number(), st.cur.Expect()
	switch {
	case in.echo:
		if !exp.Broadcast {
			return st.abort(n, round.ErrMalformed, "echo in a round without broadcasts", m.From)
		}
		entries, err := decodeEcho(m.Payload)
		if err != nil {
			return st.abort(n, round.ErrMalformed, "undecodable echo", m.From)
		}
		st.echoes[m.From] = entries
		if st.echoSent {
			return st.checkEcho(m.From, entries)
		}
		return nil
	case m.IsBroadcast() && !exp.Broadcast, !m.IsBroadcast() && !exp.Direct:
		err := st.abort(n, round.ErrMalformed, "message of a kind this round does not take", m.From)
		st.complainAbout(err, &m)
		return err
	}
	if m.IsBroadcast() {
		st.bcast[m.From] = in
	} else {
		st.direct[m.From] = in
	}
	if exp.Broadcast {
		// Held until the echo shows every party got the same broadcasts.
		return nil
	}
	return st.store(m)
}

// store hands one message to the current round. A direct message the round
// refuses, blaming its sender, is put to the other parties in a complaint.
func (st *run) store(m round.Message) error {
	err := st.cur.Store(m)
	if err == nil {
		return nil
	}
	var re *round.Error
	if errors.As(err, &re) {
		st.Logger.Warn("mpc: ceremony aborted", "protocol", st.Protocol, "session", st.Session, "round", st.cur.Number(), "culprits", re.Culprits)
	} else {
		err = st.abort(st.cur.Number(), fmt.Errorf("%w: %w", round.ErrMalformed, err), "round refused the message", m.From)
	}
	st.complainAbout(err, &m)
	return err
}

// storeHeld stores a broadcast round's messages once its echo has passed:
// broadcasts, then direct messages, each in party order. Deferring them means
// a party sent an invalid broadcast to some peers only is caught by the echo
// and named by all, instead of one peer aborting alone and the rest then
// blaming that peer for its silence.
func (st *run) storeHeld() error {
	for _, p := range st.others {
		if err := st.store(st.bcast[p].m); err != nil {
			return err
		}
	}
	for _, p := range st.others {
		if in, ok := st.direct[p]; ok {
			if err := st.store(in.m); err != nil {
				return err
			}
		}
	}
	st.stored = true
	return nil
}

// checkEcho compares one peer's echo with this party's view of the round's
// broadcasts. A mismatch is settled by the signature in the echo: if the
// original sender signed the other digest, the sender equivocated; if not,
// the echoer forged it.
func (st *run) checkEcho(echoer round.PartyID, entries []echoEntry) error {
	n := st.cur.Number()
	if len(entries) != len(st.others) {
		return st.abort(n, round.ErrMalformed, "echo has the wrong number of entries", echoer)
	}
	covered := map[round.PartyID]bool{}
	for _, e := range entries {
		k := round.PartyID(e.From)
		if _, member := st.keys[k]; !member || k == echoer || covered[k] {
			return st.abort(n, round.ErrMalformed, "echo names a wrong party", echoer)
		}
		covered[k] = true
		var want [32]byte
		if k == st.Self {
			want = st.myBcast[n]
		} else {
			want = st.bcast[k].digest
		}
		if bytes.Equal(e.Digest, want[:]) {
			continue
		}
		var d [32]byte
		copy(d[:], e.Digest)
		if k != st.Self && round.VerifyDigest(st.keys[k], d, e.Sig) {
			return st.abort(n, round.ErrEquivocation, fmt.Sprintf("party %d signed different broadcasts for parties %d and %d", k, st.Self, echoer), k)
		}
		return st.abort(n, round.ErrEquivocation, fmt.Sprintf("echo misreports party %d's broadcast", k), echoer)
	}
	return nil
}

// advance finalizes rounds while they are complete, feeding each new round
// the messages buffered for it.
func (st *run) advance() (any, bool, error) {
	for {
		if o, ok := st.cur.(*round.Output); ok {
			return o.Result, true, nil
		}
		exp := st.cur.Expect()
		n := st.cur.Number()
		if exp.Broadcast && !st.echoSent && len(st.bcast) == len(st.others) {
			if err := st.sendEcho(n); err != nil {
				return nil, false, err
			}
			for from, entries := range st.echoes {
				if err := st.checkEcho(from, entries); err != nil {
					return nil, false, err
				}
			}
		}
		if exp.Broadcast && (!st.echoSent || len(st.echoes) < len(st.others)) {
			return nil, false, nil
		}
		if exp.Direct && len(st.direct) < len(st.others) {
			return nil, false, nil
		}
		if exp.Broadcast && !st.stored {
			if err := st.storeHeld(); err != nil {
				return nil, false, err
			}
		}
		next, out, err := st.cur.Finalize()
		if err != nil {
			var re *round.Error
			if errors.As(err, &re) {
				st.complainAbout(err, nil)
				return nil, false, err
			}
			return nil, false, fmt.Errorf("mpc: %s round %d: %w", st.Protocol, n, err)
		}
		if next == nil {
			return nil, false, fmt.Errorf("mpc: %s round %d finalized into nothing", st.Protocol, n)
		}
		st.cur = next
		st.resetRound()
		if err := st.send(out); err != nil {
			return nil, false, err
		}
		buffered := st.pending[next.Number()]
		delete(st.pending, next.Number())
		st.npend -= len(buffered)
		for _, in := range buffered {
			if err := st.process(in); err != nil {
				return nil, false, err
			}
		}
	}
}

func (st *run) sendEcho(n uint16) error {
	body := echoBody{}
	for _, p := range st.others {
		in := st.bcast[p]
		body.Entries = append(body.Entries, echoEntry{From: uint16(p), Digest: in.digest[:], Sig: in.sig})
	}
	payload, err := wire.Marshal(body)
	if err != nil {
		return err
	}
	st.echoSent = true
	return st.sendOne(round.Message{Session: st.Session, Round: n, From: st.Self, To: round.Broadcast, Payload: payload}, true)
}

// missing lists the peers whose messages for the current round have not all
// come.
func (st *run) missing() []round.PartyID {
	exp := st.cur.Expect()
	var out []round.PartyID
	for _, p := range st.others {
		_, b := st.bcast[p]
		_, e := st.echoes[p]
		_, d := st.direct[p]
		if (exp.Broadcast && (!b || (st.echoSent && !e))) || (exp.Direct && !d) {
			out = append(out, p)
		}
	}
	return out
}

// deadline builds the error for a run cut short: the culprits are the
// parties whose messages for the current round never came.
func (st *run) deadline(cause error) error {
	return st.abort(st.cur.Number(), fmt.Errorf("%w: %w", round.ErrDeadline, cause), "messages missing at the deadline", st.missing()...)
}
