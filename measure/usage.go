package measure

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// Names of the counter groups a sample can leave unmeasured
// (workload.Sample.Unmeasured).
const (
	CounterCPU    = "cpu"
	CounterMemory = "memory"
	CounterDisk   = "disk"
	CounterData   = "data"
	CounterNet    = "net"
)

// Series names one sampled thing: a node, or a pod on a node.
type Series struct {
	Node   string `json:"node"`
	Pod    string `json:"pod,omitempty"`
	Zone   string `json:"zone,omitempty"`
	Region string `json:"region,omitempty"`
}

// Counters are totals over a window of counters that only grow while the
// sampled process or container runs.
type Counters struct {
	CPUSeconds     float64 `json:"cpu_seconds"`
	DiskReadBytes  float64 `json:"disk_read_bytes"`
	DiskWriteBytes float64 `json:"disk_write_bytes"`
	// DiskReadOps and DiskWriteOps are operations as the sampler counts
	// them: on the local platform, read and write system calls (a proxy
	// for IOPS that also counts socket reads and page-cache hits); on
	// kind, block-layer operations from the container's blkio cgroup.
	DiskReadOps         float64 `json:"disk_read_ops"`
	DiskWriteOps        float64 `json:"disk_write_ops"`
	NetSameZoneBytes    float64 `json:"net_same_zone_bytes"`
	NetCrossZoneBytes   float64 `json:"net_cross_zone_bytes"`
	NetCrossRegionBytes float64 `json:"net_cross_region_bytes"`
}

// Add returns the sum of c and d.
func (c Counters) Add(d Counters) Counters {
	return Counters{
		CPUSeconds:          c.CPUSeconds + d.CPUSeconds,
		DiskReadBytes:       c.DiskReadBytes + d.DiskReadBytes,
		DiskWriteBytes:      c.DiskWriteBytes + d.DiskWriteBytes,
		DiskReadOps:         c.DiskReadOps + d.DiskReadOps,
		DiskWriteOps:        c.DiskWriteOps + d.DiskWriteOps,
		NetSameZoneBytes:    c.NetSameZoneBytes + d.NetSameZoneBytes,
		NetCrossZoneBytes:   c.NetCrossZoneBytes + d.NetCrossZoneBytes,
		NetCrossRegionBytes: c.NetCrossRegionBytes + d.NetCrossRegionBytes,
	}
}

// Scale returns c with every counter multiplied by f (a rate is
// Scale(1/seconds)).
func (c Counters) Scale(f float64) Counters {
	return Counters{
		CPUSeconds:          c.CPUSeconds * f,
		DiskReadBytes:       c.DiskReadBytes * f,
		DiskWriteBytes:      c.DiskWriteBytes * f,
		DiskReadOps:         c.DiskReadOps * f,
		DiskWriteOps:        c.DiskWriteOps * f,
		NetSameZoneBytes:    c.NetSameZoneBytes * f,
		NetCrossZoneBytes:   c.NetCrossZoneBytes * f,
		NetCrossRegionBytes: c.NetCrossRegionBytes * f,
	}
}

// NetBytes is the sum of the three network classes.
func (c Counters) NetBytes() float64 {
	return c.NetSameZoneBytes + c.NetCrossZoneBytes + c.NetCrossRegionBytes
}

// SeriesUsage is what one node or pod used over a window.
type SeriesUsage struct {
	Series
	// Samples is the number of samples the window holds for the series,
	// Up how many of them found it running.
	Samples int `json:"samples"`
	Up      int `json:"up"`
	// Span is the time the counters cover: from the baseline sample (the
	// last one at or before the window's start, else the first in it) to
	// the last sample in the window.
	Span time.Duration `json:"span"`
	// Restarts counts the times the process or container started again
	// during the window (its CPU counter fell, or it was seen down).
	Restarts int      `json:"restarts,omitempty"`
	Totals   Counters `json:"totals"`
	// Memory is the working set: peak and mean over the samples that
	// found the series running.
	MemoryPeakBytes int64   `json:"memory_peak_bytes"`
	MemoryMeanBytes float64 `json:"memory_mean_bytes"`
	// DataBytes is the data size at the last running sample, DataPeakBytes
	// the largest seen.
	DataBytes     int64 `json:"data_bytes"`
	DataPeakBytes int64 `json:"data_peak_bytes"`
	// Unmeasured lists the counter groups some sample could not read.
	Unmeasured []string `json:"unmeasured,omitempty"`
}

// Rates are the series' totals per second of its span; zero when the
// span is.
func (s SeriesUsage) Rates() Counters {
	if s.Span <= 0 {
		return Counters{}
	}
	return s.Totals.Scale(1 / s.Span.Seconds())
}

