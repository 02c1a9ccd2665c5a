// Package transport moves opaque frames between Cairn nodes.
//
// A Transport is one node's endpoint. It authenticates who a frame came from
// (the carrier's job: the memory network knows, TCP takes it from the client
// certificate) but makes no promise about order, delivery or duplication:
// the runner in package mpc copes with all three.
package transport

import (
	"context"
	"errors"
)

// NodeID names a node on a network ("signer-1", "coordinator").
type NodeID string

// Frame is one delivered payload. From is set by the carrier, never by the
// sender's claim.
type Frame struct {
	From    NodeID
	To      NodeID
	Payload []byte
}

// Transport is one node's endpoint on a network.
type Transport interface {
	// Self is this endpoint's node id.
	Self() NodeID
	// Send queues payload for node to. A nil error does not mean delivery.
	Send(ctx context.Context, to NodeID, payload []byte) error
	// Receive blocks until a frame arrives, ctx ends, or the transport closes.
	Receive(ctx context.Context) (Frame, error)
	// Close releases the endpoint; Receive then returns ErrClosed.
	Close() error
}

// Broadcast sends payload to every node in to, stopping at the first error.
func Broadcast(ctx context.Context, t Transport, to []NodeID, payload []byte) error {
	for _, n := range to {
		if n == t.Self() {
			continue
		}
		if err := t.Send(ctx, n, payload); err != nil {
			return err
		}
	}
	return nil
}

var (
	// ErrClosed is returned by an endpoint after Close (or a crash).
	ErrClosed = errors.New("transport: closed")
	// ErrUnknownNode is returned by Send for a node the network does not know.
	ErrUnknownNode = errors.New("transport: unknown node")
	// ErrFrameTooLarge is returned for a payload over the carrier's limit.
	ErrFrameTooLarge = errors.New("transport: frame too large")
)
