// Command quickstart is Cairn's foundation demo, on embedded defaults: five
// signers on an in-memory network generate threshold keys by DKG and sign
// with FROST, and a signer that crashes mid-ceremony is named and routed
// around.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/dkg"
	"github.com/cairn-mpc/cairn/mpc/frost"
	"github.com/cairn-mpc/cairn/mpc/round"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/memory"
)

// signer is one node: an identity key and an endpoint on the network.
type signer struct {
	id       round.PartyID
	identity ed25519.PrivateKey
	conn     transport.Transport
}

type cluster struct {
	net     *memory.Network
	signers map[round.PartyID]*signer
	peers   map[round.PartyID]mpc.Peer
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	c, err := newCluster(5)
	if err != nil {
		return err
	}
	defer c.net.Close()
	all := []round.PartyID{1, 2, 3, 4, 5}

	fmt.Println("Cairn quickstart: 5 signers on an in-memory network, threshold 3")

	// Ed25519: DKG, then FROST(Ed25519, SHA-512) with signers 1, 3, 5.
	edKeys, err := c.generate(frost.Ed25519, all, 3)
	if err != nil {
		return err
	}
	pub := edKeys[1].GroupKey().Bytes()
	fmt.Printf("\n[ed25519] DKG done: group public key %s (no signer ever held the private key)\n", hex.EncodeToString(pub))
	msg := []byte("transfer 10 SOL to 7xKX…")
	sig, err := c.sign(edKeys, []round.PartyID{1, 3, 5}, msg, nil)
	if err != nil {
		return err
	}
	fmt.Printf("[ed25519] signers 1, 3, 5 signed %q\n          signature %s…\n", msg, hex.EncodeToString(sig.Bytes[:16]))
	fmt.Printf("          crypto/ed25519.Verify: %v\n", ed25519.Verify(sig.PublicKey, msg, sig.Bytes))

	// secp256k1: DKG, then a BIP340 signature under the BIP86 Taproot key.
	tpKeys, err := c.generate(frost.BIP340, all, 3)
	if err != nil {
		return err
	}
	bip86 := &frost.Taproot{}
	outKey, err := tpKeys[1].VerifyingKey(bip86)
	if err != nil {
		return err
	}
	fmt.Printf("\n[taproot] DKG done: BIP86 output key %s\n", hex.EncodeToString(outKey))
	sighash := sha256.Sum256([]byte("a BIP341 sighash would go here"))
	sig, err = c.sign(tpKeys, []round.PartyID{2, 4, 5}, sighash[:], bip86)
	if err != nil {
		return err
	}
	ok, err := verifyBIP340(sig.PublicKey, sighash[:], sig.Bytes)
	if err != nil {
		return err
	}
	fmt.Printf("[taproot] signers 2, 4, 5 signed the sighash; btcec schnorr.Verify: %v\n", ok)

	// A signer crashes: the ceremony stops at its deadline naming it, and a
	// quorum without it signs.
	fmt.Println("\n[failover] signer 5 crashes before signing with 1, 3, 5")
	if err := c.net.Crash(node(5)); err != nil {
		return err
	}
	_, err = c.signWithin(edKeys, []round.PartyID{1, 3}, []round.PartyID{1, 3, 5}, msg, 500*time.Millisecond)
	var abort *mpc.AbortError
	if !errors.As(err, &abort) {
		return fmt.Errorf("expected an abort naming signer 5, got %v", err)
	}
	fmt.Printf("           aborted: culprits %v (%v)\n", abort.Culprits, abort.Err)
	sig, err = c.sign(edKeys, []round.PartyID{1, 2, 3}, msg, nil)
	if err != nil {
		return err
	}
	fmt.Printf("           retried with 1, 2, 3: crypto/ed25519.Verify: %v\n", ed25519.Verify(sig.PublicKey, msg, sig.Bytes))
	return nil
}

func node(id round.PartyID) transport.NodeID { return transport.NodeID(fmt.Sprintf("signer-%d", id)) }

func newCluster(n int) (*cluster, error) {
	c := &cluster{net: memory.NewNetwork(), signers: map[round.PartyID]*signer{}, peers: map[round.PartyID]mpc.Peer{}}
	for i := 1; i <= n; i++ {
		id := round.PartyID(i)
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		c.signers[id] = &signer{id: id, identity: priv, conn: c.net.Endpoint(node(id))}
		c.peers[id] = mpc.Peer{ID: id, Node: node(id), Key: pub}
	}
	return c, nil
}

