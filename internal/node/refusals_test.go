package node

import (
	"context"
	"maps"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestRefusalsLastHour: the counts of the last hour, in the bubble's
// clock: refusals older than an hour drop out a minute at a time, and
// the sampler stops with its context.
func TestRefusalsLastHour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		total := map[string]uint64{}
		add := func(reason string, n uint64) { mu.Lock(); total[reason] += n; mu.Unlock() }
		read := func() map[string]uint64 { mu.Lock(); defer mu.Unlock(); return maps.Clone(total) }
		add("ClientCertMissing", 4) // before the node started: not counted
		r := newRefusals(read)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); r.run(ctx) }()
		want := func(when string, w map[string]uint64) {
			t.Helper()
			synctest.Wait()
			if got := r.LastHour(); !maps.Equal(got, w) {
				t.Errorf("%s: LastHour() = %v, want %v", when, got, w)
			}
		}
		want("at start", map[string]uint64{})
		add("ClientCertMissing", 3)
		time.Sleep(30 * time.Second)
		add("ClientCertUntrusted", 1)
		want("after 30 s", map[string]uint64{"ClientCertMissing": 3, "ClientCertUntrusted": 1})
		time.Sleep(50 * time.Minute)
		add("ClientCertMissing", 2)
		want("after 50 min", map[string]uint64{"ClientCertMissing": 5, "ClientCertUntrusted": 1})
		// Past the hour the first refusals (in the first minute) drop out.
		time.Sleep(11 * time.Minute)
		want("after 61 min", map[string]uint64{"ClientCertMissing": 2})
		time.Sleep(time.Hour)
		want("after 2 h", map[string]uint64{})
		cancel()
		<-done
	})
}
