// Package scenarios reads, validates and runs scenarios: the YAML that says
// which cluster to boot, which engine to deploy, what load to drive, which
// faults to inject and what the checks must find. It also holds the
// built-in catalog of scenarios.
package scenarios

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/faultline-dev/faultline/faults"
)

// Scenario is one trial of one engine. Every field documents its default;
// decoding is strict (unknown fields are errors).
type Scenario struct {
	// Name identifies the scenario in reports and run directories:
	// lower-case letters, digits and dashes. Required.
	Name string `yaml:"name"`
	// Description says what the scenario is for.
	Description string `yaml:"description"`
	// Seed seeds every random choice of the run (operations, fault
	// targets). Default 1; `--seed` overrides it.
	Seed int64 `yaml:"seed"`
	// Platform is where the cluster runs: local (default), kind or
	// existing. `--platform` overrides it.
	Platform string `yaml:"platform"`
	// Topology lays the nodes out in regions and zones.
	Topology Topology `yaml:"topology"`
	// Engine is the database under trial.
	Engine Engine `yaml:"engine"`
	// Workload is the load driven while faults are injected.
	Workload Workload `yaml:"workload"`
	// Faults is the fault schedule. Default: none.
	Faults []Fault `yaml:"faults"`
	// Checks sets the checks' budgets; which checks run follows from the
	// workload (see Checks).
	Checks Checks `yaml:"checks"`
	// Cost prices the resources the run used, extrapolated to a target
	// workload, in the run's report.
	Cost Cost `yaml:"cost"`

	// lines maps each field path to its line, for validation messages.
	lines map[string]int
}

// Topology lays out regions, zones and nodes.
type Topology struct {
	// Regions lists the regions. Required: at least one.
	Regions []Region `yaml:"regions"`
	// RegionLatency is the standing one-way latency between regions that
	// kind and local clusters emulate. Default 0 (none); allowed only with
	// two or more regions.
	RegionLatency time.Duration `yaml:"region-latency"`
}

// Region is a named set of zones.
type Region struct {
	// Name is the region's label (topology.kubernetes.io/region). Required.
	Name string `yaml:"name"`
	// Zones lists the region's zones. Required: at least one.
	Zones []Zone `yaml:"zones"`
}

// Zone is a named failure domain.
type Zone struct {
	// Name is the zone's label (topology.kubernetes.io/zone), unique
	// across regions. Required.
	Name string `yaml:"name"`
	// Nodes is the number of worker nodes in the zone. Default 1.
	Nodes int `yaml:"nodes"`
}

// Engine names the database and how to deploy it.
type Engine struct {
	// Name is the engine: etcd, postgres, mariadb… (`faultline list
	// engines`). Required.
	Name string `yaml:"name"`
	// Version is the engine version. Default: the engine's pinned version.
	Version string `yaml:"version"`
	// Image overrides the engine's container image on kind and existing
	// clusters. Default: the engine's official image at Version.
	Image string `yaml:"image"`
	// Replicas is the number of members. Default: one per worker node.
	Replicas int `yaml:"replicas"`
	// Options are engine-specific settings (`faultline list engines`).
	Options map[string]string `yaml:"options"`
	// Images maps the official images an engine deploys (its operator's,
	// its operand's: `faultline manifests` names them) to images to run
	// instead, for nodes that cannot pull the official ones; `run
	// --image-override OFFICIAL=REF` adds to it. Default: none.
	Images map[string]string `yaml:"images"`
}

// Workload says what load to drive.
type Workload struct {
	// Kind is the workload: register (reads, writes, compare-and-set and
	// ledger inserts; default), bank, append (Elle's list-append) or ledger.
	Kind string `yaml:"kind"`
	// Concurrency is the number of concurrent clients. Default 8.
	Concurrency int `yaml:"concurrency"`
	// Rate is the target of operations started per second, over all
	// clients. Default 0: as fast as the clients go.
	Rate float64 `yaml:"rate"`
	// Mode is how a Rate is kept. open (default): operations are
	// scheduled at intended start times whatever the database does, and
	// latency counts from the intended start, so a stall shows in the
	// latencies of every operation meant to start during it (no
	// coordinated omission); an intended start no client could begin
	// within the timeout is skipped and counted. closed: each client
	// waits for a token before its next operation (Jepsen's way), so the
	// clients slow down with the database.
	Mode string `yaml:"mode"`
	// Keys is the number of keys (registers, lists) the operations touch.
	// Default 8.
	Keys int `yaml:"keys"`
	// Duration is how long the load runs. Default 60s; `--duration`
	// overrides it.
	Duration time.Duration `yaml:"duration"`
	// Timeout bounds each operation; an operation that runs out is
	// recorded as info (outcome unknown). Default 2s.
	Timeout time.Duration `yaml:"timeout"`
	// Mix weighs the register workload's functions. Default: read 0.4,
	// write 0.3, cas 0.1, ledger 0.2.
	Mix *Mix `yaml:"mix"`
	// Accounts is the number of bank accounts. Default 8.
	Accounts int `yaml:"accounts"`
	// Total is the money spread over the bank's accounts. Default 1000.
	Total int64 `yaml:"total"`
	// MaxTxnLength is the most micro-operations in an append transaction
	// (1 to this). Default 5.
	MaxTxnLength int `yaml:"max-txn-length"`
	// Steps turns on the load-step mode: the load runs once per offered
	// rate (operations per second), each for Duration / len(Steps), so
	// that cost can be fitted against throughput. Default: no steps.
	Steps []float64 `yaml:"steps"`
	// Options are client settings: for etcd, consistency
	// (linearizable|serializable) and endpoints (all|pinned); for SQL,
	// isolation and retries (`faultline list workloads`).
	Options map[string]string `yaml:"options"`
}

