// Package mpctest builds an in-memory cluster of real signers and a real
// coordinator for tests: each signer has its own bbolt store in a temporary
// directory and seals its shares under its own key-encryption key; all talk
// over transport/memory, whose fault injection the test can drive.
//
//	c := mpctest.New(t, 5)
//	key, _ := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 3, Signers: c.Nodes()})
//	sig, _ := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: msg})
package mpctest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/memory"
)

// CoordinatorNode is the coordinator's node id.
const CoordinatorNode transport.NodeID = "coordinator"

// Options adjust a cluster; the zero value is a cluster without gates.
type Options struct {
	// Gate, if set, returns the validation gate of each signer.
	Gate func(node transport.NodeID) mpc.Gate
	// AttemptTimeout is the coordinator's per-attempt timeout; zero means 2 s
	// (longer under the race detector). Non-zero values are used as given.
	AttemptTimeout time.Duration
	// KeygenTimeout bounds a key generation; zero means 60 s (longer under
	// the race detector).
	KeygenTimeout time.Duration
	// Logger receives every node's logs; nil discards.
	Logger *slog.Logger
	// Dir, if set, keeps the cluster on disk: every node's store, identity
	// key and key-encryption key live under it, and a cluster built again
	// on the same Dir (after a crash, in another process) is the same
	// cluster. Empty means fresh temporary directories.
	Dir string
}

// Cluster is n signers and a coordinator on one memory network.
type Cluster struct {
	t           testing.TB
	opts        Options
	Net         *memory.Network
	Coordinator *mpc.Coordinator
	signers     map[transport.NodeID]*Node
	order       []transport.NodeID
	identities  map[transport.NodeID]ed25519.PublicKey
	coordKey    ed25519.PrivateKey
	coordDir    string
	stopCoord   func()
}

// Node is one signer and what it is made of.
type Node struct {
	ID        transport.NodeID
	Dir       string // its store's directory
	StorePath string
	KEK       []byte // its key-encryption key (32 bytes)
	KEKPath   string // the file holding it (mode 0600)
	Identity  ed25519.PrivateKey
	Signer    *mpc.Signer
	Store     *bolt.DB

	stop func()
}

