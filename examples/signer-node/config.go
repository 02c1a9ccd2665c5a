package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
	"github.com/cairn-mpc/cairn/transport/nats"
	"github.com/cairn-mpc/cairn/transport/tcp"
)

// Config is one node's configuration file (JSON).
type Config struct {
	// ID is the node's id; its certificate must name it.
	ID transport.NodeID `json:"id"`
	// Role is "signer" or "coordinator".
	Role string `json:"role"`
	// Store is the node's bbolt file.
	Store string `json:"store"`
	// KEK is the file holding a signer's key-encryption key (32 raw bytes
	// or 64 hex digits, mode 0600).
	KEK string `json:"kek,omitempty"`
	// Identity is the file holding the node's secret keys (e2e.Identity's
	// binary form, mode 0600). Its Ed25519 key signs both the protocol
	// messages and the end-to-end frames, which use distinct contexts.
	Identity string `json:"identity"`
	// Transport says how the node reaches its peers.
	Transport TransportConfig `json:"transport"`
	// Coordinators are the nodes a signer takes requests from.
	Coordinators []transport.NodeID `json:"coordinators,omitempty"`
	// Peers are every other node: its public keys and, over TCP, its
	// address.
	Peers map[transport.NodeID]PeerConfig `json:"peers"`
}

// TransportConfig selects and configures the carrier.
type TransportConfig struct {
	// Kind is "tcp" or "nats".
	Kind string `json:"kind"`
	// Listen is the TCP address to accept peers on.
	Listen string `json:"listen,omitempty"`
	// URL is the NATS server.
	URL string `json:"url,omitempty"`
	// Prefix starts the NATS subjects ("cairn" if empty).
	Prefix string `json:"prefix,omitempty"`
	// CA, Cert and Key are PEM files: the CA that signs every node
	// certificate (and the NATS server's), and this node's certificate and
	// key. Over NATS they are used for mutual TLS with the server.
	CA   string `json:"ca"`
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// PeerConfig is one peer's entry.
type PeerConfig struct {
	Addr string   `json:"addr,omitempty"`
	Keys e2e.Peer `json:"keys"`
}

func loadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.ID == "" || c.Store == "" || c.Identity == "" {
		return nil, fmt.Errorf("%s: id, store and identity are required", path)
	}
	return &c, nil
}

func (c *Config) write(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

func (c *Config) identity() (e2e.Identity, error) {
	var id e2e.Identity
	b, err := os.ReadFile(c.Identity)
	if err != nil {
		return id, err
	}
	return id, id.UnmarshalBinary(b)
}

// directory is the peers' end-to-end keys.
func (c *Config) directory() map[transport.NodeID]e2e.Peer {
	d := make(map[transport.NodeID]e2e.Peer, len(c.Peers))
	for id, p := range c.Peers {
		d[id] = p.Keys
	}
	return d
}

// identityKeys is the peers' Ed25519 keys, as package mpc wants them.
func (c *Config) identityKeys() map[transport.NodeID]ed25519.PublicKey {
	d := make(map[transport.NodeID]ed25519.PublicKey, len(c.Peers))
	for id, p := range c.Peers {
		d[id] = p.Keys.Signing
	}
	return d
}

func (c *Config) tls() (tls.Certificate, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(c.Transport.Cert, c.Transport.Key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pem, err := os.ReadFile(c.Transport.CA)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return tls.Certificate{}, nil, fmt.Errorf("%s: no certificate", c.Transport.CA)
	}
	return cert, pool, nil
}

// transport builds the node's end-to-end protected endpoint.
func (c *Config) transport(ctx context.Context, id e2e.Identity, log *slog.Logger) (transport.Transport, error) {
	cert, pool, err := c.tls()
	if err != nil {
		return nil, err
	}
	sec := e2e.Config{Identity: id, Peers: c.directory(), Logger: log}
	switch c.Transport.Kind {
	case "tcp":
		addrs := map[transport.NodeID]string{}
		for p, pc := range c.Peers {
			addrs[p] = pc.Addr
		}
		tr, err := tcp.Listen(tcp.Config{Self: c.ID, Listen: c.Transport.Listen, Peers: addrs, Certificate: cert, CA: pool, Logger: log})
		if err != nil {
			return nil, err
		}
		w, err := e2e.Wrap(tr, sec)
		if err != nil {
			tr.Close()
			return nil, err
		}
		return w, nil
	case "nats":
		return nats.Dial(ctx, nats.Config{
			URL: c.Transport.URL, Self: c.ID, Prefix: c.Transport.Prefix,
			TLS: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, Certificates: []tls.Certificate{cert}},
			E2E: sec, Logger: log,
		})
	}
	return nil, errors.New(`transport kind must be "tcp" or "nats"`)
}