// Mix weighs the register workload's functions.
type Mix struct {
	Read   float64 `yaml:"read"`
	Write  float64 `yaml:"write"`
	CAS    float64 `yaml:"cas"`
	Ledger float64 `yaml:"ledger"`
}

// Fault is one entry of the fault schedule.
type Fault struct {
	// Name labels the fault in reports. Default: "KIND TARGET".
	Name string `yaml:"name"`
	// Kind is the fault (`faultline list faults`). Required.
	Kind string `yaml:"kind"`
	// At is when the fault starts, from the start of the load. Required.
	At time.Duration `yaml:"at"`
	// Duration is how long the fault lasts before it is healed. Required,
	// except for restart, which is instant.
	Duration time.Duration `yaml:"duration"`
	// Target selects the nodes: leader, primaries (every shard's
	// leader), follower, leader-zone, node:N,
	// nodes:A,B, zone:Z, region:R, minority, majority, random, all.
	// Required.
	Target faults.Selector `yaml:"target"`
	// Peers selects the other side of a partition or shaping rule: any
	// target selector, or rest (every node outside the target, the
	// control plane included). Default: every other worker node.
	Peers faults.Selector `yaml:"peers"`
	// OneWay makes a partition drop only traffic from target to peers.
	// Default false (symmetric).
	OneWay bool `yaml:"one-way"`
	// Bridge splits the target nodes in two halves joined by one node
	// (Jepsen's bridge). Default false.
	Bridge bool `yaml:"bridge"`
	// Process makes a kill, stop, pause or restart act on one named
	// process of each target node (Vitess's vttablet or mysqld) instead
	// of the whole node. Default: the whole node.
	Process string `yaml:"process"`
	// Delay and Jitter shape latency faults. Default 0.
	Delay  time.Duration `yaml:"delay"`
	Jitter time.Duration `yaml:"jitter"`
	// Loss is the fraction of packets a loss fault drops, 0–1.
	Loss float64 `yaml:"loss"`
	// Rate caps a bandwidth fault, in bits per second with an optional
	// unit: 10mbit, 500kbit, 1gbit.
	Rate Bandwidth `yaml:"rate"`
	// Via names the injector: platform (the platform's own: Docker on
	// kind, processes on local), chaos-mesh or kubernetes. Default: the
	// first of those that can inject the kind on the platform (`faultline
	// list faults`).
	Via string `yaml:"via"`
	// Offset shifts the clocks of a clock-skew fault (-10m: ten minutes in
	// the past). Required for clock-skew.
	Offset time.Duration `yaml:"offset"`
	// CPUWorkers, CPULoad (percent of one CPU per worker; default 100)
	// and Memory (256Mi) size a stress fault; it needs one of CPUWorkers
	// and Memory.
	CPUWorkers int   `yaml:"cpu-workers"`
	CPULoad    int   `yaml:"cpu-load"`
	Memory     Bytes `yaml:"memory"`
	// Path is the mount path of the volume a disk-latency or disk-error
	// fault acts on (or a path under it). Required for both.
	Path string `yaml:"path"`
	// Percent is the percentage of file operations a disk fault hits.
	// Default 100.
	Percent int `yaml:"percent"`
	// Errno is the error a disk-error fault returns. Default 5 (EIO).
	Errno int `yaml:"errno"`
	// GracePeriod is how long a pod-delete lets pods shut down. Default 0.
	GracePeriod time.Duration `yaml:"grace-period"`
	// Force makes a node-drain delete pods instead of evicting them,
	// overriding PodDisruptionBudgets. Default false.
	Force bool `yaml:"force"`
}

