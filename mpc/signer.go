package mpc

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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

// Buckets a signer keeps in its store.
const (
	bucketKeys     = "mpc/keys"     // key id → sealed keyRecord
	bucketSessions = "mpc/sessions" // session id → deadline (Unix ms), for refusing reuse
	bucketPresigs  = "mpc/presigs"  // key id/request id → sealed ECDSA presignature
)

// maxCeremony bounds how far in the future a request's deadline may be.
const maxCeremony = 10 * time.Minute

// SignerConfig wires one signer. Every field without a documented default is
// required.
type SignerConfig struct {
	// Node is this signer's id on the network.
	Node transport.NodeID
	// Identity signs this signer's protocol and control messages.
	Identity ed25519.PrivateKey
	// Transport is this signer's endpoint.
	Transport transport.Transport
	// Store is this signer's own store: its sealed shares and the session
	// ids it has served.
	Store store.Store
	// Sealer seals key shares at rest, each record bound to this signer's
	// node id and the key id.
	Sealer *store.Sealer
	// Peers holds the identity key of every other signer and of every
	// coordinator this signer talks to.
	Peers map[transport.NodeID]ed25519.PublicKey
	// Coordinators are the nodes allowed to start ceremonies.
	Coordinators []transport.NodeID
	// Gate, if set, must approve every signature before this signer takes
	// part.
	Gate Gate
	// Logger gets metadata only, never secrets. Nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// shareRef is what a key-share record is sealed to: this signer, the key,
// the record kind and the keyRecord format version.
func (s *Signer) shareRef(keyID string) store.RecordRef {
	return store.RecordRef{Signer: string(s.cfg.Node), KeyID: keyID, Kind: "share", Version: 1}
}

// Signer is one MPC node: it holds its key shares, sealed, in its own store
// and takes part in the ceremonies a coordinator starts. No share leaves it;
// the coordinator sees only public keys and signatures.
type Signer struct {
	cfg SignerConfig
	log *slog.Logger
	mux *Mux

	mu      sync.Mutex
	keys    map[string]*loadedKey           // unsealed shares, by key id
	running map[[16]byte]context.CancelFunc // ceremonies by request id
}

// NewSigner checks cfg and returns a signer; call Run to serve.
func NewSigner(cfg SignerConfig) (*Signer, error) {
	switch {
	case cfg.Node == "":
		return nil, errors.New("mpc: signer needs a node id")
	case len(cfg.Identity) != ed25519.PrivateKeySize:
		return nil, errors.New("mpc: signer needs an Ed25519 identity key")
	case cfg.Transport == nil || cfg.Store == nil || cfg.Sealer == nil:
		return nil, errors.New("mpc: signer needs a transport, a store and a sealer")
	case len(cfg.Coordinators) == 0:
		return nil, errors.New("mpc: signer needs at least one coordinator")
	}
	for _, c := range cfg.Coordinators {
		if _, ok := cfg.Peers[c]; !ok {
			return nil, fmt.Errorf("mpc: no identity key for coordinator %q", c)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("signer", cfg.Node)
	return &Signer{
		cfg: cfg, log: log, mux: NewMux(cfg.Transport, log),
		keys: map[string]*loadedKey{}, running: map[[16]byte]context.CancelFunc{},
	}, nil
}

// Run serves until ctx ends or the transport closes, then waits for the
// ceremonies it started to stop.
func (s *Signer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	muxDone := make(chan error, 1)
	go func() { muxDone <- s.mux.Run(ctx) }()
	ctl, err := s.mux.Open(ControlSession)
	if err != nil {
		cancel()
		<-muxDone
		return err
	}
	keys := map[transport.NodeID]ed25519.PublicKey{}
	for _, c := range s.cfg.Coordinators {
		keys[c] = s.cfg.Peers[c]
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.pruneSessions(ctx)
	}()
	for {
		f, err := ctl.Receive(ctx)
		if err != nil {
			cancel()
			mErr := <-muxDone
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("mpc: signer %s: %w", s.cfg.Node, errors.Join(err, mErr))
		}
		msg, err := openControl(keys, s.cfg.Node, f.Payload)
		if err != nil {
			s.log.Warn("mpc: control frame refused", "from", f.From, "err", err)
			continue
		}
		switch msg.Kind {
		case ctlRequest:
			var req ceremonyRequest
			if err := wire.Unmarshal(msg.Payload, &req); err != nil {
				s.respond(ctx, msg, failure(codeBadRequest, "undecodable request"))
				continue
			}
			cctx, ccancel := context.WithCancel(ctx)
			s.mu.Lock()
			if _, dup := s.running[msg.ID]; dup {
				s.mu.Unlock()
				ccancel()
				continue // a retransmitted request
			}
			s.running[msg.ID] = ccancel
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					s.mu.Lock()
					delete(s.running, msg.ID)
					s.mu.Unlock()
					ccancel()
				}()
				s.respond(ctx, msg, s.serve(cctx, msg.ID, &req))
			}()
		case ctlCancel:
			s.mu.Lock()
			if c, ok := s.running[msg.ID]; ok {
				c()
			}
			s.mu.Unlock()
		}
	}
}

func failure(code uint8, reason string, culprits ...round.PartyID) *ceremonyResponse {
	r := &ceremonyResponse{Code: code, Reason: reason}
	for _, c := range culprits {
		r.Culprits = append(r.Culprits, uint16(c))
	}
	return r
}

func (s *Signer) respond(ctx context.Context, req controlMsg, resp *ceremonyResponse) {
	payload, err := wire.Marshal(resp)
	if err == nil {
		var fr []byte
		if fr, err = sealControl(s.cfg.Identity, s.cfg.Node, req.From, ctlResponse, req.ID, payload); err == nil {
			err = s.cfg.Transport.Send(ctx, req.From, fr)
		}
	}
	if err != nil {
		s.log.Warn("mpc: could not answer the coordinator", "to", req.From, "err", err)
	}
}

// serve validates a request and runs its ceremony.
func (s *Signer) serve(ctx context.Context, id [16]byte, req *ceremonyRequest) *ceremonyResponse {
	deadline := time.UnixMilli(req.Deadline)
	now := s.cfg.Now()
	if !deadline.After(now) || deadline.Sub(now) > maxCeremony {
		return failure(codeBadRequest, "deadline in the past or too far ahead")
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	parties := req.parties()
	if err := round.ValidateParties(parties, 0); err != nil {
		return failure(codeBadRequest, err.Error())
	}
	self := round.PartyID(0)
	peers := make(map[round.PartyID]Peer, len(parties))
	for _, p := range req.Parties {
		node := transport.NodeID(p.Node)
		key := s.cfg.Peers[node]
		if node == s.cfg.Node {
			self = round.PartyID(p.ID)
			key = s.cfg.Identity.Public().(ed25519.PublicKey)
		}
		if key == nil {
			return failure(codeBadRequest, fmt.Sprintf("no identity key for party node %q", p.Node))
		}
		peers[round.PartyID(p.ID)] = Peer{ID: round.PartyID(p.ID), Node: node, Key: key}
	}
	if self == 0 {
		return failure(codeBadRequest, "this signer is not a party of the key")
	}
	switch req.Op {
	case opDKG:
		return s.serveDKG(ctx, id, req, self, parties, peers)
	case opSign, opPresign, opSignPresigned:
		return s.serveSign(ctx, id, req, self, peers)
	}
	return failure(codeBadRequest, "unknown operation")
}

// claimSession records a session id durably before the ceremony runs, and
// refuses one this signer has seen.
func (s *Signer) claimSession(ctx context.Context, sid round.SessionID, deadline int64) error {
	return s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(bucketSessions, sid[:]); err == nil {
			return ErrSessionUsed
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.Put(bucketSessions, sid[:], binary.BigEndian.AppendUint64(nil, uint64(deadline)))
	})
}

// pruneInterval is how often a signer forgets expired session ids.
const pruneInterval = 10 * time.Minute

// pruneSessions deletes the recorded session ids whose ceremonies' deadlines
// passed more than a minute ago, at once and then every pruneInterval until
// ctx ends. Forgetting them is safe: a replayed request carries its
// original, signed, deadline and is refused for it.
func (s *Signer) pruneSessions(ctx context.Context) {
	t := time.NewTicker(pruneInterval)
	defer t.Stop()
	for {
		if err := s.pruneOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("mpc: pruning session ids failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Signer) pruneOnce(ctx context.Context) error {
	cutoff := uint64(s.cfg.Now().Add(-time.Minute).UnixMilli())
	return s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var old [][]byte
		err := tx.ForEach(bucketSessions, nil, func(k, v []byte) error {
			if len(v) != 8 || binary.BigEndian.Uint64(v) < cutoff {
				old = append(old, k)
			}
			return nil
		})
		for _, k := range old {
			if err == nil {
				err = tx.Delete(bucketSessions, k)
			}
		}
		return err
	})
}

// run drives one ceremony through the mux.
func (s *Signer) run(ctx context.Context, protocol string, sid round.SessionID, self round.PartyID, peers []Peer, first round.Round, out []round.Message) (any, error) {
	conn, err := s.mux.Open(sid)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	r := &Runner{Conn: conn, Protocol: protocol, Session: sid, Self: self, Identity: s.cfg.Identity, Peers: peers, Logger: s.log}
	return r.Run(ctx, first, out)
}

func abortResponse(err error) *ceremonyResponse {
	var ae *AbortError
	if errors.As(err, &ae) {
		if errors.Is(err, round.ErrDeadline) {
			return failure(codeTimeout, ae.Error(), ae.Culprits...)
		}
		return failure(codeAborted, ae.Error(), ae.Culprits...)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return failure(codeTimeout, "ceremony cancelled")
	}
	return failure(codeInternal, "ceremony failed")
}

func (s *Signer) serveDKG(ctx context.Context, id [16]byte, req *ceremonyRequest, self round.PartyID, parties []round.PartyID, peers map[round.PartyID]Peer) *ceremonyResponse {
	scheme := Scheme(req.Scheme)
	if err := scheme.valid(); err != nil {
		return failure(codeBadRequest, err.Error())
	}
	if req.KeyID == "" || len(req.KeyID) > 128 {
		return failure(codeBadRequest, "bad key id")
	}
	if _, err := s.loadKey(ctx, req.KeyID); err == nil {
		return failure(codeBadRequest, "key id already exists")
	}
	protocol := dkg.Protocol
	if scheme == ECDSA {
		protocol = ecdsa.Protocol + "-keygen"
	}
	sid := round.NewSessionID(protocol, []byte(req.KeyID), parties, id[:])
	if err := s.claimSession(ctx, sid, req.Deadline); err != nil {
		return failure(codeSessionUsed, "session id already used")
	}
	ring := round.Keyring{}
	list := make([]Peer, 0, len(peers))
	for _, p := range parties {
		ring[p] = peers[p].Key
		list = append(list, peers[p])
	}
	var (
		first round.Round
		out   []round.Message
		err   error
	)
	if scheme == ECDSA {
		first, out, err = ecdsa.NewKeygen(ecdsa.KeygenConfig{Session: sid, Self: self, Parties: parties, Threshold: int(req.Threshold), Evidence: ring})
	} else {
		suite, _ := scheme.suite()
		first, out, err = dkg.Start(dkg.Config{Curve: suite.Curve(), Session: sid, Self: self, Parties: parties, Threshold: int(req.Threshold), Evidence: ring})
	}
	if err != nil {
		return failure(codeBadRequest, err.Error())
	}
	res, err := s.run(ctx, protocol, sid, self, list, first, out)
	if err != nil {
		return abortResponse(err)
	}
	var (
		rec []byte
		pub *dkg.PublicKey
	)
	switch share := res.(type) {
	case *dkg.KeyShare:
		rec, err = encodeKeyRecord(req.KeyID, scheme, req.Parties, share)
		pub = share.Public()
	case *ecdsa.KeyShare:
		rec, err = encodeKeyRecord(req.KeyID, ECDSA, req.Parties, share)
		pub = share.Public()
	default:
		return failure(codeInternal, "unexpected key generation result")
	}
	if err != nil {
		return failure(codeInternal, "encoding the key record")
	}
	if err := s.storeShare(ctx, req.KeyID, rec, true); err != nil {
		s.log.Error("mpc: storing a new share failed", "key", req.KeyID, "err", err)
		return failure(codeInternal, "storing the share")
	}
	pubBytes, err := pub.MarshalBinary()
	if err != nil {
		return failure(codeInternal, "encoding the public key")
	}
	s.log.Info("mpc: key generated", "key", req.KeyID, "scheme", scheme, "party", self)
	return &ceremonyResponse{OK: true, Key: pubBytes}
}

// storeShare seals a key record and writes it durably; fresh refuses to
// overwrite an existing record. It clears rec.
func (s *Signer) storeShare(ctx context.Context, keyID string, rec []byte, fresh bool) error {
	sealed, err := s.cfg.Sealer.Seal(ctx, s.shareRef(keyID), rec)
	clear(rec)
	if err != nil {
		return fmt.Errorf("sealing: %w", err)
	}
	return s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(bucketKeys, []byte(keyID)); fresh && err == nil {
			return errors.New("key id already exists")
		}
		return tx.Put(bucketKeys, []byte(keyID), sealed)
	})
}

