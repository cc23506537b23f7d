package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/store"
)

// BenchUpdate measures the latency of a small write (one Replace of a
// 20-byte body, one revision) on s and reports its median and 99th
// percentile. Engines call it from their own Benchmark functions.
func BenchUpdate(b *testing.B, s store.Store) {
	ctx := b.Context()
	if _, err := s.Update(ctx, admin, base, func(tx store.Tx) error {
		_, err := tx.Create(obj("counter", "cnt-1", "", "", string(countingBody(0))))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	n := 0
	for b.Loop() {
		n++
		start := time.Now()
		if _, err := s.Update(ctx, admin, base, func(tx store.Tx) error {
			_, err := tx.Replace(obj("counter", "cnt-1", "", "", string(countingBody(n))), store.AnyRev)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportPercentiles(b, lat)
}

// BenchWatch measures how long after a commit through writer the
// revision reaches a Watch on watcher (writer and watcher may be the
// same store, or two stores on one database): from Update's return to
// the receipt, or from Update's start when the watcher is notified before
// Update returns (the same store). It reports the median and the 99th
// percentile.
func BenchWatch(b *testing.B, writer, watcher store.Store) {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	ch := watcher.Watch(ctx)
	type receipt struct {
		rev int64
		at  time.Time
	}
	got := make(chan receipt, 1)
	go func() {
		for rev := range ch {
			got <- receipt{rev, time.Now()}
		}
	}()
	var lat []time.Duration
	n := 0
	for b.Loop() {
		n++
		start := time.Now()
		rev, err := writer.Update(ctx, admin, base, func(tx store.Tx) error { return tx.SetMeta("m", fmt.Appendf(nil, "%d", n)) })
		if err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		for {
			var r receipt
			select {
			case r = <-got:
			case <-time.After(30 * time.Second):
				b.Fatalf("revision %d not delivered", rev)
			}
			if r.rev < rev {
				continue
			}
			d := r.at.Sub(committed)
			if d < 0 {
				d = r.at.Sub(start)
			}
			lat = append(lat, d)
			break
		}
	}
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()), "p99-µs")
}
