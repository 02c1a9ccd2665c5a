package tcp

// Test access to the framing, to play a misbehaving peer.
var (
	EncodeHello = encodeHello
	DecodeHello = decodeHello
)

const (
	KindHello     = kindHello
	KindData      = kindData
	KindKeepalive = kindKeepalive
)