// ErrUnknownKey reports a key id a signer or coordinator does not hold.
var ErrUnknownKey = errors.New("mpc: unknown key")

// keyRecordBytes reads the record of key id from bucket; a missing record is
// ErrUnknownKey.
func keyRecordBytes(ctx context.Context, st store.Store, bucket, id string) ([]byte, error) {
	var raw []byte
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		raw, err = tx.Get(bucket, []byte(id))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, id)
	}
	return raw, err
}

// loadKey returns the unsealed share of a key, from memory or the store.
func (s *Signer) loadKey(ctx context.Context, id string) (*loadedKey, error) {
	s.mu.Lock()
	k, ok := s.keys[id]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	sealed, err := keyRecordBytes(ctx, s.cfg.Store, bucketKeys, id)
	if err != nil {
		return nil, err
	}
	rec, err := s.cfg.Sealer.Open(ctx, s.shareRef(id), sealed)
	if err != nil {
		return nil, err
	}
	k, err = decodeKeyRecord(rec)
	clear(rec)
	if err != nil {
		return nil, fmt.Errorf("mpc: key %s: %w", id, err)
	}
	if k.id != id {
		return nil, fmt.Errorf("mpc: record under key id %s holds key %s", id, k.id)
	}
	s.mu.Lock()
	s.keys[id] = k
	s.mu.Unlock()
	return k, nil
}

