package ecdsa

import (
	"fmt"

	"github.com/cairn-mpc/cairn/internal/curve"
	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// commitMsg is the round-1 broadcast: com_i = H(ctx, i, R_i, salt_i).
type commitMsg struct {
	_      struct{} `cbor:",toarray"`
	Commit []byte
}

// oteMsg is the round-1 direct message i → j: i's first multiplication
// message as Bob in the instance (Alice = j, Bob = i), an OT-extension
// receiver message.
type oteMsg struct {
	_   struct{} `cbor:",toarray"`
	OTE []byte
}

// revealMsg is the round-2 broadcast: the opening of com_i and the
// additive public key share pk_i = sk_i·G.
type revealMsg struct {
	_    struct{} `cbor:",toarray"`
	R    []byte
	Salt []byte
	PK   []byte
}

// multMsg is the round-2 direct message i → j: Γ^u_ij = c^u_ij·G,
// Γ^v_ij = c^v_ij·G, ψ_ij = φ_i − χ_ij, and i's multiplication message as
// Alice in the instance (Alice = i, Bob = j).
type multMsg struct {
	_      struct{} `cbor:",toarray"`
	GammaU []byte
	GammaV []byte
	Psi    []byte
	Mult   []byte
}

// partialMsg is the online broadcast: the presigning session and view it
// was computed over, a digest of the message signed, and the partial
// values u_i and w_i = H(m)·φ_i + r_x·v_i.
type partialMsg struct {
	_       struct{} `cbor:",toarray"`
	Presign []byte
	View    []byte
	Inputs  []byte
	U       []byte
	W       []byte
}

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", round.ErrMalformed, fmt.Sprintf(format, a...))
}

func unmarshal(b []byte, v any) error {
	if err := wire.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %w", round.ErrMalformed, err)
	}
	return nil
}

func decodeCommitMsg(b []byte) ([32]byte, error) {
	var m commitMsg
	if err := unmarshal(b, &m); err != nil {
		return [32]byte{}, err
	}
	if len(m.Commit) != 32 {
		return [32]byte{}, malformed("commitment is %d bytes", len(m.Commit))
	}
	return [32]byte(m.Commit), nil
}

func decodeOTEMsg(b []byte) ([]byte, error) {
	var m oteMsg
	if err := unmarshal(b, &m); err != nil {
		return nil, err
	}
	if len(m.OTE) == 0 {
		return nil, malformed("empty multiplication message")
	}
	return m.OTE, nil
}

type reveal struct {
	R    curve.Point
	Salt [32]byte
	PK   curve.Point
}

// decodeRevealMsg parses a round-2 broadcast. Points go through
// curve.DecodePoint, which refuses the identity: R_j ≠ ∞ (design §4 check
// 4) and pk_j ≠ ∞ (an honest pk_j is the identity with probability 2^−256).
func decodeRevealMsg(b []byte) (*reveal, error) {
	var m revealMsg
	if err := unmarshal(b, &m); err != nil {
		return nil, err
	}
	if len(m.Salt) != 32 {
		return nil, malformed("salt is %d bytes", len(m.Salt))
	}
	c := curve.Secp256k1
	R, err := c.DecodePoint(m.R)
	if err != nil {
		return nil, fmt.Errorf("%w: instance key: %w", round.ErrMalformed, err)
	}
	pk, err := c.DecodePoint(m.PK)
	if err != nil {
		return nil, fmt.Errorf("%w: public key share: %w", round.ErrMalformed, err)
	}
	return &reveal{R: R, Salt: [32]byte(m.Salt), PK: pk}, nil
}

type mult struct {
	GammaU, GammaV curve.Point
	Psi            curve.Scalar
	Mult           []byte
}

func decodeMultMsg(b []byte) (*mult, error) {
	var m multMsg
	if err := unmarshal(b, &m); err != nil {
		return nil, err
	}
	c := curve.Secp256k1
	gu, err := c.DecodePoint(m.GammaU)
	if err != nil {
		return nil, fmt.Errorf("%w: Γ^u: %w", round.ErrMalformed, err)
	}
	gv, err := c.DecodePoint(m.GammaV)
	if err != nil {
		return nil, fmt.Errorf("%w: Γ^v: %w", round.ErrMalformed, err)
	}
	psi, err := c.DecodeScalar(m.Psi)
	if err != nil {
		return nil, fmt.Errorf("%w: ψ: %w", round.ErrMalformed, err)
	}
	if len(m.Mult) == 0 {
		return nil, malformed("empty multiplication message")
	}
	return &mult{GammaU: gu, GammaV: gv, Psi: psi, Mult: m.Mult}, nil
}

type partial struct {
	Presign round.SessionID
	View    [32]byte
	Inputs  [32]byte
	U, W    curve.Scalar
}

func decodePartialMsg(b []byte) (*partial, error) {
	var m partialMsg
	if err := unmarshal(b, &m); err != nil {
		return nil, err
	}
	if len(m.Presign) != 32 || len(m.View) != 32 || len(m.Inputs) != 32 {
		return nil, malformed("session id or digest of the wrong length")
	}
	c := curve.Secp256k1
	u, err := c.DecodeScalar(m.U)
	if err != nil {
		return nil, fmt.Errorf("%w: u: %w", round.ErrMalformed, err)
	}
	w, err := c.DecodeScalar(m.W)
	if err != nil {
		return nil, fmt.Errorf("%w: w: %w", round.ErrMalformed, err)
	}
	return &partial{Presign: round.SessionID(m.Presign), View: [32]byte(m.View), Inputs: [32]byte(m.Inputs), U: u, W: w}, nil
}
