package ot

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// Domain-separation labels, one per use of the hash.
const (
	labelPair      = "cairn/ot/v1/pair"
	labelPoK       = "cairn/ot/v1/base/pok"
	labelPad       = "cairn/ot/v1/base/pad"
	labelOpen      = "cairn/ot/v1/base/open"
	labelCheck     = "cairn/ot/v1/base/check"
	labelNonce     = "cairn/ot/v1/ext/nonce"
	labelMatrix    = "cairn/ot/v1/ext/matrix"
	labelChi       = "cairn/ot/v1/ext/chi"
	labelTranscr   = "cairn/ot/v1/ext/transcript"
	labelRandomize = "cairn/ot/v1/ext/randomize"
)

// transcript hashes a sequence of fields with SHA-256, each prefixed with
// its length as 8 big-endian bytes, so that distinct sequences never hash
// alike by concatenation. The first field is a domain-separation label.
type transcript struct{ h hash.Hash }

func newTranscript(label string) *transcript {
	t := &transcript{h: sha256.New()}
	t.put([]byte(label))
	return t
}

func (t *transcript) put(b []byte) *transcript {
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(b)))
	t.h.Write(l[:])
	t.h.Write(b)
	return t
}

func (t *transcript) putUint(v uint64) *transcript {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return t.put(b[:])
}

func (t *transcript) sum() (d [32]byte) {
	t.h.Sum(d[:0])
	return d
}
