package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/custody/audit"
)

// TestExportRead: an export reads back to the stored entries, verifies
// offline against the credentials, and is the same bytes when exported
// again.
func TestExportRead(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.fill(t)
	var buf bytes.Buffer
	require.NoError(t, w.log.Export(w.ctx, &buf))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 6)
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	assert.Equal(t, "wallet.created", first["kind"])
	assert.Equal(t, "2026-11-21T12:00:00.001000001Z", first["time"])
	assert.Equal(t, strings.Repeat("0", 64), first["prev"])

	got, err := audit.Read(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	stored, err := w.log.Entries(w.ctx, 1, 0)
	require.NoError(t, err)
	assert.Equal(t, stored, got)
	require.NoError(t, audit.VerifyEntries(w.ctx, got, w.keys))

	// No final newline is accepted too.
	got, err = audit.Read(bytes.NewReader(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))))
	require.NoError(t, err)
	assert.Len(t, got, 6)

	// An empty log exports nothing, which reads as no entries.
	empty, _ := newLog(t)
	var none bytes.Buffer
	require.NoError(t, empty.Export(w.ctx, &none))
	assert.Zero(t, none.Len())
	got, err = audit.Read(&none)
	require.NoError(t, err)
	assert.Empty(t, got)

	// An edited export reads, and fails verification at the edited line.
	edited := strings.Replace(buf.String(), `"kind":"approval.decided"`, `"kind":"approval.denied!"`, 1)
	got, err = audit.Read(strings.NewReader(edited))
	require.NoError(t, err)
	requireFailsAt(t, audit.VerifyEntries(w.ctx, got, w.keys), 4)
}

// TestReadStrict: anything but the exact form Export writes is refused.
func TestReadStrict(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t)
	_, err := l.AppendNow(t.Context(), audit.Record{Kind: "a<b", Actor: "u-1", Details: []byte(`{"x":1}`)})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, l.Export(t.Context(), &buf))
	good := strings.TrimSuffix(buf.String(), "\n")
	_, err = audit.Read(strings.NewReader(good))
	require.NoError(t, err)
	require.Contains(t, good, `"kind":"a\u003cb"`)

	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(good), &m))
	hash := m["hash"].(string)
	cases := map[string]string{
		"CRLF":               good + "\r\n",
		"blank line":         good + "\n\n" + good,
		"space":              strings.Replace(good, `"seq":1`, `"seq": 1`, 1),
		"unknown member":     strings.Replace(good, `{"v":1`, `{"v":1,"x":0`, 1),
		"duplicate member":   strings.Replace(good, `"seq":1`, `"seq":1,"seq":1`, 1),
		"member order":       strings.Replace(strings.Replace(good, `"v":1,`, ``, 1), `"hash"`, `"v":1,"hash"`, 1),
		"version 2":          strings.Replace(good, `"v":1`, `"v":2`, 1),
		"upper-case hex":     strings.Replace(good, hash, strings.ToUpper(hash), 1),
		"short hash":         strings.Replace(good, hash, hash[:62], 1),
		"time not UTC":       strings.Replace(good, `Z"`, `+00:00"`, 1),
		"time trailing zero": strings.Replace(good, `001Z"`, `0010Z"`, 1),
		"unescaped <":        strings.Replace(good, `a\u003cb`, `a<b`, 1),
		"empty details":      strings.Replace(good, `"details":"eyJ4IjoxfQ=="`, `"details":""`, 1),
		"unpadded base64":    strings.Replace(good, `eyJ4IjoxfQ==`, `eyJ4IjoxfQ`, 1),
		"empty evidence":     strings.Replace(good, `,"prev"`, `,"evidence":[],"prev"`, 1),
		"null":               "null",
		"trailing data":      good + "{}",
		"not JSON":           "audit",
		"line too long":      `{"v":1,"kind":"` + strings.Repeat("k", audit.MaxLineSize) + `"}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			require.NotEqual(t, good, in, "the case changes the line")
			_, err := audit.Read(strings.NewReader(in))
			assert.ErrorIs(t, err, audit.ErrMalformed)
		})
	}

	boom := errors.New("disk gone")
	_, err = audit.Read(&failingReader{err: boom})
	assert.ErrorIs(t, err, boom)
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }
