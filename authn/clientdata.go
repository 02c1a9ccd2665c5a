package authn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ClientDataType says which ceremony a key credential's signature is for,
// so that a signature made for one can never answer another.
type ClientDataType string

const (
	// KeyCreate is signed once, at registration, to prove possession.
	KeyCreate ClientDataType = "key.create"
	// KeyGet is signed to log in and to sign a user action.
	KeyGet ClientDataType = "key.get"
	// KeyRecover is signed by a recovery key over a new credential set.
	KeyRecover ClientDataType = "key.recover"
)

// maxClientDataSize caps client data of either kind. Real WebAuthn client
// data is a few hundred bytes.
const maxClientDataSize = 2048

// keyClientData is what a key credential signs. Its only encoding is the
// canonical one KeyClientData produces.
type keyClientData struct {
	Type      ClientDataType `json:"type"`
	Challenge Base64URL      `json:"challenge"`
}

// KeyClientData returns the canonical client data a key credential signs
// for a ceremony of type typ over challenge:
//
//	{"type":"key.get","challenge":"<unpadded base64url>"}
//
// with the members in this order and no whitespace. Verifiers accept these
// exact bytes and nothing else, so there is one signed message per
// (type, challenge).
func KeyClientData(typ ClientDataType, challenge []byte) []byte {
	b, err := json.Marshal(keyClientData{Type: typ, Challenge: challenge})
	if err != nil {
		panic("authn: encoding client data: " + err.Error()) // unreachable: both fields always encode
	}
	return b
}

// parseKeyClientData decodes key-credential client data and refuses any
// encoding but the canonical one, any unknown member, and any type but the
// three defined. It never panics.
func parseKeyClientData(b []byte) (keyClientData, error) {
	var cd keyClientData
	if len(b) > maxClientDataSize {
		return cd, fmt.Errorf("%w: client data of %d bytes, cap %d", ErrTooLarge, len(b), maxClientDataSize)
	}
	if err := decodeStrict(b, &cd); err != nil {
		return keyClientData{}, fmt.Errorf("client data: %w", err)
	}
	switch cd.Type {
	case KeyCreate, KeyGet, KeyRecover:
	default:
		return keyClientData{}, fmt.Errorf("%w: client data type %q", ErrMalformed, truncate(string(cd.Type)))
	}
	if !bytes.Equal(b, KeyClientData(cd.Type, cd.Challenge)) {
		return keyClientData{}, fmt.Errorf("%w: client data is not in canonical form", ErrMalformed)
	}
	return cd, nil
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// members and trailing data. Errors wrap ErrMalformed.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, ErrMalformed) { // from Base64URL
			return err
		}
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the JSON value", ErrMalformed)
	}
	return nil
}
