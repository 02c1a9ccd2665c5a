package ot

import (
	"errors"
	"fmt"

	"github.com/cairn-mpc/cairn/internal/wire"
)

// ErrMalformedState reports bytes that are not an encoding of OT state.
var ErrMalformedState = errors.New("ot: malformed state encoding")

// senderState is a Sender at rest. It is secret: seal it.
type senderState struct {
	_        struct{} `cbor:",toarray"`
	Pair     []byte
	Delta    []byte
	Seeds    []byte
	Unusable bool
}

// receiverState is a Receiver at rest. It is secret: seal it.
type receiverState struct {
	_     struct{} `cbor:",toarray"`
	Pair  []byte
	Seeds []byte
}

// MarshalBinary encodes the Sender for storage, including whether it is
// still usable, so that a ban survives a restart. The encoding holds Δ and
// the seeds: it must be sealed at rest.
func (s *Sender) MarshalBinary() ([]byte, error) {
	seeds := make([]byte, 0, Kappa*seedSize)
	for i := range s.seeds {
		seeds = append(seeds, s.seeds[i][:]...)
	}
	b, err := wire.Marshal(senderState{Pair: s.pair[:], Delta: s.delta[:], Seeds: seeds, Unusable: s.unusable.Load()})
	clear(seeds)
	return b, err
}

// MarshalBinary encodes the Receiver for storage. The encoding holds both
// seeds of every base OT: it must be sealed at rest.
func (r *Receiver) MarshalBinary() ([]byte, error) {
	seeds := make([]byte, 0, Kappa*2*seedSize)
	for i := range r.seeds {
		seeds = append(seeds, r.seeds[i][0][:]...)
		seeds = append(seeds, r.seeds[i][1][:]...)
	}
	b, err := wire.Marshal(receiverState{Pair: r.pair[:], Seeds: seeds})
	clear(seeds)
	return b, err
}

// ParseSender decodes a Sender from MarshalBinary's encoding.
func ParseSender(b []byte) (*Sender, error) {
	var st senderState
	if err := wire.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedState, err)
	}
	if len(st.Pair) != 32 || len(st.Delta) != Kappa/8 || len(st.Seeds) != Kappa*seedSize {
		return nil, fmt.Errorf("%w: sender field lengths", ErrMalformedState)
	}
	s := &Sender{pair: PairID(st.Pair)}
	copy(s.delta[:], st.Delta)
	for i := range s.seeds {
		copy(s.seeds[i][:], st.Seeds[seedSize*i:])
	}
	s.unusable.Store(st.Unusable)
	clear(st.Delta)
	clear(st.Seeds)
	return s, nil
}

// ParseReceiver decodes a Receiver from MarshalBinary's encoding.
func ParseReceiver(b []byte) (*Receiver, error) {
	var st receiverState
	if err := wire.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedState, err)
	}
	if len(st.Pair) != 32 || len(st.Seeds) != Kappa*2*seedSize {
		return nil, fmt.Errorf("%w: receiver field lengths", ErrMalformedState)
	}
	r := &Receiver{pair: PairID(st.Pair)}
	for i := range r.seeds {
		copy(r.seeds[i][0][:], st.Seeds[2*seedSize*i:])
		copy(r.seeds[i][1][:], st.Seeds[2*seedSize*i+seedSize:])
	}
	clear(st.Seeds)
	return r, nil
}