// New starts n signers ("signer-1" … "signer-n") and a coordinator; they
// stop when the test ends.
func New(t testing.TB, n int, opts ...Options) *Cluster {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = 2 * time.Second * raceScale
	}
	if o.KeygenTimeout == 0 {
		o.KeygenTimeout = time.Minute * raceScale
	}
	c := &Cluster{t: t, opts: o, Net: memory.NewNetwork(), signers: map[transport.NodeID]*Node{}, identities: map[transport.NodeID]ed25519.PublicKey{}}
	t.Cleanup(c.Close)
	c.coordDir = c.nodeDir(CoordinatorNode)
	priv, err := secretFile(filepath.Join(c.coordDir, "identity"), ed25519.SeedSize)
	if err != nil {
		t.Fatal(err)
	}
	c.coordKey = ed25519.NewKeyFromSeed(priv)
	c.identities[CoordinatorNode] = c.coordKey.Public().(ed25519.PublicKey)
	for i := 1; i <= n; i++ {
		id := transport.NodeID(fmt.Sprintf("signer-%d", i))
		dir := c.nodeDir(id)
		seed, err := secretFile(filepath.Join(dir, "identity"), ed25519.SeedSize)
		if err != nil {
			t.Fatal(err)
		}
		kek, err := secretFile(filepath.Join(dir, "kek"), 32)
		if err != nil {
			t.Fatal(err)
		}
		node := &Node{ID: id, Dir: dir, StorePath: filepath.Join(dir, "signer.db"), KEK: kek, KEKPath: filepath.Join(dir, "kek"), Identity: ed25519.NewKeyFromSeed(seed)}
		c.signers[id] = node
		c.identities[id] = node.Identity.Public().(ed25519.PublicKey)
		c.order = append(c.order, id)
		c.Net.Endpoint(id)
	}
	c.Net.Endpoint(CoordinatorNode)
	for _, id := range c.order {
		if err := c.Start(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.startCoordinator(); err != nil {
		t.Fatal(err)
	}
	return c
}

// nodeDir returns (creating) the directory of one node.
func (c *Cluster) nodeDir(id transport.NodeID) string {
	if c.opts.Dir == "" {
		return c.t.TempDir()
	}
	dir := filepath.Join(c.opts.Dir, string(id))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	return dir
}

// secretFile returns the n random bytes kept in path, creating the file
// (mode 0600) on first use.
func secretFile(path string, n int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != n {
			return nil, fmt.Errorf("mpctest: %s holds %d bytes, want %d", path, len(b), n)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, os.WriteFile(path, b, 0o600)
}

// Nodes lists the signers' ids in order.
func (c *Cluster) Nodes() []transport.NodeID { return append([]transport.NodeID(nil), c.order...) }

// Node returns one signer.
func (c *Cluster) Node(id transport.NodeID) *Node { return c.signers[id] }

func (c *Cluster) peers() map[transport.NodeID]ed25519.PublicKey {
	out := make(map[transport.NodeID]ed25519.PublicKey, len(c.identities))
	for k, v := range c.identities {
		out[k] = v
	}
	return out
}

func (c *Cluster) startCoordinator() error {
	st, err := bolt.Open(filepath.Join(c.coordDir, "coordinator.db"), nil)
	if err != nil {
		return err
	}
	signers := c.peers()
	delete(signers, CoordinatorNode)
	coord, err := mpc.NewCoordinator(mpc.CoordinatorConfig{
		Node: CoordinatorNode, Identity: c.coordKey, Transport: c.Net.Endpoint(CoordinatorNode),
		Store: st, Signers: signers, AttemptTimeout: c.opts.AttemptTimeout, KeygenTimeout: c.opts.KeygenTimeout, Logger: c.opts.Logger,
	})
	if err != nil {
		st.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = coord.Run(ctx) }()
	c.Coordinator = coord
	c.stopCoord = func() { cancel(); wg.Wait(); st.Close() }
	return nil
}

// Start (re)starts a stopped signer: it reopens its store and serves again
// on a fresh endpoint.
func (c *Cluster) Start(id transport.NodeID) error {
	n := c.signers[id]
	if n == nil {
		return fmt.Errorf("mpctest: no signer %q", id)
	}
	if n.stop != nil {
		return fmt.Errorf("mpctest: signer %q is running", id)
	}
	st, err := bolt.Open(n.StorePath, nil)
	if err != nil {
		return err
	}
	ep, err := c.Net.Restart(id)
	if err != nil {
		st.Close()
		return err
	}
	var gate mpc.Gate
	if c.opts.Gate != nil {
		gate = c.opts.Gate(id)
	}
	kek, err := store.ReadKEKFile(n.KEKPath)
	if err != nil {
		st.Close()
		return err
	}
	sealer := store.NewSealer(kek)
	s, err := mpc.NewSigner(mpc.SignerConfig{
		Node: id, Identity: n.Identity, Transport: ep, Store: st, Sealer: sealer,
		Peers: c.peers(), Coordinators: []transport.NodeID{CoordinatorNode}, Gate: gate, Logger: c.opts.Logger,
	})
	if err != nil {
		st.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	n.Signer, n.Store = s, st
	n.stop = func() { cancel(); _ = c.Net.Crash(id); wg.Wait(); st.Close() }
	return nil
}

// Stop crashes a signer's endpoint, stops it and closes its store, as a
// process that died would leave it.
func (c *Cluster) Stop(id transport.NodeID) {
	if n := c.signers[id]; n != nil && n.stop != nil {
		n.stop()
		n.stop, n.Signer, n.Store = nil, nil, nil
	}
}

// StopAll stops every signer.
func (c *Cluster) StopAll() {
	for _, id := range c.order {
		c.Stop(id)
	}
}

// StartAll starts every stopped signer.
func (c *Cluster) StartAll() error {
	for _, id := range c.order {
		if c.signers[id].stop == nil {
			if err := c.Start(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close stops everything; it runs at the end of the test.
func (c *Cluster) Close() {
	c.StopAll()
	if c.stopCoord != nil {
		c.stopCoord()
		c.stopCoord = nil
	}
	c.Net.Close()
}
