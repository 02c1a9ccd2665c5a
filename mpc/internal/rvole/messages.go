package rvole

// aliceMsg is Alice's message to Bob (the second message). Bob's message to
// Alice is the OT extension's message as package ot encodes it.
type aliceMsg struct {
	_ struct{} `cbor:",toarray"`
	// Session is the multiplication's session id, checked before anything
	// secret is touched.
	Session []byte
	// Salt is the OT extension sender's salt (ot.SenderBatch.Salt).
	Salt []byte
	// ATilde is ã_{j,i} for j < Xi and i < Width, row-major, 32 bytes each.
	ATilde []byte
	// Eta is η' = η + Σ_i θ_i·a_i.
	Eta []byte
	// Mu is μ, the hash of Alice's check values.
	Mu []byte
}
