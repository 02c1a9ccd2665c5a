// Package wire is Cairn's encoding of protocol messages: CBOR in the Core
// Deterministic Encoding of RFC 8949 §4.2, behind a one-byte version.
//
// Encoding is deterministic, so the same value always yields the same bytes
// and digests over encodings are meaningful. Decoding is strict and bounded:
// the input size, nesting depth, array and map sizes are capped; duplicate
// map keys, unknown fields, indefinite lengths and tags are refused; and the
// version byte must match.
package wire

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Version is the current encoding version, the first byte of every encoding.
const Version byte = 1

// MaxSize is the largest encoding Unmarshal accepts.
const MaxSize = 1 << 20

// ErrMalformed reports bytes that are not a valid encoding.
var ErrMalformed = errors.New("wire: malformed encoding")

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxNestedLevels:   16,
		MaxArrayElements:  4096,
		MaxMapPairs:       4096,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Marshal encodes v with the version prefix.
func Marshal(v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("wire: encoding %T: %w", v, err)
	}
	if len(b)+1 > MaxSize {
		return nil, fmt.Errorf("wire: encoding of %T is %d bytes, over the %d limit", v, len(b)+1, MaxSize)
	}
	return append([]byte{Version}, b...), nil
}

// Unmarshal decodes b into v. It never panics on hostile input; every
// failure wraps ErrMalformed.
func Unmarshal(b []byte, v any) error {
	if len(b) > MaxSize {
		return fmt.Errorf("%w: %d bytes, over the %d limit", ErrMalformed, len(b), MaxSize)
	}
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrMalformed)
	}
	if b[0] != Version {
		return fmt.Errorf("%w: version %d, want %d", ErrMalformed, b[0], Version)
	}
	if err := decMode.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}
