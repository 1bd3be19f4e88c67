package reports

import (
	"github.com/faultline-dev/faultline/measure"
	"github.com/faultline-dev/faultline/workload"
)

// NodeUsage is what one node (or pod) used over the run: the row of
// result.json's resources, a flat view of measure.SeriesUsage over the
// whole run (see measure.Window for how counters survive restarts).
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

// Usage sums samples per node, then per pod, each sorted by name, over
// the whole run.
func Usage(samples []workload.Sample) []NodeUsage {
	u := measure.FromHistory(&workload.History{Samples: samples})
	out := make([]NodeUsage, 0, len(u.Nodes)+len(u.Pods))
	for _, s := range append(u.Nodes, u.Pods...) {
		out = append(out, NodeUsage{
			Node: s.Node, Pod: s.Pod, Zone: s.Zone, Region: s.Region,
			Samples:             s.Samples,
			DownSamples:         s.Samples - s.Up,
			Restarts:            s.Restarts,
			SampledSeconds:      s.Span.Seconds(),
			CPUSeconds:          s.Totals.CPUSeconds,
			PeakMemoryBytes:     s.MemoryPeakBytes,
			DiskReadBytes:       int64(s.Totals.DiskReadBytes),
			DiskWriteBytes:      int64(s.Totals.DiskWriteBytes),
			DataBytes:           s.DataBytes,
			NetSameZoneBytes:    int64(s.Totals.NetSameZoneBytes),
			NetCrossZoneBytes:   int64(s.Totals.NetCrossZoneBytes),
			NetCrossRegionBytes: int64(s.Totals.NetCrossRegionBytes),
		})
	}
	return out
}
