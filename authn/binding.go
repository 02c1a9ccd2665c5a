package authn

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/cairn-mpc/cairn/internal/wire"
)

// Size caps on what an action is bound to. The payload itself is only
// hashed, but it is capped too (Config.MaxPayloadSize) so that a caller
// cannot be made to hash without bound.
const (
	maxOperationSize = 256
	maxResourceSize  = 2048
	nonceSize        = 32
)

// Binding is what a user-action signature commits to: the relying party,
// the principal, the operation, the resource and the SHA-256 of the exact
// payload bytes, with a fresh nonce and the expiry of the challenge.
//
// The WebAuthn challenge (for passkeys) and the client-data challenge (for
// key credentials) are both Binding.Challenge(), so a signature over one
// binding can never be presented for another, and anyone holding the
// evidence can check offline what was signed.
type Binding struct {
	RPID        string    `json:"rpId"`
	Principal   string    `json:"principal"`
	Operation   string    `json:"operation"`
	Resource    string    `json:"resource"`
	PayloadHash Base64URL `json:"payloadHash"`
	Nonce       Base64URL `json:"nonce"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// bindingDomain separates action challenges from every other digest.
const bindingDomain = "cairn/authn/action/v1"

// bindingEncoding is the signed form of a Binding: deterministic CBOR (see
// internal/wire) of a map with integer keys, the expiry as Unix
// nanoseconds.
type bindingEncoding struct {
	Domain      string `cbor:"0,keyasint"`
	RPID        string `cbor:"1,keyasint"`
	Principal   string `cbor:"2,keyasint"`
	Operation   string `cbor:"3,keyasint"`
	Resource    string `cbor:"4,keyasint"`
	PayloadHash []byte `cbor:"5,keyasint"`
	Nonce       []byte `cbor:"6,keyasint"`
	ExpiresAt   int64  `cbor:"7,keyasint"`
}

// Challenge returns the 32-byte challenge a credential signs for b:
// SHA-256 of the version-prefixed deterministic CBOR encoding of
// {0: "cairn/authn/action/v1", 1: RPID, 2: Principal, 3: Operation,
// 4: Resource, 5: PayloadHash, 6: Nonce, 7: ExpiresAt in Unix nanoseconds}.
func (b Binding) Challenge() []byte {
	enc, err := wire.Marshal(bindingEncoding{
		Domain:      bindingDomain,
		RPID:        b.RPID,
		Principal:   b.Principal,
		Operation:   b.Operation,
		Resource:    b.Resource,
		PayloadHash: b.PayloadHash,
		Nonce:       b.Nonce,
		ExpiresAt:   b.ExpiresAt.UnixNano(),
	})
	if err != nil {
		// Only an encoding over wire.MaxSize fails, and every field is
		// capped far below it before a Binding is made.
		panic("authn: encoding binding: " + err.Error())
	}
	sum := sha256.Sum256(enc)
	return sum[:]
}

// PayloadHash returns SHA-256 of the exact payload bytes, as bound.
func PayloadHash(payload []byte) []byte {
	sum := sha256.Sum256(payload)
	return sum[:]
}

// Matches reports, with ErrActionMismatch naming the first field that
// differs, whether b was made for exactly this operation, resource and
// payload. The payload comparison is by SHA-256 of its bytes, in constant
// time.
func (b Binding) Matches(operation, resource string, payload []byte) error {
	if b.Operation != operation {
		return fmt.Errorf("%w: signed for operation %q, presented for %q", ErrActionMismatch, b.Operation, operation)
	}
	if b.Resource != resource {
		return fmt.Errorf("%w: signed for resource %q, presented for %q", ErrActionMismatch, b.Resource, resource)
	}
	if subtle.ConstantTimeCompare(b.PayloadHash, PayloadHash(payload)) != 1 {
		return fmt.Errorf("%w: payload differs from the one signed", ErrActionMismatch)
	}
	return nil
}

// check refuses a binding that InitAction could not have made, before
// anything is hashed: evidence arrives from outside.
func (b Binding) check() error {
	switch {
	case len(b.RPID) > maxNameSize, len(b.Principal) > maxNameSize,
		len(b.Operation) > maxOperationSize, len(b.Resource) > maxResourceSize:
		return fmt.Errorf("%w: binding field over its cap", ErrTooLarge)
	case len(b.PayloadHash) != sha256.Size, len(b.Nonce) != nonceSize:
		return fmt.Errorf("%w: binding hash or nonce of the wrong size", ErrMalformed)
	}
	return nil
}

// checkActionRequest applies the size caps to an action's parts.
func checkActionRequest(operation, resource string, payload []byte, maxPayload int) error {
	switch {
	case operation == "":
		return fmt.Errorf("%w: empty operation", ErrInvalidArgument)
	case len(operation) > maxOperationSize:
		return fmt.Errorf("%w: operation of %d bytes, cap %d", ErrTooLarge, len(operation), maxOperationSize)
	case len(resource) > maxResourceSize:
		return fmt.Errorf("%w: resource of %d bytes, cap %d", ErrTooLarge, len(resource), maxResourceSize)
	case len(payload) > maxPayload:
		return fmt.Errorf("%w: payload of %d bytes, cap %d", ErrTooLarge, len(payload), maxPayload)
	}
	return nil
}
