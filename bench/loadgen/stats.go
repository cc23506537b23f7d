package main

import (
	"math"
	"slices"
	"time"
)

// samples collects latencies of one worker; workers own one each, so
// recording takes no lock. The slice grows by doubling: no allocation per
// request after the first few thousand.
type samples struct {
	ns []int64
}

func newSamples() *samples { return &samples{ns: make([]int64, 0, 4096)} }

func (s *samples) add(d time.Duration) { s.ns = append(s.ns, int64(d)) }

// merge concatenates the workers' samples and sorts them.
func merge(all []*samples) []int64 {
	n := 0
	for _, s := range all {
		n += len(s.ns)
	}
	out := make([]int64, 0, n)
	for _, s := range all {
		out = append(out, s.ns...)
	}
	slices.Sort(out)
	return out
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted: the smallest value such that at least p % of the values are at
// or below it. It returns 0 for no values.
func percentile(sorted []int64, p float64) int64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// ms converts nanoseconds to milliseconds for output.
func ms(ns int64) float64 { return float64(ns) / 1e6 }

// summary is the median, minimum and maximum of one figure over rounds.
type summary struct {
	median, min, max float64
	n                int
}

// summarize returns the median (the mean of the two middle values for an
// even count), minimum and maximum of vals. NaN values are ignored.
func summarize(vals []float64) summary {
	v := make([]float64, 0, len(vals))
	for _, x := range vals {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return summary{median: math.NaN(), min: math.NaN(), max: math.NaN()}
	}
	slices.Sort(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return summary{median: med, min: v[0], max: v[n-1], n: n}
}
