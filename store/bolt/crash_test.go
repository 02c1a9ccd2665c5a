package bolt_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
)

// The crash helper writes, per Update, a sealed share and an index entry
// holding the share's hash. After a SIGKILL at any point, both or neither
// must be present, every share must open, and every Update the helper saw
// return must be there.

const crashHelperEnv = "CAIRN_STORE_CRASH_HELPER"

func crashRef(i uint64) store.RecordRef {
	return store.RecordRef{Signer: "signer-1", KeyID: fmt.Sprintf("key-%06d", i), Kind: "share", Version: 1}
}

func crashKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// TestHelperProcess is not a test: run by TestCrashDuringSealedWrites as a
// child process, it writes sealed records until it is killed.
func TestHelperProcess(t *testing.T) {
	spec := os.Getenv(crashHelperEnv)
	if spec == "" {
		t.Skip("helper process for TestCrashDuringSealedWrites")
	}
	dbPath, kekPath, _ := strings.Cut(spec, "|")
	if err := crashHelper(dbPath, kekPath); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func crashHelper(dbPath, kekPath string) error {
	kek, err := store.ReadKEKFile(kekPath)
	if err != nil {
		return err
	}
	sealer := store.NewSealer(kek)
	db, err := bolt.Open(dbPath, nil)
	if err != nil {
		return err
	}
	ctx := context.Background()
	// Continue after the records earlier runs committed.
	var next uint64
	if err := db.View(ctx, func(tx store.Tx) error {
		return tx.ForEach("index", nil, func(k, _ []byte) error {
			next = binary.BigEndian.Uint64(k) + 1
			return nil
		})
	}); err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	for i := next; ; i++ {
		// Shares of varied sizes, some spanning several pages, so kills
		// land in page splits and overflow writes too.
		share := make([]byte, 32+int(i%7)*1500)
		if _, err := rand.Read(share); err != nil {
			return err
		}
		sum := sha256.Sum256(share)
		if err := db.Update(ctx, func(tx store.Tx) error {
			if err := store.PutSealed(ctx, tx, sealer, "shares", crashKey(i), crashRef(i), share); err != nil {
				return err
			}
			return tx.Put("index", crashKey(i), sum[:])
		}); err != nil {
			return err
		}
		// Reported only once Update has returned: durable from here on.
		fmt.Fprintf(out, "committed %d\n", i)
		if err := out.Flush(); err != nil {
			return err
		}
	}
}

func TestCrashDuringSealedWrites(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "signer.db")
	kekPath := filepath.Join(dir, "kek")
	kekBytes := make([]byte, 32)
	_, _ = rand.Read(kekBytes)
	require.NoError(t, os.WriteFile(kekPath, kekBytes, 0o600))
	kek, err := store.ReadKEKFile(kekPath)
	require.NoError(t, err)
	sealer := store.NewSealer(kek)

	var acknowledged uint64 // highest record any child reported committed, plus one
	const kills = 12
	for round := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashHelperEnv+"="+dbPath+"|"+kekPath)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())

		acks := make(chan uint64, 1024)
		go func() {
			defer close(acks)
			lines := bufio.NewScanner(stdout)
			for lines.Scan() {
				n, ok := strings.CutPrefix(lines.Text(), "committed ")
				if !ok {
					continue
				}
				if i, err := strconv.ParseUint(n, 10, 64); err == nil {
					acks <- i
				}
			}
		}()

		// Let each run commit a different number of records, then kill it
		// without warning at a random point of the cycle: the delay is not
		// synchronisation but where the kill lands, spread over about two
		// Updates (sealing, page writes, the two fsyncs of a commit).
		target := 5 + round*7
		seen := 0
		start := time.Now()
		for seen < target {
			i, ok := <-acks
			if !ok {
				break
			}
			acknowledged = max(acknowledged, i+1)
			seen++
		}
		perUpdate := time.Since(start) / time.Duration(max(seen, 1))
		time.Sleep(time.Duration(mrand.Int64N(int64(2*perUpdate) + 1)))
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		// Acknowledgements written before the kill landed count too.
		for i := range acks {
			acknowledged = max(acknowledged, i+1)
		}
		err = cmd.Wait()
		require.Equal(t, target, seen, "helper stopped early: %v\n%s", err, stderr.String())
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		ws, ok := exit.Sys().(syscall.WaitStatus)
		require.True(t, ok)
		require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "helper was not killed: %v\n%s", err, stderr.String())

		checkCrashStore(t, dbPath, sealer, acknowledged)
	}
}

// checkCrashStore reopens the store and checks that shares and index agree
// record by record, that every share opens to the hash its index entry
// holds, and that no acknowledged record is missing.
func checkCrashStore(t *testing.T, path string, sealer *store.Sealer, acknowledged uint64) {
	t.Helper()
	db, err := bolt.Open(path, nil)
	require.NoError(t, err, "reopening after SIGKILL")
	defer db.Close()
	var shares, index int
	require.NoError(t, db.View(t.Context(), func(tx store.Tx) error {
		if err := tx.ForEach("shares", nil, func(k, _ []byte) error {
			shares++
			_, err := tx.Get("index", k)
			assert.NoError(t, err, "share %x without its index entry", k)
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEach("index", nil, func(k, sum []byte) error {
			index++
			i := binary.BigEndian.Uint64(k)
			assert.Equal(t, uint64(index-1), i, "records are contiguous")
			share, err := store.GetSealed(t.Context(), tx, sealer, "shares", k, crashRef(i))
			if !assert.NoError(t, err, "record %d", i) {
				return nil
			}
			got := sha256.Sum256(share)
			assert.Equal(t, sum, got[:], "record %d opens to another share", i)
			return nil
		})
	}))
	assert.Equal(t, shares, index)
	assert.GreaterOrEqual(t, uint64(index), acknowledged, "an acknowledged record was lost")
	// At most the one Update in flight when the kill landed may have
	// committed without being acknowledged.
	assert.LessOrEqual(t, uint64(index), acknowledged+1)
	// The store still takes writes.
	require.NoError(t, db.Update(t.Context(), func(tx store.Tx) error {
		return tx.Put("probe", []byte("k"), []byte("v"))
	}))
}
