package tcp

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/cairn-mpc/cairn/transport"
)

// uriPrefix starts the URI subject alternative name that carries a node id.
const uriPrefix = "cairn:node:"

// ErrIdentity reports a peer whose certificate does not name exactly one
// node, names a node this one does not know, or names another node than
// the one the peer claims or was dialled as.
var ErrIdentity = errors.New("tcp: peer identity refused")

// NodeURI is the URI subject alternative name a node certificate carries:
// "cairn:node:" followed by the path-escaped node id. A certificate
// authority for Cairn nodes puts exactly one such URI in each node's
// certificate (see package devpki).
func NodeURI(id transport.NodeID) *url.URL {
	return &url.URL{Scheme: "cairn", Opaque: "node:" + url.PathEscape(string(id))}
}

// NodeID returns the node id a certificate names in its one "cairn:node:"
// URI subject alternative name. It does not verify the certificate; the
// TLS handshake has done that by the time this package calls it. The
// subject's common name is ignored.
func NodeID(cert *x509.Certificate) (transport.NodeID, error) {
	var id transport.NodeID
	found := 0
	for _, u := range cert.URIs {
		s := u.String()
		if !strings.HasPrefix(s, uriPrefix) {
			continue
		}
		v, err := url.PathUnescape(strings.TrimPrefix(s, uriPrefix))
		if err != nil || v == "" {
			return "", fmt.Errorf("%w: malformed node URI %q", ErrIdentity, s)
		}
		id = transport.NodeID(v)
		found++
	}
	if found != 1 {
		return "", fmt.Errorf("%w: certificate names %d nodes, want 1", ErrIdentity, found)
	}
	return id, nil
}
