package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the HTTP header that carries the signature of a
// webhook request. Sign makes its value and Verify checks it.
const SignatureHeader = "Cairn-Signature"

// DefaultTolerance is the clock skew Verify allows when called with a
// tolerance of zero or less.
const DefaultTolerance = 5 * time.Minute

// maxHeader bounds the signature header Verify reads; a real one is about
// 80 bytes, a few more if it carries several signatures.
const maxHeader = 4096

var (
	// ErrMalformed is returned by Verify for a header that is not of the form
	// "t=<unix seconds>,v1=<64 hex digits>" (more v1 elements, and elements
	// of unknown schemes, are allowed).
	ErrMalformed = errors.New("events: malformed signature header")
	// ErrSignature is returned by Verify when no v1 signature in the header
	// is the HMAC of the timestamp and body under the secret: the body or
	// timestamp was altered, or the secret is not the webhook's.
	ErrSignature = errors.New("events: signature does not match")
	// ErrStale is returned by Verify for a correctly signed request whose
	// timestamp is further from now than the tolerance: possibly a replay.
	ErrStale = errors.New("events: signature timestamp outside tolerance")
)

// Sign returns the value of the Cairn-Signature header for body sent at t:
//
//	t=<t as unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>." + body)>
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify is what a webhook receiver calls on each request, with the raw
// request body (before any JSON decoding), the value of the Cairn-Signature
// header, the webhook's secret and the current time. It returns nil if one
// of the header's v1 signatures is the HMAC-SHA256 of "<t>." + body under
// secret, compared in constant time, and t is within tolerance of now
// (DefaultTolerance if tolerance ≤ 0).
//
// Errors wrap ErrMalformed (the header cannot be parsed), ErrSignature (no
// signature matches) or ErrStale (the signature matches but t is too far
// from now). The signature is checked before the timestamp, so an altered
// timestamp is reported as ErrSignature.
//
// A valid signature proves the request came from a holder of the secret
// within the tolerance window; it does not prevent a replay within it, so
// receivers also dedupe on the Cairn-Event-Id header.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sigs, err := parseHeader(header)
	if err != nil {
		return err
	}
	want := mac(secret, ts, body)
	ok := 0
	for _, s := range sigs {
		ok |= boolInt(hmac.Equal(want, s))
	}
	if ok == 0 {
		return ErrSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compare in seconds, without overflow for any parsed timestamp.
	skew := now.Unix() - ts
	if skew < 0 {
		skew = -skew
	}
	if skew < 0 || time.Duration(skew) > tolerance/time.Second {
		return fmt.Errorf("%w: signed at %d, now %d", ErrStale, ts, now.Unix())
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseHeader parses "t=<decimal>,v1=<hex>[,v1=<hex>...]", in any order,
// ignoring elements of other schemes so that a later scheme can be added
// beside v1. It never panics.
func parseHeader(h string) (ts int64, sigs [][]byte, err error) {
	if len(h) == 0 {
		return 0, nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if len(h) > maxHeader {
		return 0, nil, fmt.Errorf("%w: %d bytes, over the %d limit", ErrMalformed, len(h), maxHeader)
	}
	haveT := false
	for elem := range strings.SplitSeq(h, ",") {
		elem = strings.TrimSpace(elem)
		k, v, found := strings.Cut(elem, "=")
		if !found || k == "" {
			return 0, nil, fmt.Errorf("%w: an element is not key=value", ErrMalformed)
		}
		switch k {
		case "t":
			if haveT {
				return 0, nil, fmt.Errorf("%w: more than one t", ErrMalformed)
			}
			if v == "" || len(v) > 18 || strings.TrimLeft(v, "0123456789") != "" {
				return 0, nil, fmt.Errorf("%w: t is not unix seconds", ErrMalformed)
			}
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				return 0, nil, fmt.Errorf("%w: t is not unix seconds", ErrMalformed)
			}
			ts, haveT = n, true
		case "v1":
			if len(v) != 2*sha256.Size {
				return 0, nil, fmt.Errorf("%w: v1 of %d characters, want %d hex digits", ErrMalformed, len(v), 2*sha256.Size)
			}
			s, derr := hex.DecodeString(v)
			if derr != nil {
				return 0, nil, fmt.Errorf("%w: v1 is not hex", ErrMalformed)
			}
			sigs = append(sigs, s)
		}
	}
	if !haveT {
		return 0, nil, fmt.Errorf("%w: no t", ErrMalformed)
	}
	if len(sigs) == 0 {
		return 0, nil, fmt.Errorf("%w: no v1 signature", ErrMalformed)
	}
	return ts, sigs, nil
}
