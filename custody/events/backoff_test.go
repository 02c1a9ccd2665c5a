package events

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The wait after the n-th failure lies in [d/2, d] for d = min(Min·2^(n-1),
// Max), and is not always the same.
func TestBackoff(t *testing.T) {
	t.Parallel()
	b := &Bus{minB: time.Second, maxB: 5 * time.Minute}
	for n := 1; n <= 70; n++ {
		d := min(time.Second<<min(n-1, 20), 5*time.Minute)
		seen := map[time.Duration]bool{}
		for range 50 {
			w := b.backoff(n)
			require.GreaterOrEqual(t, w, d/2, "n=%d", n)
			require.LessOrEqual(t, w, d, "n=%d", n)
			seen[w] = true
		}
		assert.Greater(t, len(seen), 1, "n=%d: no jitter", n)
	}
	huge := &Bus{minB: time.Second, maxB: 1<<63 - 1}
	for n := 1; n <= 100; n++ {
		assert.Positive(t, huge.backoff(n), "n=%d: overflow", n)
	}
}
