package cost

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/faultline-dev/faultline/measure"
	"github.com/faultline-dev/faultline/workload"
)

// MinLogicalForAmplification is the least logical data a run must write
// for its measured amplification (on-disk over logical bytes) to be used:
// below it, an engine's fixed overhead (preallocated WAL segments, an
// initdb's catalog) swamps the ratio and the engine's default is used.
const MinLogicalForAmplification = 64 << 20

// Profile is what a run measured, reduced to how each resource grows with
// throughput: the rates the cluster used, fitted against the operations
// per second it achieved, one point per load step (or per slice of a
// single-rate run).
type Profile struct {
	Run      string `json:"run,omitempty"`
	Engine   string `json:"engine"`
	Platform string `json:"platform,omitempty"`
	// Nodes is the number of nodes measured; Replicas how many copies of
	// each datum the measured cluster kept (all of its nodes, for every
	// engine faultline deploys by default).
	Nodes    int           `json:"nodes"`
	Replicas int           `json:"replicas"`
	Duration time.Duration `json:"duration"`
	OKOps    int64         `json:"ok_ops"`
	// Steps are the load steps as measured; Knee where they saturated.
	Steps []StepPoint `json:"steps"`
	Knee  *Knee       `json:"knee,omitempty"`
	// Fits against achieved operations per second:
	CPU     Fit `json:"cpu_cores"`         // cores, all nodes
	Busiest Fit `json:"busiest_cpu_cores"` // cores, the busiest node
	Memory  Fit `json:"memory_bytes"`      // working set, all nodes
	// Disk bytes and operations per second, all nodes.
	DiskWrite Fit `json:"disk_write_bytes_per_second"`
	DiskRead  Fit `json:"disk_read_bytes_per_second"`
	DiskOps   Fit `json:"disk_ops_per_second"`
	// Net is bytes per second between nodes, all zone classes together
	// (the target topology decides which of them cross zones).
	Net Fit `json:"net_bytes_per_second"`
	// DataBytes is the engine's on-disk data over all nodes at the end;
	// LogicalBytes what the workload stored, from the history.
	DataBytes    float64 `json:"data_bytes"`
	LogicalBytes float64 `json:"logical_bytes"`
	// Amplification is on-disk bytes per replica over logical bytes, as
	// measured (0 when nothing was stored).
	Amplification float64 `json:"amplification"`
	ReadFraction  float64 `json:"read_fraction"`
	// Unmeasured lists the counters no sample could read (net without
	// root, disk on hosts without blkio figures).
	Unmeasured []string `json:"unmeasured,omitempty"`
	Notes      []string `json:"notes,omitempty"`
}

// ProfileOptions tune how a history is reduced.
type ProfileOptions struct {
	// Settle is left out at the start of each load step (and of a
	// single-rate run). Default 2 s.
	Settle time.Duration
	// Slices is how many slices a single-rate run is cut into to see how
	// much its rates vary. Default 8.
	Slices int
}

// ProfileFromHistory reduces a recorded run to a Profile.
func ProfileFromHistory(h *workload.History, opt ProfileOptions) (*Profile, error) {
	if opt.Settle <= 0 {
		opt.Settle = 2 * time.Second
	}
	if opt.Slices <= 0 {
		opt.Slices = 8
	}
	if len(h.Samples) == 0 {
		return nil, errors.New("profile: the run recorded no resource samples")
	}
	p := &Profile{Run: h.Meta.Run, Engine: h.Meta.Engine, Platform: h.Meta.Platform, Duration: h.End()}
	whole := measure.FromHistory(h)
	p.Nodes = len(whole.Nodes)
	p.Replicas = p.Nodes
	p.OKOps = whole.OKOps
	total := whole.Total()
	p.Unmeasured = total.Unmeasured
	p.DataBytes = float64(total.DataBytes)

	steps := measure.Steps(h, opt.Settle)
	var windows []measure.Usage
	if len(steps) > 1 {
		for _, s := range steps {
			windows = append(windows, s.Usage)
			sp := stepPoint(s.Index, s.Offered, s.Usage)
			p.Steps = append(p.Steps, sp)
		}
		p.Knee = FindKnee(p.Steps)
		if p.Knee != nil {
			windows = belowKnee(steps, p.Knee)
			p.Notes = append(p.Notes, fmt.Sprintf("saturated at step %d (%s): %.0f ops/s at most; steps past it are left out of the fits",
				p.Knee.Step, p.Knee.Reason, p.Knee.Saturation))
		}
	} else {
		windows = slicesOf(h, opt.Settle, opt.Slices)
		p.Steps = []StepPoint{stepPoint(0, steps[0].Offered, steps[0].Usage)}
		p.Notes = append(p.Notes, "one load level: per-operation figures are proportional fits through the origin, so idle use is charged to operations (an overestimate); run in load-step mode to separate them")
	}
	if err := p.fit(windows); err != nil {
		return nil, err
	}
	p.LogicalBytes, p.ReadFraction = logical(h)
	if p.LogicalBytes > 0 && p.Replicas > 0 {
		p.Amplification = p.DataBytes / float64(p.Replicas) / p.LogicalBytes
	}
	p.Notes = append(p.Notes, measurementNotes(p)...)
	return p, nil
}

