package authn

import (
	"errors"
	"fmt"
	"time"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/store"
)

// Store layout. Every record is wire-encoded (deterministic CBOR, strict
// decoding); times are Unix nanoseconds. The owner-* buckets index
// records by identity with keys "<identity id>\x00<record key>" and empty
// values, so that revocation can find every record of an identity.
const (
	bucketIdentities       = "authn.identities"        // identity id → identityRecord
	bucketCredentials      = "authn.credentials"       // credential id → credentialRecord
	bucketOwnerCredentials = "authn.owner-credentials" // owner ‖ 0 ‖ credential id
	bucketChallenges       = "authn.challenges"        // challenge id → challengeRecord
	bucketSessions         = "authn.sessions"          // session id → sessionRecord
	bucketOwnerSessions    = "authn.owner-sessions"    // owner ‖ 0 ‖ session id
	bucketActions          = "authn.actions"           // action token id → actionRecord
	bucketOwnerActions     = "authn.owner-actions"     // owner ‖ 0 ‖ action token id
)

type identityRecord struct {
	ID          string       `cbor:"1,keyasint"`
	Kind        IdentityKind `cbor:"2,keyasint"`
	Name        string       `cbor:"3,keyasint"`
	Handle      []byte       `cbor:"4,keyasint"` // WebAuthn user handle, random
	Deactivated bool         `cbor:"5,keyasint"`
	Permissions []string     `cbor:"6,keyasint"` // service accounts only
	CreatedAt   int64        `cbor:"7,keyasint"`
}

type credentialRecord struct {
	ID        []byte         `cbor:"1,keyasint"`
	Owner     string         `cbor:"2,keyasint"`
	Kind      CredentialKind `cbor:"3,keyasint"`
	Name      string         `cbor:"4,keyasint"`
	PublicKey PublicKey      `cbor:"5,keyasint"`
	CreatedAt int64          `cbor:"6,keyasint"`
	RevokedAt int64          `cbor:"7,keyasint"` // 0 while usable
	WebAuthn  []byte         `cbor:"8,keyasint"` // passkeys: JSON of webauthn.Credential (counter, flags, AAGUID)
}

// ceremony names what a challenge was issued for; a challenge answers
// only its own ceremony.
type ceremony uint8

const (
	ceremonyPasskeyRegistration ceremony = iota + 1
	ceremonyKeyRegistration
	ceremonyLogin
	ceremonyAction
	ceremonyRecovery
)

func (c ceremony) String() string {
	switch c {
	case ceremonyPasskeyRegistration:
		return "passkey registration"
	case ceremonyKeyRegistration:
		return "key registration"
	case ceremonyLogin:
		return "login"
	case ceremonyAction:
		return "action"
	case ceremonyRecovery:
		return "recovery"
	}
	return fmt.Sprintf("ceremony(%d)", uint8(c))
}

type challengeRecord struct {
	ID        string   `cbor:"1,keyasint"`
	Ceremony  ceremony `cbor:"2,keyasint"`
	Principal string   `cbor:"3,keyasint"` // empty for a discoverable login
	Challenge []byte   `cbor:"4,keyasint"`
	ExpiresAt int64    `cbor:"5,keyasint"`
	// Key registration: the kind of credential being registered.
	CredentialKind CredentialKind `cbor:"6,keyasint"`
	// Action: the binding, whose Challenge() is Challenge.
	Binding *bindingRecord `cbor:"7,keyasint"`
	// Passkey registration and recovery: go-webauthn's session, JSON.
	WebAuthnSession []byte `cbor:"8,keyasint"`
}

type bindingRecord struct {
	RPID        string `cbor:"1,keyasint"`
	Principal   string `cbor:"2,keyasint"`
	Operation   string `cbor:"3,keyasint"`
	Resource    string `cbor:"4,keyasint"`
	PayloadHash []byte `cbor:"5,keyasint"`
	Nonce       []byte `cbor:"6,keyasint"`
	ExpiresAt   int64  `cbor:"7,keyasint"`
}

func (b *bindingRecord) binding() Binding {
	return Binding{
		RPID: b.RPID, Principal: b.Principal, Operation: b.Operation, Resource: b.Resource,
		PayloadHash: b.PayloadHash, Nonce: b.Nonce, ExpiresAt: fromNanos(b.ExpiresAt),
	}
}

func recordBinding(b Binding) *bindingRecord {
	return &bindingRecord{
		RPID: b.RPID, Principal: b.Principal, Operation: b.Operation, Resource: b.Resource,
		PayloadHash: b.PayloadHash, Nonce: b.Nonce, ExpiresAt: b.ExpiresAt.UnixNano(),
	}
}

type sessionRecord struct {
	ID           string   `cbor:"1,keyasint"`
	TokenHash    []byte   `cbor:"2,keyasint"`
	Principal    string   `cbor:"3,keyasint"`
	CredentialID []byte   `cbor:"4,keyasint"` // empty for an issued service token
	IssuedAt     int64    `cbor:"5,keyasint"`
	ExpiresAt    int64    `cbor:"6,keyasint"`
	Scoped       bool     `cbor:"7,keyasint"` // Permissions bounds the token
	Permissions  []string `cbor:"8,keyasint"`
}

type actionRecord struct {
	ID           string         `cbor:"1,keyasint"`
	TokenHash    []byte         `cbor:"2,keyasint"`
	Principal    string         `cbor:"3,keyasint"`
	CredentialID []byte         `cbor:"4,keyasint"`
	Binding      *bindingRecord `cbor:"5,keyasint"`
	Evidence     []byte         `cbor:"6,keyasint"` // Evidence.MarshalBinary; dropped once consumed
	ExpiresAt    int64          `cbor:"7,keyasint"`
	ConsumedAt   int64          `cbor:"8,keyasint"` // 0 until VerifyAction succeeds
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// ownerKey is the key of an owner-* index entry.
func ownerKey(owner string, key []byte) []byte {
	k := make([]byte, 0, len(owner)+1+len(key))
	k = append(k, owner...)
	k = append(k, 0)
	return append(k, key...)
}

// ownerPrefix is the prefix of every index entry of owner.
func ownerPrefix(owner string) []byte { return ownerKey(owner, nil) }

// get decodes the record at key, or returns an error wrapping notFound.
func get[T any](tx store.Tx, bucket string, key []byte, notFound error) (*T, error) {
	b, err := tx.Get(bucket, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("authn: reading %s: %w", bucket, err)
	}
	v := new(T)
	if err := wire.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("authn: decoding %s record: %w: %v", bucket, store.ErrCorrupt, err)
	}
	return v, nil
}

// put encodes v and stores it at key.
func put(tx store.Tx, bucket string, key []byte, v any) error {
	b, err := wire.Marshal(v)
	if err != nil {
		return fmt.Errorf("authn: encoding %s record: %w", bucket, err)
	}
	if err := tx.Put(bucket, key, b); err != nil {
		return fmt.Errorf("authn: writing %s: %w", bucket, err)
	}
	return nil
}

// ownedKeys returns the record keys owner has in an owner-* index. It
// collects before returning so that callers may write while iterating.
func ownedKeys(tx store.Tx, index, owner string) ([][]byte, error) {
	prefix := ownerPrefix(owner)
	var keys [][]byte
	err := tx.ForEach(index, prefix, func(k, _ []byte) error {
		keys = append(keys, k[len(prefix):])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("authn: listing %s: %w", index, err)
	}
	return keys, nil
}
