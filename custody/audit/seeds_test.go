package audit_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/store"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpus under testdata/fuzz from a log with real evidence")

// TestWriteFuzzSeeds writes the seed corpus of FuzzRead and
// FuzzDecodeStored from a log whose entries carry real evidence:
//
//	go test ./custody/audit -run TestWriteFuzzSeeds -write-seeds
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to rewrite the corpus")
	}
	w := newWorld(t)
	entries := w.fill(t)
	var export bytes.Buffer
	require.NoError(t, w.log.Export(w.ctx, &export))
	writeSeed(t, "FuzzRead", "export-with-evidence", export.Bytes())
	for _, e := range entries {
		if len(e.Evidence) == 0 {
			continue
		}
		var v []byte
		require.NoError(t, w.db.View(w.ctx, func(tx store.Tx) error {
			var err error
			v, err = tx.Get(bucketEntries, seqKey(e.Seq))
			return err
		}))
		writeSeed(t, "FuzzDecodeStored", fmt.Sprintf("entry-%d", e.Seq), v)
	}
}

func writeSeed(t *testing.T, fuzz, name string, b []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", fuzz)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
}
