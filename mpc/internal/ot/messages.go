package ot

import (
	"fmt"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/round"
)

// Message payloads, encoded with internal/wire. Vectors of fixed-size values
// travel as one byte string each, whose length the decoder checks exactly;
// the envelope around a payload binds sender, recipient and ceremony.

// baseKeyMsg is the base-OT sender's first message: B and a Schnorr proof
// (R, z) of knowledge of its discrete logarithm.
type baseKeyMsg struct {
	_ struct{} `cbor:",toarray"`
	B []byte
	R []byte
	Z []byte
}

// vectorMsg is each later base-OT message: one byte string of fixed-size
// values, whose length decodeVector checks exactly. In order: the
// receiver's A_1 … A_κ (32 bytes each), the sender's challenges ξ_1 … ξ_κ
// (32 bytes each), the receiver's responses ρ'_1 … ρ'_κ (32 bytes each),
// and the sender's openings H(ρ⁰_i) ‖ H(ρ¹_i) (64 bytes each).
type vectorMsg struct {
	_ struct{} `cbor:",toarray"`
	V []byte
}

// extendMsg is the extension receiver's message.
type extendMsg struct {
	_ struct{} `cbor:",toarray"`
	// Session is the session the extension is run in; a message for another
	// session is refused before any secret is touched.
	Session []byte
	// Salt is the receiver's fresh randomness for this use (32 bytes).
	Salt []byte
	// U is the matrix u_i = t⁰_i ⊕ t¹_i ⊕ x, Kappa rows of cols/8 bytes.
	U []byte
	// X is the check value h(x) (32 bytes).
	X []byte
	// T is the check values h(t⁰_i), Kappa × 32 bytes.
	T []byte
}

// decodeVector parses a vectorMsg whose byte string must be n bytes; what
// names the message in errors, which wrap round.ErrMalformed.
func decodeVector(msg []byte, n int, what string) ([]byte, error) {
	var m vectorMsg
	if err := wire.Unmarshal(msg, &m); err != nil {
		return nil, fmt.Errorf("%w: ot: %s: %w", round.ErrMalformed, what, err)
	}
	if len(m.V) != n {
		return nil, fmt.Errorf("%w: ot: %s has %d bytes, want %d", round.ErrMalformed, what, len(m.V), n)
	}
	return m.V, nil
}
