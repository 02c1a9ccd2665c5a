package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMain lets the test binary stand in for the command in the processes
// the demo starts.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := dispatch(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "signer-node:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestDemo runs the whole multi-process demo over each carrier: keys,
// signatures, a signer killed with SIGKILL and routed around, restarted and
// serving again.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 5 processes per carrier")
	}
	for _, kind := range []string{"tcp", "nats"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var out bytes.Buffer
			err := runDemo(ctx, demoOpts{kind: kind, signs: 10, out: &out})
			t.Log("\n" + out.String())
			require.NoError(t, err)
		})
	}
}