func (s *Signer) serveSign(ctx context.Context, id [16]byte, req *ceremonyRequest, self round.PartyID, peers map[round.PartyID]Peer) *ceremonyResponse {
	k, err := s.loadKey(ctx, req.KeyID)
	if errors.Is(err, ErrUnknownKey) {
		return failure(codeUnknownKey, "this signer holds no share of the key")
	}
	if err != nil {
		s.log.Error("mpc: loading a share failed", "key", req.KeyID, "err", err)
		return failure(codeInternal, "loading the share")
	}
	if string(k.scheme) != req.Scheme || !slices.Equal(k.parties, req.Parties) || k.self != self {
		return failure(codeBadRequest, "request does not match the key's scheme or parties")
	}
	signers := req.signers()
	if err := round.ValidateParties(signers, self); err != nil || len(signers) < k.threshold {
		return failure(codeBadRequest, "bad signer set")
	}
	list := make([]Peer, 0, len(signers))
	for _, p := range signers {
		peer, ok := peers[p]
		if !ok {
			return failure(codeBadRequest, "signer is not a party of the key")
		}
		list = append(list, peer)
	}
	if k.scheme == ECDSA {
		return s.serveECDSA(ctx, id, req, k, self, signers, list)
	}
	var tr *frost.Taproot
	if req.Taproot {
		if k.scheme != Schnorr {
			return failure(codeBadRequest, "taproot tweak on a non-BIP340 key")
		}
		tr = &frost.Taproot{MerkleRoot: req.Merkle}
	}
	if s.cfg.Gate != nil {
		// The key the signature will verify under is derived for the gate
		// only: NewSigning derives it again, with the signers' shares, and
		// a Taproot tweak costs two base-point multiplications.
		pub, err := k.frost.VerifyingKey(tr)
		if err != nil {
			return failure(codeBadRequest, err.Error())
		}
		if resp := s.gate(ctx, req, k, pub); resp != nil {
			return resp
		}
	}
	sid := round.NewSessionID(frost.Protocol, []byte(req.KeyID), signers, id[:])
	if err := s.claimSession(ctx, sid, req.Deadline); err != nil {
		return failure(codeSessionUsed, "session id already used")
	}
	// Shares are checked one by one only if the aggregate fails to verify
	// (RFC 9591 §5.3): a bad share is still named, at two fewer point
	// multiplications per peer on the common path.
	first, out, err := frost.NewSigning(k.frost, frost.SignRequest{Session: sid, Signers: signers, Message: req.Message, Taproot: tr}, frost.Config{DeferShareChecks: true})
	if err != nil {
		return failure(codeBadRequest, err.Error())
	}
	res, err := s.run(ctx, frost.Protocol, sid, self, list, first, out)
	if err != nil {
		return abortResponse(err)
	}
	// The last round verified the aggregate before returning it.
	sig := res.(*frost.Signature)
	return &ceremonyResponse{OK: true, Key: sig.PublicKey, Signature: sig.Bytes}
}

