package workload

import (
	"sort"
	"time"
)

// History is everything a run observed, on one timeline: the operations the
// clients performed, the faults the nemesis injected, the resource samples
// and the engine's own events (who led when). Checkers are pure functions of
// a History.
type History struct {
	Meta    Meta          `json:"meta"`
	Ops     []Op          `json:"ops"`
	Faults  []FaultWindow `json:"faults"`
	Samples []Sample      `json:"samples"`
	Events  []Event       `json:"events"`
}

// Meta describes the run a history came from.
type Meta struct {
	// Run names the run (its directory's base name).
	Run      string `json:"run,omitempty"`
	Scenario string `json:"scenario,omitempty"`
	Seed     int64  `json:"seed"`
	// Start is the wall-clock time of offset zero.
	Start    time.Time `json:"start"`
	Platform string    `json:"platform,omitempty"`
	Engine   string    `json:"engine,omitempty"`
	Version  string    `json:"version,omitempty"`
	// Workload is the workload kind: register, bank, append or ledger.
	Workload string `json:"workload,omitempty"`
	// Model names the consistency model the history is checked against
	// when it was imported rather than recorded (register, cas-register,
	// bank, list-append).
	Model string `json:"model,omitempty"`
	// Nodes lists the cluster's nodes with their zones and regions.
	Nodes []NodeInfo `json:"nodes,omitempty"`
	// Options records engine and workload options that change what the
	// checkers should expect (for example serializable reads).
	Options map[string]string `json:"options,omitempty"`
	// Faultline is the version of the binary that recorded the run.
	Faultline string `json:"faultline,omitempty"`
}

// NodeInfo is a node as the history remembers it.
type NodeInfo struct {
	Name   string `json:"name"`
	Region string `json:"region,omitempty"`
	Zone   string `json:"zone,omitempty"`
	Addr   string `json:"addr,omitempty"`
}

// FaultWindow is one injected fault: when it started and ended, what it was
// aimed at, and how it was carried out.
type FaultWindow struct {
	// ID is the fault's position in the scenario's schedule.
	ID   int    `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Target is the selector as the scenario wrote it (leader, zone:a…).
	Target string `json:"target,omitempty"`
	// Nodes are the nodes the selector resolved to; Peers the other side
	// of a partition or a latency rule.
	Nodes []string      `json:"nodes,omitempty"`
	Peers []string      `json:"peers,omitempty"`
	Start time.Duration `json:"start"`
	// End is when the fault was healed; zero while it is in force or when
	// a crash cut the run short (Open is then true).
	End  time.Duration `json:"end,omitempty"`
	Open bool          `json:"open,omitempty"`
	// Mechanism says how the fault was carried out (SIGKILL, iptables,
	// netem, nfqueue, docker kill…).
	Mechanism string `json:"mechanism,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Sample is one reading of a node's (or pod's) resource counters. Counters
// are cumulative since the sampled process or container started, so they
// fall back to zero when it restarts; measure.Usage accounts for that.
type Sample struct {
	Time   time.Duration `json:"time"`
	Node   string        `json:"node"`
	Pod    string        `json:"pod,omitempty"`
	Zone   string        `json:"zone,omitempty"`
	Region string        `json:"region,omitempty"`
	// Up is false when the sampled process or container was not running.
	Up bool `json:"up"`

	CPUSeconds     float64 `json:"cpu_seconds"`
	MemoryBytes    int64   `json:"memory_bytes"`
	DiskReadBytes  int64   `json:"disk_read_bytes,omitempty"`
	DiskWriteBytes int64   `json:"disk_write_bytes"`
	DiskReadOps    int64   `json:"disk_read_ops,omitempty"`
	DiskWriteOps   int64   `json:"disk_write_ops,omitempty"`
	// DataBytes is the size of the engine's data on this node (the data
	// directory, or the logical size the engine reports).
	DataBytes int64 `json:"data_bytes"`
	// Network bytes sent, by where the receiver is.
	NetSameZoneBytes    int64 `json:"net_same_zone_bytes,omitempty"`
	NetCrossZoneBytes   int64 `json:"net_cross_zone_bytes,omitempty"`
	NetCrossRegionBytes int64 `json:"net_cross_region_bytes,omitempty"`
	// Unmeasured names the counters the sampler could not read for this
	// sample ("cpu", "memory", "disk", "data", "net"), so that a zero is
	// not mistaken for none: network accounting needs root, for one.
	Unmeasured []string `json:"unmeasured,omitempty"`
}

// Event is something the engine reported about itself, such as a new
// leader, recorded so that reports can show failovers on the timeline.
type Event struct {
	Time time.Duration `json:"time"`
	// Kind is "leader" for a change of leader (or primary, leaseholder).
	Kind   string `json:"kind"`
	Node   string `json:"node,omitempty"`
	Term   uint64 `json:"term,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Event kinds.
const (
	EventLeader = "leader"
	// EventNoLeader records that no member claimed leadership.
	EventNoLeader = "no-leader"
	// EventLoadStep marks the start of a load step: Term is the step's
	// index from 0 and Detail is "offered=OPS" (operations per second
	// offered; 0 is unlimited).
	EventLoadStep = "load-step"
	// EventLoadRate ends a run of the load at a target rate: Detail is
	// "mode=open|closed target=OPS achieved=OPS skipped=N" (operations
	// per second started; intended starts skipped, open mode).
	EventLoadRate = "load-rate"
	// EventLoadShortfall marks open-mode load skipping intended starts
	// that no client could begin within the operation timeout; Detail
	// is "skipped=N", the total so far. Recorded at most once a second.
	EventLoadShortfall = "load-shortfall"
	// EventDeployed says what the engine runs, when it says more than its
	// name and version (Detail: "Vitess v24.0.4 with 5 MariaDB
	// compatibility changes on MariaDB 10.11.19").
	EventDeployed = "deployed"
)

// End is the offset of the last thing the history recorded.
func (h *History) End() time.Duration {
	var end time.Duration
	for _, o := range h.Ops {
		end = max(end, o.Call, o.Return)
	}
	for _, f := range h.Faults {
		end = max(end, f.Start, f.End)
	}
	for _, s := range h.Samples {
		end = max(end, s.Time)
	}
	for _, e := range h.Events {
		end = max(end, e.Time)
	}
	return end
}

// Sort orders operations by call time and faults by start, keeping the
// order of equal elements. Reading a history file already yields this
// order; Sort is for histories built in memory.
func (h *History) Sort() {
	sort.SliceStable(h.Ops, func(i, j int) bool { return h.Ops[i].Call < h.Ops[j].Call })
	sort.SliceStable(h.Faults, func(i, j int) bool { return h.Faults[i].Start < h.Faults[j].Start })
	sort.SliceStable(h.Samples, func(i, j int) bool { return h.Samples[i].Time < h.Samples[j].Time })
	sort.SliceStable(h.Events, func(i, j int) bool { return h.Events[i].Time < h.Events[j].Time })
}

// FaultByID returns the fault window with the given ID.
func (h *History) FaultByID(id int) (FaultWindow, bool) {
	for _, f := range h.Faults {
		if f.ID == id {
			return f, true
		}
	}
	return FaultWindow{}, false
}
