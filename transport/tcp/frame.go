package tcp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cairn-mpc/cairn/internal/wire"
	"github.com/cairn-mpc/cairn/transport"
)

// On the wire, inside TLS, a connection carries frames: a 4-byte big-endian
// length L ≥ 1, then L bytes: a kind byte and its data. The dialler sends
// one hello, the acceptor answers with one hello, and from then on the
// dialler sends data and keepalive frames and the acceptor keepalives only.
const (
	kindHello     byte = 'H'
	kindData      byte = 'D'
	kindKeepalive byte = 'K'

	protocolVersion = 1
	maxHello        = 1024
)

// ErrProtocol reports a peer that broke the framing protocol: an empty or
// unknown frame, a frame of a kind it may not send, or a bad hello.
var ErrProtocol = errors.New("tcp: protocol violation")

// hello is each end's first frame: the protocol version, the node the
// sender says it is, and the node it believes it is talking to.
type hello struct {
	_       struct{} `cbor:",toarray"`
	Version uint8
	From    string
	To      string
}

func encodeHello(from, to transport.NodeID) ([]byte, error) {
	return wire.Marshal(hello{Version: protocolVersion, From: string(from), To: string(to)})
}

// decodeHello parses a peer's hello.
func decodeHello(b []byte) (hello, error) {
	var h hello
	if err := wire.Unmarshal(b, &h); err != nil {
		return hello{}, fmt.Errorf("%w: hello: %w", ErrProtocol, err)
	}
	if h.Version != protocolVersion {
		return hello{}, fmt.Errorf("%w: hello version %d, want %d", ErrProtocol, h.Version, protocolVersion)
	}
	if h.From == "" || h.To == "" {
		return hello{}, fmt.Errorf("%w: hello without node ids", ErrProtocol)
	}
	return h, nil
}

// readFrame reads one frame whose data is at most max bytes. A longer
// frame is refused, before any of it is read, with an error wrapping
// transport.ErrFrameTooLarge; the caller then drops the connection, since
// the stream cannot be resynchronised.
func readFrame(r *bufio.Reader, max int) (kind byte, data []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return 0, nil, fmt.Errorf("%w: empty frame", ErrProtocol)
	}
	if uint64(n-1) > uint64(max) {
		return 0, nil, fmt.Errorf("tcp: incoming frame of %d bytes (limit %d): %w", n-1, max, transport.ErrFrameTooLarge)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

// writeFrame writes one frame to w (buffered; the caller flushes).
func writeFrame(w *bufio.Writer, kind byte, data []byte) error {
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)+1))
	hdr[4] = kind
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}
