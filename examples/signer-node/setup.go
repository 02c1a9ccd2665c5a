package main

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
	"github.com/cairn-mpc/cairn/transport/tcp/devpki"
)

// CoordinatorID is the coordinator's node id in generated clusters.
const CoordinatorID transport.NodeID = "coordinator"

// clusterSpec says what init generates.
type clusterSpec struct {
	Dir     string
	Signers int
	Kind    string // "tcp" or "nats"
	// Addrs gives each node's TCP listen address (tcp only).
	Addrs map[transport.NodeID]string
	// NATSURL is the server (nats only).
	NATSURL string
	KEM     e2e.KEM
}

// signerIDs are "signer-1" … "signer-n".
func signerIDs(n int) []transport.NodeID {
	ids := make([]transport.NodeID, n)
	for i := range ids {
		ids[i] = transport.NodeID(fmt.Sprintf("signer-%d", i+1))
	}
	return ids
}

// initCluster writes a dev cluster under spec.Dir:
//
//	pki/ca.pem, pki/<id>.pem, pki/<id>.key   dev CA and node certificates
//	pki/nats-server.pem, .key                 the NATS server's (nats only)
//	<id>/identity, <id>/kek                   secrets, mode 0600
//	<id>.json                                 each node's configuration
//
// It is the "generate the dev CA and node certificates" step of a demo:
// real deployments issue certificates from their own PKI and keep keys in
// their own secret store.
func initCluster(spec clusterSpec) error {
	nodes := append(signerIDs(spec.Signers), CoordinatorID)
	pki := filepath.Join(spec.Dir, "pki")
	ca, err := devpki.NewCA("cairn dev CA")
	if err != nil {
		return err
	}
	if err := ca.WriteFiles(pki, nodes...); err != nil {
		return err
	}
	if spec.Kind == "nats" {
		if err := writeServerCert(ca, pki); err != nil {
			return err
		}
	}
	ids := map[transport.NodeID]e2e.Identity{}
	for _, n := range nodes {
		dir := filepath.Join(spec.Dir, string(n))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		id, err := e2e.GenerateIdentity(spec.KEM)
		if err != nil {
			return err
		}
		ids[n] = id
		b, err := id.MarshalBinary()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "identity"), b, 0o600); err != nil {
			return err
		}
		if n != CoordinatorID {
			kek := make([]byte, 32)
			if _, err := rand.Read(kek); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "kek"), kek, 0o600); err != nil {
				return err
			}
		}
	}
	for _, n := range nodes {
		dir := filepath.Join(spec.Dir, string(n))
		c := &Config{
			ID: n, Role: "signer", Store: filepath.Join(dir, "node.db"), KEK: filepath.Join(dir, "kek"),
			Identity: filepath.Join(dir, "identity"),
			Transport: TransportConfig{
				Kind: spec.Kind, Listen: spec.Addrs[n], URL: spec.NATSURL,
				CA: filepath.Join(pki, "ca.pem"), Cert: filepath.Join(pki, string(n)+".pem"), Key: filepath.Join(pki, string(n)+".key"),
			},
			Coordinators: []transport.NodeID{CoordinatorID},
			Peers:        map[transport.NodeID]PeerConfig{},
		}
		if n == CoordinatorID {
			c.Role, c.KEK, c.Coordinators = "coordinator", "", nil
		}
		for _, p := range nodes {
			if p != n {
				c.Peers[p] = PeerConfig{Addr: spec.Addrs[p], Keys: ids[p].Public()}
			}
		}
		if err := c.write(filepath.Join(spec.Dir, string(n)+".json")); err != nil {
			return err
		}
	}
	return nil
}

// writeServerCert issues the NATS server a certificate valid for
// 127.0.0.1, since NATS clients verify the server by host.
func writeServerCert(ca *devpki.CA, dir string) error {
	c, err := ca.Issue("nats-server", devpki.NodeOptions{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		return err
	}
	return devpki.WriteKeyPair(dir, "nats-server", c)
}
