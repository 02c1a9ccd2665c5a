package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/wire"
)

// SealFormat is the version of the sealed-record encoding Seal writes and
// Open reads.
const SealFormat uint32 = 1

// DataKeySize is the size of the per-record data key, and of a KEK.
const DataKeySize = 32

var (
	// ErrUnseal is returned when a sealed record fails authentication: it was
	// moved to another signer, key id or kind, altered, or sealed under a key
	// the KeyProvider holds under the same id but with other bytes. AES-GCM
	// cannot tell these apart.
	ErrUnseal = errors.New("store: record does not open under this signer/key/kind: moved, tampered or wrong KEK")
	// ErrWrongKEK is returned when a record names a key-encryption key the
	// KeyProvider does not hold; no decryption is attempted.
	ErrWrongKEK = errors.New("store: record sealed under another key-encryption key")
)

// RecordRef is what a sealed record is bound to. A record sealed under one
// RecordRef opens only under an equal one. Fields may be empty; empty is a
// value like any other.
type RecordRef struct {
	// Signer is the id of the signer that owns the record.
	Signer string
	// KeyID is the key the record belongs to.
	KeyID string
	// Kind names what the record holds ("share", "presign", ...), so a
	// record of one kind cannot be passed off as another for the same key.
	Kind string
	// Version is the version of the plaintext's own format.
	Version uint32
}

func (r RecordRef) String() string {
	return fmt.Sprintf("%s/%s/%s v%d", r.Signer, r.KeyID, r.Kind, r.Version)
}

// KeyProvider holds key-encryption keys (KEKs) and wraps data keys under
// them. Implementations may keep KEKs in memory (KEK), in a KMS or an HSM;
// they must be safe for concurrent use.
type KeyProvider interface {
	// WrapKey encrypts dek under the provider's current KEK, authenticating
	// aad with it, and returns the KEK's id (stable and not secret; it is
	// stored in the clear beside the wrapped key) and the wrapped key. It
	// must not retain dek.
	WrapKey(ctx context.Context, dek, aad []byte) (kekID string, wrapped []byte, err error)
	// UnwrapKey reverses WrapKey. It returns an error wrapping ErrWrongKEK
	// if it does not hold kekID, and one wrapping ErrUnseal if wrapped does
	// not authenticate under aad.
	UnwrapKey(ctx context.Context, kekID string, wrapped, aad []byte) (dek []byte, err error)
}

// Sealer seals and opens records with a KeyProvider. It is safe for
// concurrent use.
//
// A sealed record is the wire (CBOR) encoding of the map
//
//	{1: format, 2: KEK id, 3: wrapped data key, 4: ciphertext}
//
// where format is SealFormat; the data key is 32 fresh random bytes, used
// for this record only and wrapped by the KeyProvider; and the ciphertext
// is AES-256-GCM (random 96-bit nonce prepended) of the plaintext under the
// data key. The wrapping and the ciphertext both authenticate the same
// additional data, the format and the RecordRef (signer, key id, kind,
// version), so a record opens only under the reference it was sealed for.
// The KEK id is in the clear so that a record sealed under a KEK the
// provider does not hold is reported as such (ErrWrongKEK) before any
// decryption.
type Sealer struct {
	keys KeyProvider
}

// NewSealer returns a Sealer that wraps data keys with keys.
func NewSealer(keys KeyProvider) *Sealer {
	return &Sealer{keys: keys}
}

// sealed is the encoding of a sealed record.
type sealed struct {
	Format     uint32 `cbor:"1,keyasint"`
	KEK        string `cbor:"2,keyasint"`
	WrappedDEK []byte `cbor:"3,keyasint"`
	Ciphertext []byte `cbor:"4,keyasint"`
}

// recordAAD is the additional data both layers authenticate. Byte strings
// rather than text strings, so any Go string encodes.
type recordAAD struct {
	Domain  string `cbor:"1,keyasint"`
	Format  uint32 `cbor:"2,keyasint"`
	Signer  []byte `cbor:"3,keyasint"`
	KeyID   []byte `cbor:"4,keyasint"`
	Kind    []byte `cbor:"5,keyasint"`
	Version uint32 `cbor:"6,keyasint"`
}

func (r RecordRef) aad() ([]byte, error) {
	b, err := wire.Marshal(recordAAD{
		Domain:  "cairn/store/sealed-record",
		Format:  SealFormat,
		Signer:  []byte(r.Signer),
		KeyID:   []byte(r.KeyID),
		Kind:    []byte(r.Kind),
		Version: r.Version,
	})
	if err != nil {
		return nil, fmt.Errorf("store: sealing %s: %w", r, err)
	}
	return b, nil
}

