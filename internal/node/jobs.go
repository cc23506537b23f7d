package node

import (
	"context"
	"runtime/debug"
	"sync"
	"time"

	"github.com/certgate/certgate/internal/gateway"
)

// The node's schedules over its gateway: the gateway serves, the node
// decides when housekeeping runs.

// DefaultBackendProbeInterval is the time between probes of every https
// back end's certificate when the options leave it 0.
const DefaultBackendProbeInterval = 5 * time.Minute

// expiryWarnInterval is how often the stage client certificates are
// checked for expiry (gateway.Gateway.WarnExpiring repeats a warning at
// most once a day per certificate).
const expiryWarnInterval = time.Hour

// jobOptions configure startJobs.
type jobOptions struct {
	// Now is the node's clock (nil: time.Now).
	Now func() time.Time
	// ProbeInterval is the time between probes of every https back end
	// (0: DefaultBackendProbeInterval; negative: none).
	ProbeInterval time.Duration
	// ProbeNew receives after each Apply (the reconciler's probeNew);
	// the integrations not probed yet are probed then.
	ProbeNew <-chan struct{}
	// Refusals, if not nil, samples the refused handshakes each minute.
	Refusals *refusals
}

// startJobs starts the node's schedules over g until ctx ends; the
// returned function stops them and waits.
func startJobs(ctx context.Context, g *gateway.Gateway, opts jobOptions) (stop func()) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	interval := opts.ProbeInterval
	if interval == 0 {
		interval = DefaultBackendProbeInterval
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	m := &memoryRelease{handshakes: g.Handshakes, release: debug.FreeOSMemory, now: now}
	wg.Go(func() { m.run(ctx) })
	wg.Go(func() { probeBackends(ctx, g.ProbeBackends, interval, opts.ProbeNew) })
	wg.Go(func() { every(ctx, expiryWarnInterval, func() { g.WarnExpiring(now()) }) })
	if opts.Refusals != nil {
		wg.Go(func() { opts.Refusals.run(ctx) })
	}
	return func() { cancel(); wg.Wait() }
}

// probeBackends probes the integrations not probed yet whenever probeNew
// receives, and every one of them each interval (none when interval is
// negative), until ctx ends. One probe round runs at a time.
func probeBackends(ctx context.Context, probe func(ctx context.Context, onlyNew bool), interval time.Duration, probeNew <-chan struct{}) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-probeNew:
			probe(ctx, true)
		case <-tick:
			probe(ctx, false)
		}
	}
}

// every runs fn each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
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
