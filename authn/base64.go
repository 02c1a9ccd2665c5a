package authn

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Base64URL is a byte string that travels in JSON as unpadded base64url
// (RFC 4648 §5), the encoding WebAuthn uses. Decoding is strict: padding,
// the standard alphabet, whitespace and non-zero trailing bits are refused
// with ErrMalformed.
type Base64URL []byte

var b64 = base64.RawURLEncoding.Strict()

// String returns the base64url encoding.
func (b Base64URL) String() string { return b64.EncodeToString(b) }

// MarshalJSON encodes b as a JSON string.
func (b Base64URL) MarshalJSON() ([]byte, error) {
	return json.Marshal(b64.EncodeToString(b))
}

// UnmarshalJSON decodes a JSON string of unpadded base64url.
func (b *Base64URL) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%w: base64url value is not a JSON string", ErrMalformed)
	}
	v, err := b64.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%w: bad base64url: %v", ErrMalformed, err)
	}
	*b = v
	return nil
}
