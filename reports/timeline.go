package reports

import (
	"math"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// Bucket is one second of the load: the operations that completed in it.
type Bucket struct {
	// Start is the bucket's start, in seconds from the run's start;
	// Seconds its length: 1, but for the last, which ends with the load.
	Start, Seconds float64
	// OK counts ok operations (the throughput, in ops/s); Errors counts
	// fail and info operations other than declined ones.
	OK, Errors int
	// P50 and P99 are nearest-rank latency percentiles of the ok
	// operations, in seconds; NaN when there were none.
	P50, P99 float64
}

// Timeline buckets a history's load operations (final reads left out) by
// the second their completion falls in, from offset zero to the last
// completion.
func Timeline(h *workload.History) []Bucket {
	const width = time.Second
	var end time.Duration
	for _, o := range h.Ops {
		if !o.Final {
			end = max(end, o.Return)
		}
	}
	if end == 0 {
		return nil
	}
	n := int(end/width) + 1
	buckets := make([]Bucket, n)
	lat := make([][]time.Duration, n)
	for _, o := range h.Ops {
		if o.Final {
			continue
		}
		i := int(o.Return / width)
		switch {
		case o.Type == workload.OK:
			buckets[i].OK++
			lat[i] = append(lat[i], o.Latency())
		case !o.Declined():
			buckets[i].Errors++
		}
	}
	for i := range buckets {
		buckets[i].Start = (time.Duration(i) * width).Seconds()
		buckets[i].Seconds = min(width, end-time.Duration(i)*width).Seconds()
		buckets[i].P50, buckets[i].P99 = math.NaN(), math.NaN()
		if len(lat[i]) == 0 {
			continue
		}
		slices.Sort(lat[i])
		buckets[i].P50 = nearestRank(lat[i], 0.50).Seconds()
		buckets[i].P99 = nearestRank(lat[i], 0.99).Seconds()
	}
	return buckets
}

// nearestRank is the q-quantile of sorted values by the nearest-rank
// method, as the check package computes it.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
