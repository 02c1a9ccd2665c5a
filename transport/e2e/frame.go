package e2e

import (
	"encoding/binary"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/wire"
)

// envelope is what the carrier moves: the claimed sender in the clear, so
// the receiver knows which key to check, the body, and the sender's
// Ed25519ctx signature over the body's exact bytes. The signature is checked
// before the body is even decoded.
type envelope struct {
	_    struct{} `cbor:",toarray"`
	From string
	Body []byte
	Sig  []byte
}

// body is the signed part of a frame.
type body struct {
	_       struct{} `cbor:",toarray"`
	KEM     uint16   // the recipient's KEM
	From    string   // must equal the envelope's From
	To      string
	Epoch   uint64 // the sender's sealing-key generation towards To
	Counter uint64 // per (From, To, Epoch), from 1
	Time    int64  // sender's clock, Unix milliseconds
	Enc     []byte // HPKE encapsulated key of Epoch
	Box     []byte // AEAD ciphertext of the payload
}

// Encoding limits a decoder enforces before any cryptography.
const (
	maxNodeID = 255
	sigSize   = 64
	maxEnc    = 2048 // X-Wing's is 1120
)

// decodeEnvelope parses the outer layer of a frame from a carrier.
func decodeEnvelope(b []byte) (envelope, error) {
	var e envelope
	if err := wire.Unmarshal(b, &e); err != nil {
		return envelope{}, err
	}
	switch {
	case e.From == "" || len(e.From) > maxNodeID:
		return envelope{}, fmt.Errorf("%w: sender id of %d bytes", wire.ErrMalformed, len(e.From))
	case len(e.Sig) != sigSize:
		return envelope{}, fmt.Errorf("%w: signature of %d bytes", wire.ErrMalformed, len(e.Sig))
	}
	return e, nil
}

// decodeBody parses the signed body, once its signature has been checked.
func decodeBody(b []byte) (body, error) {
	var d body
	if err := wire.Unmarshal(b, &d); err != nil {
		return body{}, err
	}
	switch {
	case d.From == "" || len(d.From) > maxNodeID || d.To == "" || len(d.To) > maxNodeID:
		return body{}, fmt.Errorf("%w: node id length", wire.ErrMalformed)
	case len(d.Enc) == 0 || len(d.Enc) > maxEnc:
		return body{}, fmt.Errorf("%w: encapsulated key of %d bytes", wire.ErrMalformed, len(d.Enc))
	case d.Counter == 0:
		return body{}, fmt.Errorf("%w: counter zero", wire.ErrMalformed)
	case len(d.Box) < tagSize:
		return body{}, fmt.Errorf("%w: ciphertext of %d bytes", wire.ErrMalformed, len(d.Box))
	}
	return d, nil
}

// aad binds the AEAD ciphertext to the counter and timestamp it travels
// with; sender, recipient and epoch are bound through the HPKE info.
func aad(counter uint64, t int64) []byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], counter)
	binary.BigEndian.PutUint64(b[8:], uint64(t))
	return b[:]
}

// nonce is the AEAD nonce of counter: unique per key, since each epoch has
// its own key and counters within an epoch never repeat.
func nonce(counter uint64) []byte {
	var b [12]byte
	binary.BigEndian.PutUint64(b[4:], counter)
	return b[:]
}

// info is the HPKE info string of the sealing key from → to of one epoch.
func info(kem uint16, from, to string, epoch uint64) []byte {
	b := make([]byte, 0, len(infoLabel)+2+2+len(from)+2+len(to)+8)
	b = append(b, infoLabel...)
	b = binary.BigEndian.AppendUint16(b, kem)
	b = binary.BigEndian.AppendUint16(b, uint16(len(from)))
	b = append(b, from...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(to)))
	b = append(b, to...)
	b = binary.BigEndian.AppendUint64(b, epoch)
	return b
}

// cborHead is the size of a CBOR data item head carrying n.
func cborHead(n uint64) int {
	switch {
	case n < 24:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	}
	return 9
}

// Overhead returns an upper bound on the bytes sealing adds to a payload of
// up to 4 GiB sent from → to when the recipient's key is of kind kem: a
// carrier with frame limit L carries payloads of up to L - Overhead bytes.
func Overhead(kem KEM, from, to string) int {
	enc := 32
	if kem == MLKEM768X25519 {
		enc = 1120
	}
	str := func(n int) int { return cborHead(uint64(n)) + n }
	// body: version, array head, KEM, From, To, Epoch, Counter, Time, Enc,
	// and Box's head and AEAD tag.
	b := 1 + 1 + 3 + str(len(from)) + str(len(to)) + 9 + 9 + 9 + str(enc) + 5 + tagSize
	// envelope: version, array head, From, Body's head (5 covers a body
	// under 4 GiB), Sig.
	return b + 1 + 1 + str(len(from)) + 5 + str(sigSize)
}