// gate asks the validation gate about a signature; nil means go ahead.
func (s *Signer) gate(ctx context.Context, req *ceremonyRequest, k *loadedKey, pub []byte) *ceremonyResponse {
	if s.cfg.Gate == nil {
		return nil
	}
	g := GateRequest{Signer: s.cfg.Node, KeyID: req.KeyID, Scheme: k.scheme, PublicKey: pub, Message: req.Message, Taproot: req.Taproot, Merkle: req.Merkle, Evidence: req.Evidence}
	if err := s.cfg.Gate.Approve(ctx, g); err != nil {
		s.log.Info("mpc: gate refused a signature", "key", req.KeyID, "err", err)
		return failure(codeGateRefused, err.Error())
	}
	return nil
}

// serveECDSA runs a DKLs23 signing: the three rounds, or, for a request
// naming a presignature, the one online broadcast.
func (s *Signer) serveECDSA(ctx context.Context, id [16]byte, req *ceremonyRequest, k *loadedKey, self round.PartyID, signers []round.PartyID, list []Peer) *ceremonyResponse {
	if req.Taproot {
		return failure(codeBadRequest, "taproot tweak on an ECDSA key")
	}
	pub := k.ecdsa.PublicKey()
	if req.Op == opSign || req.Op == opSignPresigned {
		if len(req.Message) != 32 {
			return failure(codeBadRequest, "ECDSA signs a 32-byte digest")
		}
		if resp := s.gate(ctx, req, k, pub); resp != nil {
			return resp
		}
	}
	protocol := ecdsa.Protocol
	sid := round.NewSessionID(protocol, []byte(req.KeyID), signers, id[:])
	if err := s.claimSession(ctx, sid, req.Deadline); err != nil {
		return failure(codeSessionUsed, "session id already used")
	}
	var (
		first round.Round
		out   []round.Message
		err   error
	)
	switch req.Op {
	case opSign:
		first, out, err = ecdsa.NewSigning(k.ecdsa, ecdsa.SignRequest{Session: sid, Signers: signers, Digest: req.Message}, ecdsa.Config{})
	case opPresign:
		first, out, err = ecdsa.NewPresigning(k.ecdsa, ecdsa.SignRequest{Session: sid, Signers: signers}, ecdsa.Config{})
	case opSignPresigned:
		var pre *ecdsa.Presignature
		if pre, err = s.takePresignature(ctx, req.KeyID, req.Presig); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return failure(codeUnknownKey, "no such presignature")
			}
			s.log.Error("mpc: taking a presignature failed", "key", req.KeyID, "err", err)
			return failure(codeInternal, "taking the presignature")
		}
		if !slices.Equal(pre.Signers(), signers) {
			return failure(codeBadRequest, "the presignature was made by other signers")
		}
		first, out, err = ecdsa.NewOnlineSigning(k.ecdsa, pre, sid, req.Message)
	default:
		return failure(codeBadRequest, "unknown operation")
	}
	if err != nil {
		return failure(codeBadRequest, err.Error())
	}
	res, err := s.run(ctx, protocol, sid, self, list, first, out)
	if errors.Is(err, ecdsa.ErrBanned) {
		// A counterparty failed a check and is banned for this key: keep
		// the ban across restarts.
		if rec, encErr := encodeKeyRecord(req.KeyID, ECDSA, k.parties, k.ecdsa); encErr == nil {
			if stErr := s.storeShare(ctx, req.KeyID, rec, false); stErr != nil {
				s.log.Error("mpc: persisting a ban failed", "key", req.KeyID, "err", stErr)
			}
		}
	}
	if err != nil {
		return abortResponse(err)
	}
	switch r := res.(type) {
	case *ecdsa.Signature:
		return &ceremonyResponse{OK: true, Key: r.PublicKey, Signature: ecdsaSignatureBytes(r)}
	case *ecdsa.Presignature:
		if err := s.putPresignature(ctx, req.KeyID, id, r); err != nil {
			s.log.Error("mpc: storing a presignature failed", "key", req.KeyID, "err", err)
			return failure(codeInternal, "storing the presignature")
		}
		return &ceremonyResponse{OK: true, Key: r.PublicKey()}
	}
	return failure(codeInternal, "unexpected signing result")
}

