package store

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// ErrKEK is returned for a key-encryption key that cannot be used: the
// wrong size, a key file in an unknown format, or a key file that group or
// others may read or write.
var ErrKEK = errors.New("store: unusable key-encryption key")

// KEK is a KeyProvider holding one 256-bit key-encryption key in memory. It
// wraps data keys with AES-256-GCM. It is safe for concurrent use.
type KEK struct {
	id   string
	aead cipher.AEAD
}

var _ KeyProvider = (*KEK)(nil)

// NewKEK returns a KEK for a 32-byte key. It does not retain key; the
// caller may clear it.
func NewKEK(key []byte) (*KEK, error) {
	if len(key) != DataKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrKEK, len(key), DataKeySize)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKEK, err)
	}
	// The id is a fingerprint: it tells KEKs apart and says nothing useful
	// about the key.
	h := sha256.New()
	h.Write([]byte("cairn/store/kek-id\x00"))
	h.Write(key)
	return &KEK{id: "kek:" + hex.EncodeToString(h.Sum(nil)[:8]), aead: aead}, nil
}

// ReadKEKFile reads a KEK from a file holding either the 32 raw key bytes
// or 64 hexadecimal digits (with an optional trailing newline), as made by
// `head -c 32 /dev/urandom` or `openssl rand -hex 32`. On Unix it refuses
// a file that grants any permission to group or others.
func ReadKEKFile(path string) (*KEK, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: key-encryption key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: key-encryption key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrKEK, path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o, open to group or others; it must be readable by its owner only (chmod 600)", ErrKEK, path, fi.Mode().Perm())
	}
	buf, err := io.ReadAll(io.LimitReader(f, 2*DataKeySize+3))
	if err != nil {
		return nil, fmt.Errorf("store: key-encryption key file %s: %w", path, err)
	}
	defer clear(buf)
	key := buf
	if len(buf) != DataKeySize {
		text := bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
		if len(text) != 2*DataKeySize {
			return nil, fmt.Errorf("%w: %s holds %d bytes; want %d raw bytes or %d hex digits", ErrKEK, path, len(buf), DataKeySize, 2*DataKeySize)
		}
		key = make([]byte, DataKeySize)
		defer clear(key)
		if _, err := hex.Decode(key, text); err != nil {
			return nil, fmt.Errorf("%w: %s is neither %d raw bytes nor %d hex digits", ErrKEK, path, DataKeySize, 2*DataKeySize)
		}
	}
	return NewKEK(key)
}

// ID returns the KEK's id, a fingerprint stored beside every data key it
// wraps.
func (k *KEK) ID() string { return k.id }

func wrapAAD(aad []byte) []byte {
	return append([]byte("cairn/store/dek-wrap\x00"), aad...)
}

// WrapKey implements KeyProvider.
func (k *KEK) WrapKey(_ context.Context, dek, aad []byte) (string, []byte, error) {
	if len(dek) != DataKeySize {
		return "", nil, fmt.Errorf("store: data key of %d bytes, want %d", len(dek), DataKeySize)
	}
	return k.id, k.aead.Seal(nil, nil, dek, wrapAAD(aad)), nil
}

// UnwrapKey implements KeyProvider.
func (k *KEK) UnwrapKey(_ context.Context, kekID string, wrapped, aad []byte) ([]byte, error) {
	if kekID != k.id {
		return nil, fmt.Errorf("%w: record names %q, this provider holds %q", ErrWrongKEK, kekID, k.id)
	}
	dek, err := k.aead.Open(nil, nil, wrapped, wrapAAD(aad))
	if err != nil {
		return nil, ErrUnseal
	}
	return dek, nil
}
