package node

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestMemoryRelease: one release after a burst of at least quietBurst
// handshakes once a check interval passes without one; none during the
// burst, none for a trickle, none again within quietGap of the last.
func TestMemoryRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var handshakes atomic.Uint64
		var releases atomic.Int32
		m := &memoryRelease{handshakes: handshakes.Load, release: func() { releases.Add(1) }, now: time.Now}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); m.run(ctx) }()
		// step lets d pass (in the bubble's clock) with handshakes
		// arriving by each tick when perTick > 0, and returns the
		// releases so far.
		step := func(d time.Duration, perTick uint64) int32 {
			for end := time.Now().Add(d); time.Now().Before(end); {
				handshakes.Add(perTick)
				time.Sleep(quietCheckInterval)
				synctest.Wait()
			}
			return releases.Load()
		}
		time.Sleep(quietCheckInterval / 2) // between ticks

		if got := step(10*time.Second, quietBurst/8); got != 0 {
			t.Fatalf("%d releases during a burst, want 0", got)
		}
		if got := step(2*quietCheckInterval, 0); got != 1 {
			t.Fatalf("%d releases after a quiet second following a burst of %d, want 1", got, handshakes.Load())
		}
		if got := step(5*time.Second, 0); got != 1 {
			t.Fatalf("%d releases while quiet, want still 1", got)
		}
		if got := step(3*time.Second, 5); got != 1 {
			t.Fatalf("%d releases after a trickle, want still 1", got)
		}
		// A second burst 20 s after the first release: held until
		// quietGap has passed since it.
		step(time.Second, quietBurst)
		if got := step(3*time.Second, 0); got != 1 {
			t.Fatalf("%d releases within %v of the last, want still 1", got, quietGap)
		}
		if got := step(quietGap, 0); got != 2 {
			t.Fatalf("%d releases once %v passed, want 2", got, quietGap)
		}
		cancel()
		<-done
	})
}