// Seal encrypts plaintext for ref under a fresh data key and returns the
// sealed record. The caller keeps ownership of plaintext (and should clear
// it when done if it is secret).
func (s *Sealer) Seal(ctx context.Context, ref RecordRef, plaintext []byte) ([]byte, error) {
	aad, err := ref.aad()
	if err != nil {
		return nil, err
	}
	dek := make([]byte, DataKeySize)
	defer clear(dek)
	if _, err := rand.Read(dek); err != nil {
		return nil, fmt.Errorf("store: sealing %s: %w", ref, err)
	}
	aead, err := newAEAD(dek)
	if err != nil {
		return nil, fmt.Errorf("store: sealing %s: %w", ref, err)
	}
	ct := aead.Seal(nil, nil, plaintext, aad)
	kekID, wrapped, err := s.keys.WrapKey(ctx, dek, aad)
	if err != nil {
		return nil, fmt.Errorf("store: sealing %s: wrapping the data key: %w", ref, err)
	}
	out, err := wire.Marshal(sealed{Format: SealFormat, KEK: kekID, WrappedDEK: wrapped, Ciphertext: ct})
	if err != nil {
		return nil, fmt.Errorf("store: sealing %s: %w", ref, err)
	}
	return out, nil
}

// Open authenticates and decrypts a record sealed for ref. Errors wrap
// ErrCorrupt (not a sealed record), ErrSchema (a sealed-record format this
// build does not read), ErrWrongKEK (sealed under a KEK the provider does
// not hold) or ErrUnseal (moved, altered, or wrong KEK bytes under the same
// id). The returned plaintext is the caller's; clear it when done if it is
// secret.
func (s *Sealer) Open(ctx context.Context, ref RecordRef, record []byte) ([]byte, error) {
	rec, err := decodeSealed(record)
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", ref, err)
	}
	aad, err := ref.aad()
	if err != nil {
		return nil, err
	}
	dek, err := s.keys.UnwrapKey(ctx, rec.KEK, rec.WrappedDEK, aad)
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", ref, err)
	}
	defer clear(dek)
	if len(dek) != DataKeySize {
		return nil, fmt.Errorf("store: opening %s: %w: data key of %d bytes", ref, ErrCorrupt, len(dek))
	}
	aead, err := newAEAD(dek)
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", ref, err)
	}
	pt, err := aead.Open(nil, nil, rec.Ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", ref, ErrUnseal)
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// decodeSealed parses a sealed record without decrypting it.
func decodeSealed(record []byte) (*sealed, error) {
	var rec sealed
	if err := wire.Unmarshal(record, &rec); err != nil {
		return nil, fmt.Errorf("%w: sealed record: %w", ErrCorrupt, err)
	}
	if rec.Format != SealFormat {
		return nil, fmt.Errorf("%w: sealed record format %d, this build reads format %d", ErrSchema, rec.Format, SealFormat)
	}
	if rec.KEK == "" || len(rec.WrappedDEK) == 0 {
		return nil, fmt.Errorf("%w: sealed record without a wrapped data key", ErrCorrupt)
	}
	if len(rec.KEK) > maxKEKID {
		return nil, fmt.Errorf("%w: sealed record KEK id of %d bytes, over the %d limit", ErrCorrupt, len(rec.KEK), maxKEKID)
	}
	if len(rec.Ciphertext) < gcmOverhead {
		return nil, fmt.Errorf("%w: sealed record ciphertext of %d bytes, under the %d-byte minimum", ErrCorrupt, len(rec.Ciphertext), gcmOverhead)
	}
	return &rec, nil
}

// maxKEKID bounds the KEK id a record may carry (it reaches error
// messages).
const maxKEKID = 256

// gcmOverhead is the nonce and tag that NewGCMWithRandomNonce adds.
const gcmOverhead = 12 + 16

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// PutSealed seals plaintext for ref and stores it at key in bucket.
func PutSealed(ctx context.Context, tx Tx, s *Sealer, bucket string, key []byte, ref RecordRef, plaintext []byte) error {
	rec, err := s.Seal(ctx, ref, plaintext)
	if err != nil {
		return err
	}
	return tx.Put(bucket, key, rec)
}

// GetSealed reads the record at key in bucket and opens it for ref. A
// missing record is ErrNotFound; see Sealer.Open for the other errors.
func GetSealed(ctx context.Context, tx Tx, s *Sealer, bucket string, key []byte, ref RecordRef) ([]byte, error) {
	rec, err := tx.Get(bucket, key)
	if err != nil {
		return nil, err
	}
	return s.Open(ctx, ref, rec)
}
