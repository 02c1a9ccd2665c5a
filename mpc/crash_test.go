package mpc_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/mpc/mpctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash test re-executes this test binary as a child that runs a
// cluster on a directory and loops over ceremonies; the parent SIGKILLs it
// mid-ceremony, then rebuilds the cluster on the same directory.
const crashDirEnv = "CAIRN_CRASH_DIR"

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	mode := os.Getenv("CAIRN_CRASH_MODE")
	c := mpctest.New(t, 5, mpctest.Options{Dir: dir, AttemptTimeout: mpc.Scaled(time.Minute)})
	ctx := context.Background()
	var key *mpc.KeyInfo
	if mode == "sign" {
		var err error
		if key, err = c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 3, Signers: c.Nodes()}); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("key %s\n", key.ID)
	}
	fmt.Println("ready")
	for i := 0; ; i++ {
		var err error
		if mode == "sign" {
			_, err = c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: []byte(fmt.Sprint("crash ", i))})
		} else {
			_, err = c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 3, Signers: c.Nodes()})
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("done", i)
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	t.Parallel()
	for _, mode := range []string{"keygen", "sign"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v=false")
			cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, "CAIRN_CRASH_MODE="+mode)
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			lines := bufio.NewScanner(out)
			var keyID string
			done := 0
			for lines.Scan() {
				line := lines.Text()
				if id, ok := strings.CutPrefix(line, "key "); ok {
					keyID = id
				}
				if strings.HasPrefix(line, "done") {
					done++
				}
				if done == 3 {
					break // in the middle of the fourth ceremony's traffic
				}
			}
			require.Equal(t, 3, done, "child did not get going")
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()

			// Every store reopens, and the cluster works again.
			c := mpctest.New(t, 5, mpctest.Options{Dir: dir, AttemptTimeout: mpc.Scaled(5 * time.Second)})
			ctx := ctxFor(t, time.Minute)
			if mode == "sign" {
				require.NotEmpty(t, keyID)
				msg := []byte("after the crash")
				sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: keyID, Message: msg})
				require.NoError(t, err)
				assert.True(t, ed25519.Verify(sig.PublicKey, msg, sig.Bytes))
			}
			key, err := c.Coordinator.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 3, Signers: c.Nodes()})
			require.NoError(t, err, "a ceremony can be run again")
			msg := []byte("a new key after the crash")
			sig, err := c.Coordinator.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: msg})
			require.NoError(t, err)
			assert.True(t, ed25519.Verify(sig.PublicKey, msg, sig.Bytes))
			// Every share every signer holds opens and is whole.
			for _, id := range c.Nodes() {
				ids, err := c.Node(id).Signer.Keys(ctx)
				require.NoError(t, err, "signer %s", id)
				assert.NotEmpty(t, ids, "signer %s", id)
			}
		})
	}
}
