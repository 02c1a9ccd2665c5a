package ot

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

// baseChoiceMsg carries A_1 … A_κ, 32 bytes each.
type baseChoiceMsg struct {
	_ struct{} `cbor:",toarray"`
	A []byte
}

// baseChallengeMsg carries ξ_1 … ξ_κ, 32 bytes each.
type baseChallengeMsg struct {
	_  struct{} `cbor:",toarray"`
	Xi []byte
}

// baseResponseMsg carries ρ'_1 … ρ'_κ, 32 bytes each.
type baseResponseMsg struct {
	_   struct{} `cbor:",toarray"`
	Rho []byte
}

// baseOpeningMsg carries H(ρ⁰_i) ‖ H(ρ¹_i) for each i, 64 bytes each.
type baseOpeningMsg struct {
	_    struct{} `cbor:",toarray"`
	Open []byte
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