// Usage is what a cluster used over a window of a run, per node and per
// pod, with the throughput the clients achieved in the same window.
type Usage struct {
	From time.Duration `json:"from"`
	To   time.Duration `json:"to"`
	// Nodes holds node-level series, Pods pod-level series (on
	// Kubernetes).
	Nodes []SeriesUsage `json:"nodes"`
	Pods  []SeriesUsage `json:"pods,omitempty"`
	// OKOps counts operations acknowledged (ok) in the window, final
	// reads excluded; OpsPerSecond is OKOps over the window's length.
	OKOps        int64   `json:"ok_ops"`
	OpsPerSecond float64 `json:"ops_per_second"`
}

// Duration is the window's length.
func (u Usage) Duration() time.Duration { return u.To - u.From }

// Total sums the node-level series into one: counters, memory (peak is
// the sum of peaks, a bound on the cluster's peak) and data. Span is the
// longest of the nodes' spans.
func (u Usage) Total() SeriesUsage {
	var t SeriesUsage
	seen := map[string]bool{}
	for _, n := range u.Nodes {
		t.Samples += n.Samples
		t.Up += n.Up
		t.Span = max(t.Span, n.Span)
		t.Restarts += n.Restarts
		t.Totals = t.Totals.Add(n.Totals)
		t.MemoryPeakBytes += n.MemoryPeakBytes
		t.MemoryMeanBytes += n.MemoryMeanBytes
		t.DataBytes += n.DataBytes
		t.DataPeakBytes += n.DataPeakBytes
		for _, m := range n.Unmeasured {
			if !seen[m] {
				seen[m] = true
				t.Unmeasured = append(t.Unmeasured, m)
			}
		}
	}
	sort.Strings(t.Unmeasured)
	return t
}

// Busiest returns the node-level series that used the most CPU in the
// window: the primary or leader, for engines that have one.
func (u Usage) Busiest() (SeriesUsage, bool) {
	if len(u.Nodes) == 0 {
		return SeriesUsage{}, false
	}
	b := u.Nodes[0]
	for _, n := range u.Nodes[1:] {
		if n.Totals.CPUSeconds > b.Totals.CPUSeconds {
			b = n
		}
	}
	return b, true
}

// FromHistory sums every sample of a history into its Usage, over the
// whole run.
func FromHistory(h *workload.History) Usage {
	return Window(h, 0, h.End())
}

// Window sums the samples of a history over [from, to]. Counters are
// cumulative, so each series' totals are the sum of the increases between
// consecutive samples, starting from the last sample at or before from
// (so that adjacent windows add up to the whole). A counter that falls
// means the process restarted and counted again from zero: the increase
// is then the new value, the pre-reset value having been counted already.
// Process counters (CPU and disk) also restart after a sample that found
// the process down; network counters come from accounting rules, which
// outlive the process, so only a fall restarts them.
func Window(h *workload.History, from, to time.Duration) Usage {
	u := Usage{From: from, To: to}
	bySeries := map[Series][]workload.Sample{}
	var order []Series
	for _, s := range h.Samples {
		k := Series{Node: s.Node, Pod: s.Pod, Zone: s.Zone, Region: s.Region}
		if _, ok := bySeries[k]; !ok {
			order = append(order, k)
		}
		bySeries[k] = append(bySeries[k], s)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].Node != order[j].Node {
			return order[i].Node < order[j].Node
		}
		return order[i].Pod < order[j].Pod
	})
	for _, k := range order {
		su, ok := sumSeries(k, bySeries[k], from, to)
		if !ok {
			continue
		}
		if k.Pod == "" {
			u.Nodes = append(u.Nodes, su)
		} else {
			u.Pods = append(u.Pods, su)
		}
	}
	for _, o := range h.Ops {
		if o.Type == workload.OK && !o.Final && o.Return > from && o.Return <= to {
			u.OKOps++
		}
	}
	if d := to - from; d > 0 {
		u.OpsPerSecond = float64(u.OKOps) / d.Seconds()
	}
	return u
}

