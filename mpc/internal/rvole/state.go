package rvole

import (
	"fmt"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/mpc/internal/ot"
)

// bobState is a Bob at rest. It is secret: seal it.
type bobState struct {
	_      struct{} `cbor:",toarray"`
	OT     []byte
	Banned bool
}

// MarshalBinary encodes Alice for storage: the OT extension sender, with its
// usable flag. It holds secrets: seal it at rest.
func (a *Alice) MarshalBinary() ([]byte, error) { return a.ot.MarshalBinary() }

// MarshalBinary encodes Bob for storage: the OT extension receiver and
// whether an Alice has failed the multiplication check. It holds secrets:
// seal it at rest.
func (b *Bob) MarshalBinary() ([]byte, error) {
	o, err := b.ot.MarshalBinary()
	if err != nil {
		return nil, err
	}
	enc, err := wire.Marshal(bobState{OT: o, Banned: b.banned.Load()})
	clear(o)
	return enc, err
}

// ParseAlice decodes Alice from MarshalBinary's encoding.
func ParseAlice(b []byte) (*Alice, error) {
	s, err := ot.ParseSender(b)
	if err != nil {
		return nil, err
	}
	return NewAlice(s), nil
}

// ParseBob decodes Bob from MarshalBinary's encoding.
func ParseBob(b []byte) (*Bob, error) {
	var st bobState
	if err := wire.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: %w", ot.ErrMalformedState, err)
	}
	r, err := ot.ParseReceiver(st.OT)
	clear(st.OT)
	if err != nil {
		return nil, err
	}
	bob := NewBob(r)
	bob.banned.Store(st.Banned)
	return bob, nil
}
