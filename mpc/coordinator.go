package mpc

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/ecdsa"
	"github.com/cairn-mpc/cairn/mpc/frost"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/transport"
)

const bucketCoordKeys = "mpc/coordinator/keys" // key id → public key record

// CoordinatorConfig wires a coordinator. Fields without a default are
// required.
type CoordinatorConfig struct {
	// Node is the coordinator's id on the network.
	Node transport.NodeID
	// Identity signs its requests; signers know its public key.
	Identity ed25519.PrivateKey
	// Transport is its endpoint.
	Transport transport.Transport
	// Store keeps its record of keys (public data only).
	Store store.Store
	// Signers maps every signer it may use to that signer's identity key.
	Signers map[transport.NodeID]ed25519.PublicKey
	// AttemptTimeout bounds one signing attempt; zero means 10 s.
	AttemptTimeout time.Duration
	// KeygenTimeout bounds a key generation, which every signer must
	// finish; zero means 60 s.
	KeygenTimeout time.Duration
	// Logger gets metadata only. Nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Coordinator starts ceremonies among signers and keeps the public record of
// keys. It never sees a share: it sends requests, collects public keys and
// signatures, and verifies every signature before returning it.
type Coordinator struct {
	cfg CoordinatorConfig
	log *slog.Logger

	mu      sync.Mutex
	waiting map[[16]byte]chan answer
	keys    map[string]*KeyInfo
	suspect map[transport.NodeID]time.Time // signers that recently failed
}

type answer struct {
	from transport.NodeID
	resp ceremonyResponse
}

// ErrNoQuorum is the cause of a ceremony that could not find enough signers
// that answer.
var ErrNoQuorum = errors.New("mpc: no quorum of signers answered")

// CeremonyError says why a ceremony failed, signer by signer.
type CeremonyError struct {
	Op       string // "keygen" or "sign"
	KeyID    string
	Attempts int
	// NoAnswer lists the signers that did not answer the coordinator in
	// time.
	NoAnswer []transport.NodeID
	// Silent lists the signers that their peers in the ceremony reported
	// silent at its deadline: down, partitioned or overloaded. Unlike
	// Culprits, nothing is proven against them.
	Silent []transport.NodeID
	// Refused maps signers that declined to their reason (a gate refusal,
	// an unknown key, a bad request).
	Refused map[transport.NodeID]string
	// Culprits are the signers the protocol named as deviating.
	Culprits []transport.NodeID
	// Err is the underlying cause, for errors.Is: ErrNoQuorum,
	// ErrGateRefused, ErrUnknownKey, round.ErrDeadline, ...
	Err error
}

func (e *CeremonyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mpc: %s", e.Op)
	if e.KeyID != "" {
		fmt.Fprintf(&b, " of key %s", e.KeyID)
	}
	fmt.Fprintf(&b, " failed after %d attempt(s)", e.Attempts)
	if len(e.NoAnswer) > 0 {
		fmt.Fprintf(&b, "; no answer from %v", e.NoAnswer)
	}
	if len(e.Refused) > 0 {
		nodes := make([]string, 0, len(e.Refused))
		for n := range e.Refused {
			nodes = append(nodes, string(n))
		}
		sort.Strings(nodes)
		for _, n := range nodes {
			fmt.Fprintf(&b, "; %s refused: %s", n, e.Refused[transport.NodeID(n)])
		}
	}
	if len(e.Silent) > 0 {
		fmt.Fprintf(&b, "; reported silent %v", e.Silent)
	}
	if len(e.Culprits) > 0 {
		fmt.Fprintf(&b, "; culprits %v", e.Culprits)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *CeremonyError) Unwrap() error { return e.Err }

// NewCoordinator checks cfg and returns a coordinator; call Run to receive
// signers' answers.
func NewCoordinator(cfg CoordinatorConfig) (*Coordinator, error) {
	switch {
	case cfg.Node == "" || len(cfg.Identity) != ed25519.PrivateKeySize:
		return nil, errors.New("mpc: coordinator needs a node id and an Ed25519 identity key")
	case cfg.Transport == nil || cfg.Store == nil:
		return nil, errors.New("mpc: coordinator needs a transport and a store")
	case len(cfg.Signers) == 0:
		return nil, errors.New("mpc: coordinator needs signers")
	}
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = 10 * time.Second
	}
	if cfg.KeygenTimeout == 0 {
		cfg.KeygenTimeout = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Coordinator{
		cfg: cfg, log: log.With("coordinator", cfg.Node),
		waiting: map[[16]byte]chan answer{}, keys: map[string]*KeyInfo{}, suspect: map[transport.NodeID]time.Time{},
	}, nil
}

// Run receives signers' answers until ctx ends or the transport closes.
func (c *Coordinator) Run(ctx context.Context) error {
	for {
		f, err := c.cfg.Transport.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("mpc: coordinator %s: %w", c.cfg.Node, err)
		}
		msg, err := openControl(c.cfg.Signers, c.cfg.Node, f.Payload)
		if err != nil || msg.Kind != ctlResponse {
			c.log.Warn("mpc: frame refused", "from", f.From, "err", err)
			continue
		}
		var resp ceremonyResponse
		if err := wire.Unmarshal(msg.Payload, &resp); err != nil {
			c.log.Warn("mpc: undecodable answer", "from", msg.From, "err", err)
			continue
		}
		c.mu.Lock()
		ch, ok := c.waiting[msg.ID]
		c.mu.Unlock()
		if ok {
			select {
			case ch <- answer{from: msg.From, resp: resp}:
			default:
			}
		}
	}
}

// attempt sends one request to nodes and collects their answers until all
// have answered or ctx ends.
func (c *Coordinator) attempt(ctx context.Context, nodes []transport.NodeID, req *ceremonyRequest) (map[transport.NodeID]ceremonyResponse, []transport.NodeID, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, nil, err
	}
	return c.attemptWithID(ctx, id, nodes, req)
}

