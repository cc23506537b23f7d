package node

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/certgate/certgate/internal/gateway"
)

// The node's schedules over its gateway: the gateway serves, the node
// decides when housekeeping runs.

// startJobs starts the node's schedules over g until ctx ends; the
// returned function stops them and waits. now is the node's clock (nil:
// time.Now).
func startJobs(ctx context.Context, g *gateway.Gateway, now func() time.Time) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	m := &memoryRelease{handshakes: g.Handshakes, release: debug.FreeOSMemory, now: now}
	go func() { defer close(done); m.run(ctx) }()
	return func() { cancel(); <-done }
}

// The end of a burst of handshakes (see memoryRelease): looked for every
// quietCheckInterval; a burst is at least quietBurst handshakes, and
// releases are at least quietGap apart.
const (
	quietCheckInterval = time.Second
	quietBurst         = 64
	quietGap           = 30 * time.Second
)

// memoryRelease hands memory back to the system after a burst of
// front-door handshakes, once none came for a whole check interval: one
// collection (debug.FreeOSMemory), which frees the burst's garbage,
// shrinks the stacks of the connections now idle and returns the memory.
// Without it that memory stays until Go's next collection, which nothing
// triggers while connections only sit idle. Trickles of handshakes (fewer
// than quietBurst since the last release) and bursts less than quietGap
// apart do not count: a full collection costs in proportion to the live
// heap.
type memoryRelease struct {
	handshakes func() uint64 // gateway.Gateway.Handshakes
	release    func()        // debug.FreeOSMemory
	now        func() time.Time
}

func (m *memoryRelease) run(ctx context.Context) {
	now := m.now
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(quietCheckInterval)
	defer t.Stop()
	var seen, since uint64 // handshakes seen; and at the last release
	var last time.Time     // the last release
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := m.handshakes()
		if n != seen {
			seen = n
			continue
		}
		if n-since >= quietBurst && now().Sub(last) >= quietGap {
			since, last = n, now()
			m.release()
		}
	}
}
