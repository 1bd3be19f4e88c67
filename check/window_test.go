package check

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ds := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n)
		}
		return out
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ds(7), 0.99, 7},
		{"median of four is the second", ds(1, 2, 3, 4), 0.5, 2},
		{"median of five", ds(1, 2, 3, 4, 5), 0.5, 3},
		{"p99 of 100 is the 99th", ds(seq(100)...), 0.99, 99},
		{"p99 of 101 is the 100th", ds(seq(101)...), 0.99, 100},
		{"p0 is the least", ds(4, 5), 0, 4},
		{"p100 is the most", ds(4, 5), 1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.q); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.q, got, tt.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestQuietWindows(t *testing.T) {
	s := func(a, b int) span {
		return span{from: time.Duration(a) * time.Second, to: time.Duration(b) * time.Second}
	}
	load := s(0, 100)
	// a [10, 20), b [15, 30) overlaps a, c [50, 60), d [55, 58) inside c,
	// e at 70 is instant.
	faults := []timedFault{{in: s(10, 20)}, {in: s(15, 30)}, {in: s(50, 60)}, {in: s(55, 58)}, {in: s(70, 70)}}
	tests := []struct {
		i             int
		before, after span
	}{
		{0, s(0, 10), s(30, 50)},
		{1, s(20, 15), s(30, 50)}, // empty before: a was in force
		{2, s(30, 50), s(60, 70)},
		{3, s(60, 55), s(60, 70)},
		{4, s(60, 70), s(70, 100)},
	}
	for _, tt := range tests {
		if got := quietBefore(faults, tt.i, load); got != tt.before {
			t.Errorf("fault %d: before %v, want %v", tt.i, got, tt.before)
		}
		if got := quietAfter(faults, tt.i, load); got != tt.after {
			t.Errorf("fault %d: after %v, want %v", tt.i, got, tt.after)
		}
	}
}
