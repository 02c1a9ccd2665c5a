package events_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/custody/events"
)

// The header is t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>,
// computed here independently of the package.
func TestSignFormat(t *testing.T) {
	t.Parallel()
	sec := []byte("whsec-0123456789abcdef")
	body := []byte(`{"id":"e1","type":"wallet.created"}`)
	at := time.Unix(1795000000, 999_000_000)
	h := events.Sign(sec, at, body)
	assert.Regexp(t, regexp.MustCompile(`^t=[0-9]+,v1=[0-9a-f]{64}$`), h)
	m := hmac.New(sha256.New, sec)
	m.Write([]byte("1795000000." + string(body)))
	assert.Equal(t, "t=1795000000,v1="+hex.EncodeToString(m.Sum(nil)), h)
}

func TestVerify(t *testing.T) {
	t.Parallel()
	sec := []byte("whsec-0123456789abcdef")
	body := []byte(`{"id":"e1","type":"request.approved","data":{"amount":"10"}}`)
	now := time.Unix(1795000000, 0)
	good := events.Sign(sec, now, body)
	ts, v1, _ := strings.Cut(strings.TrimPrefix(good, "t="), ",v1=")
	other := events.Sign([]byte("another-secret-of-16+"), now, body)
	_, otherV1, _ := strings.Cut(other, ",v1=")
	flip := func(s string) string { // change the last hex digit
		last := s[len(s)-1]
		if last == '0' {
			return s[:len(s)-1] + "1"
		}
		return s[:len(s)-1] + "0"
	}

	for _, c := range []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{"valid", sec, good, body, now, 0, nil},
		{"valid, 4 min late, default tolerance", sec, good, body, now.Add(4 * time.Minute), 0, nil},
		{"valid, spaces after comma", sec, "t=" + ts + ", v1=" + v1, body, now, 0, nil},
		{"valid, elements reordered", sec, "v1=" + v1 + ",t=" + ts, body, now, 0, nil},
		{"valid, one of two v1 matches", sec, "t=" + ts + ",v1=" + otherV1 + ",v1=" + v1, body, now, 0, nil},
		{"valid, unknown scheme ignored", sec, good + ",v0=whatever", body, now, 0, nil},
		{"wrong secret", []byte("not-the-webhook-secret"), good, body, now, 0, events.ErrSignature},
		{"empty secret", nil, good, body, now, 0, events.ErrSignature},
		{"tampered body", sec, good, []byte(strings.Replace(string(body), "10", "99", 1)), now, 0, events.ErrSignature},
		{"body with trailing newline", sec, good, append(append([]byte(nil), body...), '\n'), now, 0, events.ErrSignature},
		{"tampered signature", sec, flip(good), body, now, 0, events.ErrSignature},
		{"tampered timestamp", sec, "t=" + strconv.FormatInt(now.Unix()+1, 10) + ",v1=" + v1, body, now, 0, events.ErrSignature},
		{"uppercase hex still the same bytes", sec, "t=" + ts + ",v1=" + strings.ToUpper(v1), body, now, 0, nil},
		{"stale, default tolerance", sec, good, body, now.Add(6 * time.Minute), 0, events.ErrStale},
		{"stale, given tolerance", sec, good, body, now.Add(31 * time.Second), 30 * time.Second, events.ErrStale},
		{"from the future", sec, good, body, now.Add(-time.Hour), time.Minute, events.ErrStale},
		{"empty", sec, "", body, now, 0, events.ErrMalformed},
		{"no t", sec, "v1=" + v1, body, now, 0, events.ErrMalformed},
		{"no v1", sec, "t=" + ts, body, now, 0, events.ErrMalformed},
		{"only another scheme", sec, "t=" + ts + ",v0=" + v1, body, now, 0, events.ErrMalformed},
		{"two t", sec, "t=" + ts + ",t=" + ts + ",v1=" + v1, body, now, 0, events.ErrMalformed},
		{"t not a number", sec, "t=soon,v1=" + v1, body, now, 0, events.ErrMalformed},
		{"t negative", sec, "t=-" + ts + ",v1=" + v1, body, now, 0, events.ErrMalformed},
		{"t with sign", sec, "t=+" + ts + ",v1=" + v1, body, now, 0, events.ErrMalformed},
		{"t overflows", sec, "t=99999999999999999999,v1=" + v1, body, now, 0, events.ErrMalformed},
		{"t empty", sec, "t=,v1=" + v1, body, now, 0, events.ErrMalformed},
		{"v1 not hex", sec, "t=" + ts + ",v1=" + strings.Repeat("z", 64), body, now, 0, events.ErrMalformed},
		{"v1 short", sec, "t=" + ts + ",v1=" + v1[:62], body, now, 0, events.ErrMalformed},
		{"v1 long", sec, "t=" + ts + ",v1=" + v1 + "00", body, now, 0, events.ErrMalformed},
		{"element without =", sec, good + ",junk", body, now, 0, events.ErrMalformed},
		{"empty element", sec, good + ",", body, now, 0, events.ErrMalformed},
		{"semicolons", sec, "t=" + ts + ";v1=" + v1, body, now, 0, events.ErrMalformed},
		{"huge", sec, good + strings.Repeat(",v0=x", 1000), body, now, 0, events.ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := events.Verify(c.secret, c.header, c.body, c.now, c.tol)
			if c.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, c.want)
			for _, other := range []error{events.ErrMalformed, events.ErrSignature, events.ErrStale} {
				if other != c.want {
					assert.NotErrorIs(t, err, other)
				}
			}
			assert.NotContains(t, err.Error(), v1, "errors do not echo signatures")
		})
	}
}

// FuzzVerify feeds arbitrary headers and bodies to the parser: no panic,
// only the typed errors, and a header accepted for a body is one whose
// signature the secret made. Sign's output always verifies.
func FuzzVerify(f *testing.F) {
	sec := []byte("whsec-0123456789abcdef")
	now := time.Unix(1795000000, 0)
	body := []byte(`{"id":"e1"}`)
	good := events.Sign(sec, now, body)
	for _, seed := range []string{
		good, "", "t=", "v1=", "t=1,v1=", ",", "=,=", "t=1795000000,v1=" + strings.Repeat("0", 64),
		good + ",v1=" + strings.Repeat("f", 64), "t=1795000000,v1=" + strings.Repeat("g", 64),
		"t=18446744073709551616,v1=00", "t=1, v1=2", "v1=" + strings.Repeat("a", 64) + ",t=0", "t=1\x00,v1=0",
	} {
		f.Add(seed, body)
	}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := events.Verify(sec, header, body, now, time.Hour)
		if err != nil && !errors.Is(err, events.ErrMalformed) && !errors.Is(err, events.ErrSignature) && !errors.Is(err, events.ErrStale) {
			t.Fatalf("untyped error %v", err)
		}
		if err == nil {
			// Accepted: it must carry the signature Sign makes for its t.
			var ts int64
			for elem := range strings.SplitSeq(header, ",") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(elem), "t="); ok {
					ts, _ = strconv.ParseInt(v, 10, 64)
				}
			}
			_, want, _ := strings.Cut(events.Sign(sec, time.Unix(ts, 0), body), ",v1=")
			if !strings.Contains(strings.ToLower(header), want) {
				t.Fatalf("accepted %q without the right signature", header)
			}
		}
		at := now.Add(time.Duration(len(header)) * time.Second)
		if err := events.Verify(sec, events.Sign(sec, at, body), body, at, 0); err != nil {
			t.Fatalf("Sign's own header refused: %v", err)
		}
	})
}