// Checks sets budgets. Which checks run follows from the workload:
// register runs linearizable, rpo, rto and stats; bank runs bank, rto and
// stats; append runs append, rto and stats; ledger runs rpo, rto and stats.
// A check can be turned off with enabled: false.
type Checks struct {
	Linearizable *LinearizableCheck `yaml:"linearizable"`
	RPO          *RPOCheck          `yaml:"rpo"`
	RTO          *RTOCheck          `yaml:"rto"`
	Throughput   *ThroughputCheck   `yaml:"throughput"`
	Latency      *LatencyCheck      `yaml:"latency"`
	Bank         *Toggle            `yaml:"bank"`
	Append       *AppendCheck       `yaml:"append"`
}

// Toggle turns a check off.
type Toggle struct {
	// Enabled runs the check. Default true.
	Enabled *bool `yaml:"enabled"`
}

// on reports whether an optional enabled flag is unset or true.
func on(enabled *bool) bool { return enabled == nil || *enabled }

// LinearizableCheck configures the linearizability check.
type LinearizableCheck struct {
	// Enabled runs the check. Default true.
	Enabled *bool `yaml:"enabled"`
	// Timeout bounds the search; past it the verdict is Unknown.
	// Default 60s.
	Timeout time.Duration `yaml:"timeout"`
}

// RPOCheck configures the lost-writes check.
type RPOCheck struct {
	// Enabled runs the check. Default true.
	Enabled *bool `yaml:"enabled"`
	// MaxLostWrites is the most acknowledged writes that may be missing
	// after recovery. Default 0.
	MaxLostWrites int `yaml:"max-lost-writes"`
}

// RTOCheck configures the recovery-time check.
type RTOCheck struct {
	// Enabled runs the check. Default true.
	Enabled *bool `yaml:"enabled"`
	// Max is the longest recovery allowed per fault. Default 0: no budget
	// (RTO is measured and reported, and a fault that never recovers
	// fails the check).
	Max time.Duration `yaml:"max"`
}

// ThroughputCheck sets a floor on throughput.
type ThroughputCheck struct {
	// Min is the least acknowledged operations per second over the load.
	// Default 0: no floor.
	Min float64 `yaml:"min"`
}

// LatencyCheck sets a ceiling on latency.
type LatencyCheck struct {
	// P99Max is the highest 99th-percentile latency of acknowledged
	// operations over the load. Default 0: no ceiling.
	P99Max time.Duration `yaml:"p99-max"`
}

// AppendCheck configures the list-append check.
type AppendCheck struct {
	// Enabled runs the check. Default true.
	Enabled *bool `yaml:"enabled"`
	// Isolation is the level the engine promises: read-committed,
	// repeatable-read, snapshot-isolation, serializable or
	// strict-serializable. Anomalies it forbids fail the check; others are
	// reported. Default serializable.
	Isolation string `yaml:"isolation"`
	// Timeout bounds the cycle search. Default 60s.
	Timeout time.Duration `yaml:"timeout"`
}

// Cost says how the report prices the run (see `faultline cost`).
type Cost struct {
	// Enabled adds the cost section to the report. Default true.
	Enabled *bool `yaml:"enabled"`
	// Target is the workload to price, as `faultline cost --target`
	// takes it. Default qps=10000,data=100GiB.
	Target string `yaml:"target"`
	// Cloud is aws, gcp or azure. Default aws.
	Cloud string `yaml:"cloud"`
	// Survive is the failure the self-hosted cluster must survive: none,
	// zone or region. Default zone.
	Survive string `yaml:"survive"`
	// Commitment is none, 1y or 3y. Default none.
	Commitment string `yaml:"commitment"`
}

// Parse decodes a scenario strictly and returns every decoding problem at
// once as Errors. It does not validate; Validate does.
func Parse(data []byte) (*Scenario, error) {
	s := &Scenario{}
	lines, errs := DecodeStrict(data, s, "scenario")
	if len(errs) > 0 {
		return nil, errs
	}
	s.lines = lines
	return s, nil
}

// DecodeStrict decodes one YAML document into v, a pointer to a struct,
// the way Parse decodes a scenario: unknown fields, wrong types and keys
// set twice are errors, every one reported at once with its field path
// and line, in file order. A struct field tagged `yaml:",inline"` has its
// fields decoded as the parent's. It returns the line of every field path
// it met (for later validation messages); what names the document in
// messages ("scenario", "matrix").
func DecodeStrict(data []byte, v any, what string) (map[string]int, Errors) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, Errors{{Msg: fmt.Sprintf("decode %s: want a pointer to a struct, got %T", what, v)}}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, Errors{{Msg: fmt.Sprintf("not YAML: %v", err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Errors{{Line: extra.Line, Msg: fmt.Sprintf("more than one YAML document; a %s is one", what)}}
	}
	d := &decoder{lines: map[string]int{}}
	d.decode(&root, rv.Elem(), "")
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return d.lines, d.errs
	}
	return d.lines, nil
}

// Load reads and parses a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(data)
}

// Line returns the line of a field path, or 0 if the file did not set it.
func (s *Scenario) Line(path string) int { return s.lines[path] }
