package mpc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cairn-mpc/cairn/transport"
)

// ErrGateRefused is the cause of a signature or export a signer's
// validation gate refused.
var ErrGateRefused = errors.New("mpc: validation gate refused")

// GateRequest describes what a signer is about to sign. It holds nothing
// secret.
type GateRequest struct {
	Signer    transport.NodeID `json:"signer"`
	KeyID     string           `json:"key_id"`
	Scheme    Scheme           `json:"scheme"`
	PublicKey []byte           `json:"public_key"` // what the signature will verify under
	Message   []byte           `json:"message"`
	Taproot   bool             `json:"taproot,omitempty"`
	Merkle    []byte           `json:"merkle_root,omitempty"`
	// DerivationPath is the BIP32 path below the key, empty for the key itself.
	DerivationPath []uint32 `json:"derivation_path,omitempty"`
	// Evidence is what the coordinator's caller attached to the request
	// (SignRequest.Evidence) for the gate to check, e.g. the signed user
	// action and approvals behind it. It is opaque to mpc and unverified:
	// a gate that relies on it must check it.
	Evidence []byte `json:"evidence,omitempty"`
}

// Gate is a signer's veto: it is consulted before every signature, and a
// non-nil error stops the signer from taking part.
type Gate interface {
	Approve(ctx context.Context, req GateRequest) error
}

// GateFunc adapts a function to Gate.
type GateFunc func(ctx context.Context, req GateRequest) error

// Approve calls f.
func (f GateFunc) Approve(ctx context.Context, req GateRequest) error { return f(ctx, req) }

// HTTPGate asks the integrator's service: it POSTs the request as JSON to URL
// and proceeds only on 200 OK. Any other status, a transport error or a
// timeout refuses.
type HTTPGate struct {
	URL    string
	Client *http.Client // nil means a client with a 10 s timeout
}

type gateJSON struct {
	Signer         string   `json:"signer"`
	KeyID          string   `json:"key_id"`
	Scheme         string   `json:"scheme"`
	PublicKey      string   `json:"public_key"`
	Message        string   `json:"message"`
	Taproot        bool     `json:"taproot,omitempty"`
	Merkle         string   `json:"merkle_root,omitempty"`
	DerivationPath []uint32 `json:"derivation_path,omitempty"`
	Evidence       string   `json:"evidence,omitempty"` // base64 (standard, padded)
}

var defaultGateClient = &http.Client{Timeout: 10 * time.Second}

// Approve implements Gate.
func (g *HTTPGate) Approve(ctx context.Context, req GateRequest) error {
	body, err := json.Marshal(gateJSON{
		Signer: string(req.Signer), KeyID: req.KeyID, Scheme: string(req.Scheme),
		PublicKey: hex.EncodeToString(req.PublicKey), Message: hex.EncodeToString(req.Message),
		Taproot: req.Taproot, Merkle: hex.EncodeToString(req.Merkle), DerivationPath: req.DerivationPath,
		Evidence: base64.StdEncoding.EncodeToString(req.Evidence),
	})
	if err != nil {
		return fmt.Errorf("%w: encoding: %w", ErrGateRefused, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrGateRefused, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	client := g.Client
	if client == nil {
		client = defaultGateClient
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrGateRefused, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s answered %s", ErrGateRefused, g.URL, resp.Status)
	}
	return nil
}