// fit fits each resource's rate against the throughput of the windows
// that saw acknowledged operations.
func (p *Profile) fit(windows []measure.Usage) error {
	var cpu, busiest, mem, dw, dr, dops, net []Point
	for _, u := range windows {
		if u.OpsPerSecond <= 0 {
			continue
		}
		x := u.OpsPerSecond
		r := rates(u)
		cpu = append(cpu, Point{x, r.CPUSeconds})
		if b, ok := u.Busiest(); ok {
			busiest = append(busiest, Point{x, b.Rates().CPUSeconds})
		}
		mem = append(mem, Point{x, u.Total().MemoryMeanBytes})
		dw = append(dw, Point{x, r.DiskWriteBytes})
		dr = append(dr, Point{x, r.DiskReadBytes})
		dops = append(dops, Point{x, diskOps(r, p.Platform)})
		net = append(net, Point{x, r.NetBytes()})
	}
	if len(cpu) == 0 {
		return errors.New("profile: no window of the run has both acknowledged operations and resource samples")
	}
	p.CPU, p.Busiest, p.Memory = FitLinear(cpu), FitLinear(busiest), FitLinear(mem)
	p.DiskWrite, p.DiskRead, p.DiskOps, p.Net = FitLinear(dw), FitLinear(dr), FitLinear(dops), FitLinear(net)
	return nil
}

// measurementNotes say what the run could not measure and how the local
// platform's figures are read.
func measurementNotes(p *Profile) []string {
	var out []string
	for _, m := range p.Unmeasured {
		switch m {
		case measure.CounterNet:
			out = append(out, "network bytes between nodes were not measured (the sampler could not attribute them): cross-zone and cross-region traffic is priced as zero and says so")
		case measure.CounterDisk:
			out = append(out, "disk I/O was not measured on this host: IOPS and throughput above the volumes' baseline are priced as zero and say so")
		}
	}
	if p.Platform == "local" {
		out = append(out, fmt.Sprintf("measured on the local platform, where disk operations are read and write system calls (socket I/O included): IOPS are taken as the smaller of those and block-layer bytes ÷ %d", localIOBytes))
	}
	return out
}

// localIOBytes is the I/O size assumed to turn block-layer bytes into
// operations on the local platform: the page size, so that the figure is
// an upper bound.
const localIOBytes = 4096

// diskOps is the disk operations a second of a window. On the local
// platform the sampler counts read and write system calls, sockets
// included, which for a networked engine are mostly not disk I/O: there
// it is bounded by block-layer bytes in page-sized operations.
func diskOps(r measure.Counters, platform string) float64 {
	ops := r.DiskReadOps + r.DiskWriteOps
	if platform == "local" {
		ops = math.Min(ops, (r.DiskReadBytes+r.DiskWriteBytes)/localIOBytes)
	}
	return ops
}

// stepPoint summarises a window for knee detection and the report.
func stepPoint(i int, offered float64, u measure.Usage) StepPoint {
	return StepPoint{Index: i, Offered: offered, Achieved: u.OpsPerSecond, Cores: rates(u).CPUSeconds}
}

// rates sums the per-second rates of every node over a window.
func rates(u measure.Usage) measure.Counters {
	var c measure.Counters
	for _, n := range u.Nodes {
		c = c.Add(n.Rates())
	}
	return c
}

// belowKnee keeps the steps up to and including the knee.
func belowKnee(steps []measure.Step, k *Knee) []measure.Usage {
	var out []measure.Usage
	for _, s := range steps {
		if s.Offered > 0 && (k.Offered == 0 || s.Offered <= k.Offered) {
			out = append(out, s.Usage)
		}
	}
	return out
}

// slicesOf cuts a single-rate run (after settle) into n windows of equal
// length, at least 2 s each.
func slicesOf(h *workload.History, settle time.Duration, n int) []measure.Usage {
	end := h.End()
	start := min(settle, end/4)
	d := (end - start) / time.Duration(n)
	if d < 2*time.Second {
		n = max(1, int((end-start)/(2*time.Second)))
		d = (end - start) / time.Duration(n)
	}
	out := make([]measure.Usage, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, measure.Window(h, start+time.Duration(i)*d, start+time.Duration(i+1)*d))
	}
	return out
}

// logical estimates what the workload stored (distinct keys with their
// values; every ledger entry; every appended element) and the share of
// acknowledged operations that only read.
func logical(h *workload.History) (bytes, readFraction float64) {
	const valueBytes = 8 // values are int64
	keys := map[string]bool{}
	var ok, reads int
	for _, o := range h.Ops {
		if o.Type != workload.OK || o.Final {
			continue
		}
		ok++
		if !o.IsWrite() {
			reads++
			continue
		}
		switch o.F {
		case workload.FWrite, workload.FCAS:
			if !keys[o.Key] {
				keys[o.Key] = true
				bytes += float64(len(o.Key) + valueBytes)
			}
		case workload.FLedgerAdd:
			bytes += float64(len(o.Key) + valueBytes)
		case workload.FTxn:
			for _, m := range o.Txn {
				if m.F == workload.MAppend {
					bytes += valueBytes
				}
			}
		}
	}
	if ok > 0 {
		readFraction = float64(reads) / float64(ok)
	}
	return bytes, readFraction
}

// coverage describes how much a fit can be trusted at x, for notes.
func coverage(name string, f Fit, x float64) string {
	ratio := x / math.Max(f.XMax, 1e-9)
	rel := f.RelativeError(x)
	return fmt.Sprintf("%s: %s fit of %d points over %.0f–%.0f ops/s, extrapolated %.0f× to %.0f ops/s (±%.0f%% at one standard error)",
		name, f.Model, f.N, f.XMin, f.XMax, ratio, x, 100*rel)
}
