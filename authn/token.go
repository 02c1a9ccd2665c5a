package authn

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"strings"
)

// Token is a bearer secret: a session token or an action token. Give the
// client string(t); String, GoString and LogValue redact it so that it
// cannot reach a log or an error by accident. The store holds only its
// SHA-256.
type Token string

const redacted = "[redacted token]"

// String returns a redaction, never the token.
func (Token) String() string { return redacted }

// GoString returns a redaction, never the token.
func (Token) GoString() string { return redacted }

// LogValue returns a redaction, never the token.
func (Token) LogValue() slog.Value { return slog.StringValue(redacted) }

const (
	sessionTokenPrefix = "cairn_st_"
	actionTokenPrefix  = "cairn_at_"
	tokenEntropy       = 32
)

// newToken returns a fresh token with prefix, the id it is stored under
// and its SHA-256.
func newToken(prefix string) (tok Token, id string, hash []byte) {
	tok = Token(prefix + b64.EncodeToString(randomBytes(tokenEntropy)))
	id, hash = tokenID(tok)
	return tok, id, hash
}

// tokenID derives a token's record id (base64url of the first 16 bytes of
// its SHA-256, so knowing the id does not help to find the token) and its
// full hash, which the record keeps and lookups compare in constant time.
func tokenID(tok Token) (string, []byte) {
	sum := sha256.Sum256([]byte(tok))
	return b64.EncodeToString(sum[:16]), sum[:]
}

// checkToken refuses a token that is not of the kind prefix names and of
// the exact shape newToken makes, before anything is looked up.
func checkToken(tok Token, prefix string) (string, []byte, error) {
	s := string(tok)
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || b64.EncodedLen(tokenEntropy) != len(rest) {
		return "", nil, fmt.Errorf("%w: not a %s token", ErrInvalidToken, tokenKind(prefix))
	}
	if _, err := b64.DecodeString(rest); err != nil {
		return "", nil, fmt.Errorf("%w: not a %s token", ErrInvalidToken, tokenKind(prefix))
	}
	id, hash := tokenID(tok)
	return id, hash, nil
}

// sameHash compares a stored token hash with a computed one.
func sameHash(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

func tokenKind(prefix string) string {
	if prefix == actionTokenPrefix {
		return "action"
	}
	return "session"
}
