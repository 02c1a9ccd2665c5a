package store

import "errors"

// ErrInvalid is returned by Tx.Put for a bucket name or key the store
// cannot hold: empty, or over the implementation's size limits (see its
// documentation).
var ErrInvalid = errors.New("store: invalid bucket name, key or value")
