package main

import (
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(i + 1) // 1..100
	}
	tests := []struct {
		name   string
		sorted []int64
		p      float64
		want   int64
	}{
		{"empty", nil, 50, 0},
		{"one value", []int64{7}, 99, 7},
		{"p50 of 1..100", hundred, 50, 50},
		{"p90 of 1..100", hundred, 90, 90},
		{"p99 of 1..100", hundred, 99, 99},
		{"p100 of 1..100", hundred, 100, 100},
		{"p0 is the minimum", hundred, 0, 1},
		{"p50 of four", []int64{10, 20, 30, 40}, 50, 20},
		{"p99 of four rounds up", []int64{10, 20, 30, 40}, 99, 40},
		{"p99.9 of 1..100", hundred, 99.9, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %d, want %d", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestMergeSorts(t *testing.T) {
	a, b := newSamples(), newSamples()
	for _, d := range []time.Duration{5, 1, 9} {
		a.add(d)
	}
	for _, d := range []time.Duration{3, 7} {
		b.add(d)
	}
	got := merge([]*samples{a, b})
	want := []int64{1, 3, 5, 7, 9}
	if len(got) != len(want) {
		t.Fatalf("merge = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("merge = %v, want %v", got, want)
		}
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name          string
		vals          []float64
		med, min, max float64
	}{
		{"odd count", []float64{3, 1, 2}, 2, 1, 3},
		{"even count takes the mean of the middle two", []float64{4, 1, 3, 2}, 2.5, 1, 4},
		{"one value", []float64{5}, 5, 5, 5},
		{"NaN ignored", []float64{math.NaN(), 8, 6}, 7, 6, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summarize(tt.vals)
			if s.median != tt.med || s.min != tt.min || s.max != tt.max {
				t.Errorf("summarize(%v) = %+v, want median %v min %v max %v", tt.vals, s, tt.med, tt.min, tt.max)
			}
		})
	}
	if s := summarize(nil); !math.IsNaN(s.median) || s.n != 0 {
		t.Errorf("summarize(nil) = %+v, want NaN median and n 0", s)
	}
}