// attemptWithID is attempt with a request id chosen by the caller.
func (c *Coordinator) attemptWithID(ctx context.Context, id [16]byte, nodes []transport.NodeID, req *ceremonyRequest) (map[transport.NodeID]ceremonyResponse, []transport.NodeID, error) {
	timeout := c.cfg.AttemptTimeout
	if req.Op == opDKG {
		timeout = c.cfg.KeygenTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Signers stop at 80% of the attempt, so that those left waiting for a
	// silent peer can still report it before the coordinator stops
	// listening.
	d, _ := ctx.Deadline()
	req.Deadline = c.cfg.Now().Add(time.Until(d) * 8 / 10).UnixMilli()
	payload, err := wire.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan answer, len(nodes))
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	for _, n := range nodes {
		fr, err := sealControl(c.cfg.Identity, c.cfg.Node, n, ctlRequest, id, payload)
		if err != nil {
			return nil, nil, err
		}
		if err := c.cfg.Transport.Send(ctx, n, fr); err != nil {
			c.log.Warn("mpc: request not sent", "to", n, "err", err)
		}
	}
	got := map[transport.NodeID]ceremonyResponse{}
	for len(got) < len(nodes) {
		select {
		case a := <-ch:
			if !slices.Contains(nodes, a.from) {
				continue
			}
			got[a.from] = a.resp
			if !a.resp.OK && a.resp.Code != codeAborted && a.resp.Code != codeTimeout {
				// A refusal dooms the attempt: stop the others now. They
				// were cut short, so they are not reported as silent.
				c.cancel(nodes, id)
				return got, nil, nil
			}
		case <-ctx.Done():
			c.cancel(nodes, id)
			return got, missingFrom(nodes, got), nil
		}
	}
	return got, nil, nil
}

// cancel tells nodes to stop the ceremony of request id.
func (c *Coordinator) cancel(nodes []transport.NodeID, id [16]byte) {
	ctx, done := context.WithTimeout(context.Background(), time.Second)
	defer done()
	for _, n := range nodes {
		if fr, err := sealControl(c.cfg.Identity, c.cfg.Node, n, ctlCancel, id, nil); err == nil {
			_ = c.cfg.Transport.Send(ctx, n, fr)
		}
	}
}

