package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart keeps the README's demo working and saying what it shows.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out), "output so far:\n%s", out.String())
	got := out.String()
	t.Log("\n" + got)
	for _, want := range []string{
		`(?m)^cluster +5 signers, threshold 3, .*evidence gate on$`,
		`(?m)^users +admin .*; approver \(Policies:Approvals:Decide\)$`,
		`(?m)^wallet +Ethereum 0x[0-9a-fA-F]{40} `,
		`(?m)^wallet +Solana +[1-9A-HJ-NP-Za-km-z]{32,44} `,
		`(?m)^policy +"large transfers": above 1,000 USD`,
		// 0.1 ETH goes through without approval.
		`(?m)^transfer +0\.1 ETH to \S+: allowed → Broadcasted, tx 0x.*\n +block mined → Confirmed in block \d+$`,
		// 1 ETH waits, is approved, and is confirmed.
		`(?m)^transfer +1 ETH to \S+: Pending, .*large transfers.*\n +approver approves \(signed action\) → Broadcasted, tx 0x.*\n +block mined → Confirmed in block \d+$`,
		`(?m)^verify +recipient balance 1\.1 ETH, as sent$`,
		`(?m)^ +audit log verified: \d+ entries, `,
		`(?m)^ +audit head [0-9a-f]{64}$`,
	} {
		assert.Regexp(t, regexp.MustCompile(want), got)
	}
}
