package reports

import (
	"sort"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// NodeUsage is what one node (or pod) used over the run, summed from its
// resource samples.
//
// Cumulative counters (CPU seconds, disk and network bytes) are summed as
// the increase between consecutive samples of the same process: the first
// sample is the baseline, and a counter that went down, or came back after
// a sample that found the process down, belongs to a restarted process
// and counts from zero. Memory is the peak over the samples that found the
// process up; data size is that of the last such sample.
type NodeUsage struct {
	Node   string `json:"node"`
	Pod    string `json:"pod,omitempty"`
	Zone   string `json:"zone,omitempty"`
	Region string `json:"region,omitempty"`
	// Samples is the number of samples; DownSamples those that found the
	// process down; Restarts the restarts seen.
	Samples     int `json:"samples"`
	DownSamples int `json:"down_samples,omitempty"`
	Restarts    int `json:"restarts,omitempty"`
	// SampledSeconds is the time from the first sample to the last.
	SampledSeconds      float64 `json:"sampled_seconds"`
	CPUSeconds          float64 `json:"cpu_seconds"`
	PeakMemoryBytes     int64   `json:"peak_memory_bytes"`
	DiskReadBytes       int64   `json:"disk_read_bytes"`
	DiskWriteBytes      int64   `json:"disk_write_bytes"`
	DataBytes           int64   `json:"data_bytes"`
	NetSameZoneBytes    int64   `json:"net_same_zone_bytes"`
	NetCrossZoneBytes   int64   `json:"net_cross_zone_bytes"`
	NetCrossRegionBytes int64   `json:"net_cross_region_bytes"`
}

// Usage sums samples per node and pod, in the order nodes first appear.
// The measure package may later provide its own Usage; this one is what
// the report shows.
func Usage(samples []workload.Sample) []NodeUsage {
	type key struct{ node, pod string }
	type acc struct {
		u               NodeUsage
		first, last     time.Duration
		prev            workload.Sample
		baseline, wasUp bool
	}
	byKey := map[key]*acc{}
	var order []key
	sorted := append([]workload.Sample(nil), samples...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time < sorted[j].Time })
	for _, s := range sorted {
		k := key{s.Node, s.Pod}
		a, ok := byKey[k]
		if !ok {
			a = &acc{u: NodeUsage{Node: s.Node, Pod: s.Pod, Zone: s.Zone, Region: s.Region}, first: s.Time}
			byKey[k] = a
			order = append(order, k)
		}
		a.u.Samples++
		a.last = s.Time
		if !s.Up {
			a.u.DownSamples++
			a.wasUp = false
			continue
		}
		restarted := a.baseline && (!a.wasUp || s.CPUSeconds < a.prev.CPUSeconds)
		if restarted {
			a.u.Restarts++
			a.prev = workload.Sample{} // the new process counts from zero
		}
		if a.baseline {
			a.u.CPUSeconds += max(0, s.CPUSeconds-a.prev.CPUSeconds)
			a.u.DiskReadBytes += grown(s.DiskReadBytes, a.prev.DiskReadBytes)
			a.u.DiskWriteBytes += grown(s.DiskWriteBytes, a.prev.DiskWriteBytes)
			a.u.NetSameZoneBytes += grown(s.NetSameZoneBytes, a.prev.NetSameZoneBytes)
			a.u.NetCrossZoneBytes += grown(s.NetCrossZoneBytes, a.prev.NetCrossZoneBytes)
			a.u.NetCrossRegionBytes += grown(s.NetCrossRegionBytes, a.prev.NetCrossRegionBytes)
		}
		a.u.PeakMemoryBytes = max(a.u.PeakMemoryBytes, s.MemoryBytes)
		a.u.DataBytes = s.DataBytes
		a.prev, a.baseline, a.wasUp = s, true, true
	}
	out := make([]NodeUsage, 0, len(order))
	for _, k := range order {
		a := byKey[k]
		a.u.SampledSeconds = (a.last - a.first).Seconds()
		out = append(out, a.u)
	}
	return out
}

// grown is a counter's increase; a counter that went down restarted from
// zero, so all of its value is new.
func grown(now, before int64) int64 {
	if now < before {
		return now
	}
	return now - before
}