func missingFrom(nodes []transport.NodeID, got map[transport.NodeID]ceremonyResponse) []transport.NodeID {
	var out []transport.NodeID
	for _, n := range nodes {
		if _, ok := got[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// GenerateKey runs a DKG among spec.Signers (every one must take part) and
// records the key's public data.
func (c *Coordinator) GenerateKey(ctx context.Context, spec KeySpec) (*KeyInfo, error) {
	if err := spec.Scheme.valid(); err != nil {
		return nil, err
	}
	n := len(spec.Signers)
	minT, maxN := 1, dkg.MaxParties
	if spec.Scheme == ECDSA {
		minT, maxN = 2, ecdsa.MaxParties
	}
	if n == 0 || n > maxN || spec.Threshold < minT || spec.Threshold > n {
		return nil, fmt.Errorf("mpc: threshold %d of %d signers is not possible for %s", spec.Threshold, n, spec.Scheme)
	}
	parties := make([]partyRef, n)
	for i, node := range spec.Signers {
		if _, ok := c.cfg.Signers[node]; !ok {
			return nil, fmt.Errorf("mpc: unknown signer %q", node)
		}
		if slices.Index(spec.Signers, node) != i {
			return nil, fmt.Errorf("mpc: signer %q listed twice", node)
		}
		parties[i] = partyRef{ID: uint16(i + 1), Node: string(node)}
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	keyID := hex.EncodeToString(raw[:])
	req := &ceremonyRequest{Op: opDKG, KeyID: keyID, Scheme: string(spec.Scheme), Threshold: uint16(spec.Threshold), Parties: parties}
	got, missing, err := c.attempt(ctx, spec.Signers, req)
	if err != nil {
		return nil, err
	}
	cerr := c.failures("keygen", keyID, 1, got, missing, parties)
	if cerr != nil {
		return nil, cerr
	}
	// Every signer must report the same public key record.
	var pubBytes []byte
	for _, node := range spec.Signers {
		k := got[node].Key
		if pubBytes == nil {
			pubBytes = k
		} else if !bytes.Equal(pubBytes, k) {
			return nil, &CeremonyError{Op: "keygen", KeyID: keyID, Attempts: 1, Err: fmt.Errorf("%w: signers disagree on the public key", round.ErrEquivocation)}
		}
	}
	pub := &dkg.PublicKey{}
	if err := pub.UnmarshalBinary(pubBytes); err != nil {
		return nil, fmt.Errorf("mpc: keygen of %s: public key record: %w", keyID, err)
	}
	info, err := keyInfoFrom(keyID, spec.Scheme, parties, pub)
	if err != nil {
		return nil, err
	}
	if err := c.saveKey(ctx, keyID, spec.Scheme, parties, pubBytes); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.keys[keyID] = info
	c.mu.Unlock()
	c.log.Info("mpc: key generated", "key", keyID, "scheme", spec.Scheme, "threshold", spec.Threshold, "signers", n)
	return info, nil
}

// failures turns an attempt's answers into a *CeremonyError, or nil when
// every signer answered OK.
func (c *Coordinator) failures(op, keyID string, attempts int, got map[transport.NodeID]ceremonyResponse, missing []transport.NodeID, parties []partyRef) *CeremonyError {
	e := &CeremonyError{Op: op, KeyID: keyID, Attempts: attempts, NoAnswer: missing, Refused: map[transport.NodeID]string{}}
	var causes []error
	culprits, silent := map[transport.NodeID]bool{}, map[transport.NodeID]bool{}
	nodeOf := func(p uint16) (transport.NodeID, bool) {
		i := slices.IndexFunc(parties, func(x partyRef) bool { return x.ID == p })
		if i < 0 {
			return "", false
		}
		return transport.NodeID(parties[i].Node), true
	}
	failed := false
	for node, r := range got {
		if r.OK {
			continue
		}
		failed = true
		switch r.Code {
		case codeAborted, codeTimeout:
			for _, p := range r.Culprits {
				if n, ok := nodeOf(p); ok && r.Code == codeAborted {
					culprits[n] = true
				} else if ok {
					silent[n] = true
				}
			}
		case codeGateRefused:
			e.Refused[node] = r.Reason
			causes = append(causes, ErrGateRefused)
		case codeUnknownKey:
			e.Refused[node] = r.Reason
			causes = append(causes, ErrUnknownKey)
		default:
			e.Refused[node] = r.Reason
		}
	}
	if !failed && len(missing) == 0 {
		return nil
	}
	for n := range culprits {
		e.Culprits = append(e.Culprits, n)
	}
	for n := range silent {
		if !slices.Contains(missing, n) {
			e.Silent = append(e.Silent, n)
		}
	}
	slices.Sort(e.Culprits)
	slices.Sort(e.Silent)
	if len(missing) > 0 || len(e.Silent) > 0 {
		causes = append(causes, round.ErrDeadline)
	}
	if len(e.Culprits) > 0 {
		causes = append(causes, round.ErrMalformed)
	}
	e.Err = errors.Join(causes...)
	return e
}

type coordKeyRecord struct {
	_       struct{} `cbor:",toarray"`
	KeyID   string
	Scheme  string
	Parties []partyRef
	Public  []byte
}

func (c *Coordinator) saveKey(ctx context.Context, id string, scheme Scheme, parties []partyRef, pub []byte) error {
	rec, err := wire.Marshal(coordKeyRecord{KeyID: id, Scheme: string(scheme), Parties: parties, Public: pub})
	if err != nil {
		return err
	}
	return c.cfg.Store.Update(ctx, func(tx store.Tx) error {
		return tx.Put(bucketCoordKeys, []byte(id), rec)
	})
}

// Key returns the public record of a key.
func (c *Coordinator) Key(ctx context.Context, id string) (*KeyInfo, error) {
	c.mu.Lock()
	info, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return info, nil
	}
	raw, err := keyRecordBytes(ctx, c.cfg.Store, bucketCoordKeys, id)
	if err != nil {
		return nil, err
	}
	var rec coordKeyRecord
	if err := wire.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("mpc: key record %s: %w", id, err)
	}
	pub := &dkg.PublicKey{}
	if err := pub.UnmarshalBinary(rec.Public); err != nil {
		return nil, fmt.Errorf("mpc: key record %s: %w", id, err)
	}
	info, err = keyInfoFrom(rec.KeyID, Scheme(rec.Scheme), rec.Parties, pub)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.keys[id] = info
	c.mu.Unlock()
	return info, nil
}

// Sign obtains a signature from a quorum of the key's signers. It prefers
// signers that have not failed recently, and when an attempt fails (a signer
// does not answer, refuses or is named a culprit) it tries another quorum
// without them, until ctx ends or fewer than t signers remain. The
// signature is verified under the key before it is returned.
func (c *Coordinator) Sign(ctx context.Context, r SignRequest) (*Signature, error) {
	info, err := c.Key(ctx, r.KeyID)
	if err != nil {
		return nil, err
	}
	if info.Scheme == ECDSA {
		if len(r.Message) != 32 {
			return nil, fmt.Errorf("mpc: an ECDSA key signs a 32-byte digest, not %d bytes", len(r.Message))
		}
		if sig, err := c.signPresigned(ctx, info, r); sig != nil || err != nil {
			return sig, err
		}
	}
	want := info.PublicKey
	req := &ceremonyRequest{Op: opSign, KeyID: info.ID, Scheme: string(info.Scheme), Threshold: uint16(info.Threshold), Parties: info.partyRefs(), Message: r.Message, Evidence: r.Evidence}
	if r.Taproot != nil {
		if info.Scheme != Schnorr {
			return nil, fmt.Errorf("mpc: a Taproot tweak needs a %s key, not %s", Schnorr, info.Scheme)
		}
		req.Taproot, req.Merkle = true, r.Taproot.MerkleRoot
		if want, err = frost.OutputKey(info.Public.GroupKey, r.Taproot); err != nil {
			return nil, err
		}
	}
	// Refusals and proven culprits are excluded for the rest of the call;
	// silent signers only go to the back of the queue, since overload looks
	// the same as a crash. Attempts are bounded so a call with too few live
	// signers ends, naming them, instead of cycling until ctx ends.
	excluded := map[transport.NodeID]bool{}
	total := &CeremonyError{Op: "sign", KeyID: info.ID, Refused: map[transport.NodeID]string{}}
	maxAttempts := max(2, len(info.Parties)-info.Threshold+1)
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		quorum := c.quorum(info, excluded)
		if len(quorum) < info.Threshold {
			break
		}
		req.Signers = req.Signers[:0]
		nodes := make([]transport.NodeID, len(quorum))
		for i, p := range quorum {
			req.Signers = append(req.Signers, uint16(p.ID))
			nodes[i] = p.Node
		}
		got, missing, err := c.attempt(ctx, nodes, req)
		if err != nil {
			return nil, err
		}
		total.Attempts = attempt
		cerr := c.failures("sign", info.ID, attempt, got, missing, req.Parties)
		if cerr == nil {
			if sig, ok := agreedSignature(got, nodes); ok {
				return c.verified(info, want, r.Message, sig, nodes)
			}
			cerr = &CeremonyError{Op: "sign", KeyID: info.ID, Attempts: attempt, Err: fmt.Errorf("%w: signers returned different signatures", round.ErrEquivocation)}
		}
		c.log.Warn("mpc: signing attempt failed", "key", info.ID, "attempt", attempt, "err", cerr)
		total.merge(cerr)
		for n := range cerr.Refused {
			excluded[n] = true
		}
		for _, n := range cerr.Culprits {
			excluded[n] = true
		}
		c.suspectNodes(cerr)
		if errors.Is(cerr, ErrGateRefused) {
			// A gate is a veto, not an outage: no other quorum is tried.
			return nil, total
		}
		if ctx.Err() != nil {
			total.Err = errors.Join(total.Err, ctx.Err())
			return nil, total
		}
	}
	total.Err = errors.Join(ErrNoQuorum, total.Err)
	return nil, total
}

// agreedSignature returns the signature every node of a quorum returned, and
// false if they returned different ones.
func agreedSignature(got map[transport.NodeID]ceremonyResponse, nodes []transport.NodeID) ([]byte, bool) {
	sig := got[nodes[0]].Signature
	for _, n := range nodes[1:] {
		if !bytes.Equal(got[n].Signature, sig) {
			return nil, false
		}
	}
	return sig, true
}

// verified checks the signature a quorum agreed on under pub, the key it
// must verify under, and returns it.
func (c *Coordinator) verified(info *KeyInfo, pub, msg, sig []byte, nodes []transport.NodeID) (*Signature, error) {
	if err := verifySignature(info.Scheme, pub, msg, sig); err != nil {
		return nil, fmt.Errorf("mpc: signature of key %s does not verify: %w", info.ID, err)
	}
	c.healthy(nodes)
	return &Signature{KeyID: info.ID, Scheme: info.Scheme, PublicKey: pub, Bytes: sig, Signers: nodes}, nil
}

// merge adds what one attempt learned to the call's error.
func (e *CeremonyError) merge(o *CeremonyError) {
	add := func(list *[]transport.NodeID, ns []transport.NodeID) {
		for _, n := range ns {
			if !slices.Contains(*list, n) {
				*list = append(*list, n)
			}
		}
		slices.Sort(*list)
	}
	add(&e.NoAnswer, o.NoAnswer)
	add(&e.Silent, o.Silent)
	add(&e.Culprits, o.Culprits)
	for n, why := range o.Refused {
		e.Refused[n] = why
	}
	for _, cause := range []error{ErrGateRefused, ErrUnknownKey, round.ErrDeadline, round.ErrMalformed, round.ErrEquivocation} {
		if errors.Is(o.Err, cause) && !errors.Is(e.Err, cause) {
			e.Err = errors.Join(e.Err, cause)
		}
	}
}

// quorum picks the key's first t parties not excluded, those not suspected
// of recent failure first.
func (c *Coordinator) quorum(info *KeyInfo, excluded map[transport.NodeID]bool) []KeyParty {
	c.mu.Lock()
	defer c.mu.Unlock()
	var fresh, stale []KeyParty
	for _, p := range info.Parties {
		switch {
		case excluded[p.Node]:
		case !c.suspect[p.Node].IsZero() && c.cfg.Now().Sub(c.suspect[p.Node]) < time.Minute:
			stale = append(stale, p)
		default:
			fresh = append(fresh, p)
		}
	}
	// The longest-suspected first: the next attempt tries a signer not
	// tried since, so a bounded number of attempts visits every one.
	slices.SortStableFunc(stale, func(a, b KeyParty) int { return c.suspect[a.Node].Compare(c.suspect[b.Node]) })
	all := append(fresh, stale...)
	if len(all) > info.Threshold {
		all = all[:info.Threshold]
	}
	slices.SortFunc(all, func(a, b KeyParty) int { return int(a.ID) - int(b.ID) })
	return all
}

func (c *Coordinator) suspectNodes(e *CeremonyError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	for _, list := range [][]transport.NodeID{e.NoAnswer, e.Silent, e.Culprits} {
		for _, n := range list {
			c.suspect[n] = now
		}
	}
}

func (c *Coordinator) healthy(nodes []transport.NodeID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range nodes {
		delete(c.suspect, n)
	}
}
