package node

import (
	"context"
	"sync"
	"time"
)

// refusalSamples is how many per-minute samples of the gateway's
// cumulative refused handshakes the node keeps: an hour's.
const refusalSamples = 60

// refusals turns the gateway's cumulative refused-handshake counts into
// the last hour's: a sample each minute, the oldest of the last 60
// subtracted from a fresh read. Safe for concurrent use.
type refusals struct {
	// read returns the cumulative counts by reason code.
	read func() map[string]uint64
	mu   sync.Mutex
	// ring holds the samples, oldest first (at most refusalSamples).
	ring []map[string]uint64
}

// newRefusals takes the first sample of read.
func newRefusals(read func() map[string]uint64) *refusals {
	return &refusals{read: read, ring: []map[string]uint64{read()}}
}

// sample records the counts now, dropping the oldest sample past an
// hour's worth.
func (r *refusals) sample() {
	s := r.read()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ring) == refusalSamples {
		r.ring = append(r.ring[:0], r.ring[1:]...)
	}
	r.ring = append(r.ring, s)
}

// run samples each minute until ctx ends.
func (r *refusals) run(ctx context.Context) { every(ctx, time.Minute, r.sample) }

// LastHour returns the refusals by reason since the oldest sample (an
// hour ago once the node has run that long); reasons with none are left
// out.
func (r *refusals) LastHour() map[string]uint64 {
	now := r.read()
	r.mu.Lock()
	base := r.ring[0]
	r.mu.Unlock()
	out := map[string]uint64{}
	for reason, n := range now {
		if n > base[reason] {
			out[reason] = n - base[reason]
		}
	}
	return out
}
