// Package devpki is a throwaway certificate authority for tests and demos of
// transport/tcp (and of NATS over mutual TLS): it makes a CA and node
// certificates that name their node the way package tcp expects.
//
// It is not for production: keys are generated in memory, there is no
// revocation, and certificates live for a year by default. A production
// deployment issues node certificates from its own PKI, each with exactly
// one tcp.NodeURI subject alternative name.
package devpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/tcp"
)

// Validity is how long certificates made here are valid.
const Validity = 365 * 24 * time.Hour

// CA is a certificate authority with its key in memory.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA makes a self-signed ECDSA P-256 CA named name.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devpki: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Cairn dev PKI"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("devpki: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Pool returns a pool holding only this CA, for tcp.Config.CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// CertPEM returns the CA certificate in PEM.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// NodeOptions adjusts a node certificate; the zero value makes a normal one.
type NodeOptions struct {
	// URIs replaces the node URI (to make certificates naming no node or
	// two, for tests).
	URIs []*url.URL
	// IPs and DNSNames are added as subject alternative names, for
	// servers that clients verify by host (a NATS server). Nodes verify
	// each other by node id, and need neither.
	IPs      []net.IP
	DNSNames []string
	// NotAfter, if set, replaces the expiry (a past time makes an expired
	// certificate).
	NotAfter time.Time
}

// Issue makes an ECDSA P-256 certificate for node id, good for both TLS
// client and server authentication, and returns it with its key.
func (ca *CA) Issue(id transport.NodeID, opts ...NodeOptions) (tls.Certificate, error) {
	var o NodeOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if id == "" && o.URIs == nil {
		return tls.Certificate{}, errors.New("devpki: empty node id")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("devpki: node key: %w", err)
	}
	uris := o.URIs
	if uris == nil {
		uris = []*url.URL{tcp.NodeURI(id)}
	}
	now := time.Now()
	notAfter := now.Add(Validity)
	if !o.NotAfter.IsZero() {
		notAfter = o.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: string(id), Organization: []string{"Cairn dev PKI"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         uris,
		IPAddresses:  o.IPs,
		DNSNames:     o.DNSNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("devpki: node certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// WriteFiles writes ca.pem and, for each id, <id>.pem (certificate) and
// <id>.key (PKCS #8 key, mode 0600) under dir, for processes that load them
// with tls.LoadX509KeyPair.
func (ca *CA) WriteFiles(dir string, ids ...transport.NodeID) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM(), 0o644); err != nil {
		return err
	}
	for _, id := range ids {
		if id == "" || filepath.Base(string(id)) != string(id) || id == ".." {
			return fmt.Errorf("devpki: node id %q is not a file name", id)
		}
		c, err := ca.Issue(id)
		if err != nil {
			return err
		}
		if err := WriteKeyPair(dir, string(id), c); err != nil {
			return err
		}
	}
	return nil
}

// WriteKeyPair writes c's leaf certificate to <name>.pem and its key
// (PKCS #8, mode 0600) to <name>.key under dir.
func WriteKeyPair(dir, name string, c tls.Certificate) error {
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), certPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".key"), keyPEM, 0o600)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}