// presigKey names a stored presignature: key id, then the id of the request
// that made it.
func presigKey(keyID string, presig []byte) []byte {
	return append([]byte(keyID+"/"), presig...)
}

func (s *Signer) presigRef(keyID string) store.RecordRef {
	return store.RecordRef{Signer: string(s.cfg.Node), KeyID: keyID, Kind: "presignature", Version: 1}
}

func (s *Signer) putPresignature(ctx context.Context, keyID string, id [16]byte, pre *ecdsa.Presignature) error {
	b, err := pre.MarshalBinary()
	if err != nil {
		return err
	}
	defer clear(b)
	return s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		return store.PutSealed(ctx, tx, s.cfg.Sealer, bucketPresigs, presigKey(keyID, id[:]), s.presigRef(keyID), b)
	})
}

// takePresignature reads a presignature and deletes it in one durable
// transaction before it is used, so that no crash can bring it back as
// unused (a presignature used twice reveals the key).
func (s *Signer) takePresignature(ctx context.Context, keyID string, presig []byte) (*ecdsa.Presignature, error) {
	if len(presig) != 16 {
		return nil, fmt.Errorf("%w: presignature id", store.ErrNotFound)
	}
	var b []byte
	err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if b, err = store.GetSealed(ctx, tx, s.cfg.Sealer, bucketPresigs, presigKey(keyID, presig), s.presigRef(keyID)); err != nil {
			return err
		}
		return tx.Delete(bucketPresigs, presigKey(keyID, presig))
	})
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return ecdsa.ParsePresignature(b)
}

// Keys opens every key share this signer holds and returns their ids. It
// fails on the first record that does not open or decode whole (a wrong
// key-encryption key, a record moved from elsewhere, corruption), so it
// doubles as an integrity check at start-up.
func (s *Signer) Keys(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.cfg.Store.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(bucketKeys, nil, func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := s.loadKey(ctx, id); err != nil {
			return nil, fmt.Errorf("mpc: signer %s: key %s: %w", s.cfg.Node, id, err)
		}
	}
	return ids, nil
}