// ceremony runs one session of members on the parties in run (members, or
// the live ones among them); start builds each party's first round. It
// returns each party's result or error.
func (c *cluster) ceremony(ctx context.Context, protocol string, sess round.SessionID, members, run []round.PartyID,
	start func(round.PartyID) (round.Round, []round.Message, error)) (map[round.PartyID]any, map[round.PartyID]error) {
	peers := make([]mpc.Peer, 0, len(members))
	for _, p := range members {
		peers = append(peers, c.peers[p])
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		outs = map[round.PartyID]any{}
		errs = map[round.PartyID]error{}
	)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	for _, id := range run {
		s := c.signers[id]
		r := &mpc.Runner{Conn: s.conn, Protocol: protocol, Session: sess, Self: id, Identity: s.identity, Peers: peers, Logger: logger}
		first, out, err := start(id)
		if err != nil {
			errs[id] = err
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := r.Run(ctx, first, out)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[id] = err
			} else {
				outs[id] = v
			}
		}()
	}
	wg.Wait()
	return outs, errs
}

func freshSession(protocol string, parties []round.PartyID) (round.SessionID, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return round.SessionID{}, err
	}
	return round.NewSessionID(protocol, nil, parties, nonce), nil
}

// generate runs a t-of-n DKG and returns each party's FROST key share.
func (c *cluster) generate(suite *frost.Suite, parties []round.PartyID, t int) (map[round.PartyID]*frost.KeyShare, error) {
	sess, err := freshSession(dkg.Protocol, parties)
	if err != nil {
		return nil, err
	}
	ring := round.Keyring{}
	for _, p := range parties {
		ring[p] = c.peers[p].Key
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	outs, errs := c.ceremony(ctx, dkg.Protocol, sess, parties, parties, func(id round.PartyID) (round.Round, []round.Message, error) {
		return dkg.Start(dkg.Config{Curve: suite.Curve(), Session: sess, Self: id, Parties: parties, Threshold: t, Evidence: ring})
	})
	if err := errors.Join(mapErrs(errs)...); err != nil {
		return nil, err
	}
	keys := map[round.PartyID]*frost.KeyShare{}
	for id, v := range outs {
		ks := v.(*dkg.KeyShare)
		fk, err := frost.NewKeyShare(suite, id, ks.Threshold, ks.Secret, ks.GroupKey, ks.VerificationShares)
		if err != nil {
			return nil, err
		}
		keys[id] = fk
	}
	return keys, nil
}

func (c *cluster) sign(keys map[round.PartyID]*frost.KeyShare, signers []round.PartyID, msg []byte, tr *frost.Taproot) (*frost.Signature, error) {
	sess, err := freshSession(frost.Protocol, signers)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	outs, errs := c.ceremony(ctx, frost.Protocol, sess, signers, signers, func(id round.PartyID) (round.Round, []round.Message, error) {
		return frost.NewSigning(keys[id], frost.SignRequest{Session: sess, Signers: signers, Message: msg, Taproot: tr}, frost.Config{})
	})
	if err := errors.Join(mapErrs(errs)...); err != nil {
		return nil, err
	}
	return outs[signers[0]].(*frost.Signature), nil
}

// signWithin runs a signing session in which only the live parties take
// part, bounded by d; it returns the first live party's error.
func (c *cluster) signWithin(keys map[round.PartyID]*frost.KeyShare, live, signers []round.PartyID, msg []byte, d time.Duration) (*frost.Signature, error) {
	sess, err := freshSession(frost.Protocol, signers)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	outs, errs := c.ceremony(ctx, frost.Protocol, sess, signers, live, func(id round.PartyID) (round.Round, []round.Message, error) {
		return frost.NewSigning(keys[id], frost.SignRequest{Session: sess, Signers: signers, Message: msg}, frost.Config{})
	})
	if err := errs[live[0]]; err != nil {
		return nil, err
	}
	return outs[live[0]].(*frost.Signature), nil
}

func mapErrs(m map[round.PartyID]error) []error {
	var out []error
	for id, err := range m {
		out = append(out, fmt.Errorf("signer %d: %w", id, err))
	}
	return out
}

func verifyBIP340(pub, msg, sig []byte) (bool, error) {
	pk, err := schnorr.ParsePubKey(pub)
	if err != nil {
		return false, err
	}
	s, err := schnorr.ParseSignature(sig)
	if err != nil {
		return false, err
	}
	return s.Verify(msg, pk), nil
}