// sumSeries sums one series' samples (in time order) over [from, to]; it
// reports false when the window holds none of them.
func sumSeries(k Series, ss []workload.Sample, from, to time.Duration) (SeriesUsage, bool) {
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].Time < ss[j].Time })
	su := SeriesUsage{Series: k}
	// The baseline is the last sample at or before the window's start;
	// without one, the first sample in the window, what happened before
	// it being unknown.
	base := sort.Search(len(ss), func(i int) bool { return ss[i].Time > from }) - 1
	if base < 0 {
		base = 0
	}
	inWindow := func(i int) bool { return i < len(ss) && ss[i].Time >= from && ss[i].Time <= to }
	if !inWindow(base) && !inWindow(base+1) {
		return su, false
	}
	first := base + 1
	unmeasured := map[string]bool{}
	var memSum float64
	prev := ss[base]
	wasDown := !prev.Up
	observe := func(s workload.Sample) {
		su.Samples++
		for _, m := range s.Unmeasured {
			unmeasured[m] = true
		}
		if !s.Up {
			return
		}
		su.Up++
		su.MemoryPeakBytes = max(su.MemoryPeakBytes, s.MemoryBytes)
		memSum += float64(s.MemoryBytes)
		su.DataBytes = s.DataBytes
		su.DataPeakBytes = max(su.DataPeakBytes, s.DataBytes)
	}
	if prev.Time >= from {
		observe(prev)
	}
	last := prev.Time
	for _, s := range ss[first:] {
		if s.Time > to {
			break
		}
		observe(s)
		last = s.Time
		if !s.Up {
			wasDown = true
			continue
		}
		restarted := wasDown || s.CPUSeconds < prev.CPUSeconds
		if restarted && prev.Up {
			su.Restarts++
		}
		su.Totals = su.Totals.Add(increase(prev, s, restarted))
		prev, wasDown = s, false
	}
	su.Span = last - ss[base].Time
	if su.Up > 0 {
		su.MemoryMeanBytes = memSum / float64(su.Up)
	}
	for m := range unmeasured {
		su.Unmeasured = append(su.Unmeasured, m)
	}
	sort.Strings(su.Unmeasured)
	return su, true
}

// increase is what the counters grew by from prev to cur.
func increase(prev, cur workload.Sample, restarted bool) Counters {
	proc := func(p, c float64) float64 {
		if restarted || c < p {
			return c
		}
		return c - p
	}
	net := func(p, c int64) float64 {
		if c < p {
			return float64(c)
		}
		return float64(c - p)
	}
	return Counters{
		CPUSeconds:          proc(prev.CPUSeconds, cur.CPUSeconds),
		DiskReadBytes:       proc(float64(prev.DiskReadBytes), float64(cur.DiskReadBytes)),
		DiskWriteBytes:      proc(float64(prev.DiskWriteBytes), float64(cur.DiskWriteBytes)),
		DiskReadOps:         proc(float64(prev.DiskReadOps), float64(cur.DiskReadOps)),
		DiskWriteOps:        proc(float64(prev.DiskWriteOps), float64(cur.DiskWriteOps)),
		NetSameZoneBytes:    net(prev.NetSameZoneBytes, cur.NetSameZoneBytes),
		NetCrossZoneBytes:   net(prev.NetCrossZoneBytes, cur.NetCrossZoneBytes),
		NetCrossRegionBytes: net(prev.NetCrossRegionBytes, cur.NetCrossRegionBytes),
	}
}

// Step is one load step of a run in load-step mode, with what the cluster
// used while it ran.
type Step struct {
	Index int `json:"index"`
	// Offered is the operations per second the step offered; 0 is
	// unlimited (the saturation step).
	Offered float64 `json:"offered"`
	Usage   Usage   `json:"usage"`
}

// Steps splits a run at its load-step events (workload.EventLoadStep) and
// sums each step. The first settle of each step is left out, so that the
// ramp from the previous rate does not blur the step's figures. A run
// without load-step events is one step covering the whole run, with
// Offered 0.
func Steps(h *workload.History, settle time.Duration) []Step {
	var marks []workload.Event
	for _, e := range h.Events {
		if e.Kind == workload.EventLoadStep {
			marks = append(marks, e)
		}
	}
	end := h.End()
	if len(marks) == 0 {
		return []Step{{Index: 0, Usage: Window(h, 0, end)}}
	}
	sort.SliceStable(marks, func(i, j int) bool { return marks[i].Time < marks[j].Time })
	out := make([]Step, 0, len(marks))
	for i, m := range marks {
		stop := end
		if i+1 < len(marks) {
			stop = marks[i+1].Time
		}
		start := m.Time + settle
		if start >= stop {
			start = m.Time
		}
		out = append(out, Step{
			Index:   int(m.Term),
			Offered: parseOffered(m.Detail),
			Usage:   Window(h, start, stop),
		})
	}
	return out
}

// parseOffered reads "offered=OPS" from a load-step event's detail; other
// words in the detail are ignored, and anything unreadable is 0.
func parseOffered(detail string) float64 {
	for _, f := range strings.Fields(detail) {
		if v, ok := strings.CutPrefix(f, "offered="); ok {
			x, err := strconv.ParseFloat(strings.TrimSuffix(v, ","), 64)
			if err == nil && x > 0 {
				return x
			}
		}
	}
	return 0
}
