// Package faults injects and heals faults: the vocabulary of fault kinds,
// target selectors, the injectors for each platform capability, and the
// nemesis that carries out a scenario's schedule.
package faults

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/platform"
)

// Heal undoes an injected fault. It is safe to call more than once.
type Heal func(ctx context.Context) error

// Fault is one fault, ready to inject. Inject returns the Heal that undoes
// it; a Fault that fails half-way heals what it did before returning.
type Fault interface {
	Name() string
	Inject(ctx context.Context, c platform.Cluster, t Target) (Heal, error)
}

// Mechanism is implemented by faults that report how they carried
// themselves out (netem or nfqueue, say), read after Inject.
type Mechanism interface {
	Mechanism() string
}

// Target is what a fault acts on: the nodes its selector resolved to and,
// for partitions and network shaping, the peers on the other side.
type Target struct {
	Nodes []platform.Node
	Peers []platform.Node
	// Log records every command the fault runs, with its output.
	Log *Log
	// Selector and PeerSelector are what Nodes and Peers were resolved
	// from, for injectors that select by node labels (a zone) rather than
	// by the nodes a selector resolved to at one instant.
	Selector, PeerSelector Selector
	// Pods, when set, are the engine's pods, for injectors that act on
	// pods (Chaos Mesh, the Kubernetes API): a fault on a node acts on
	// the engine's pods on it and on nothing else.
	Pods *Pods
	// Labels are the run's labels, carried by every object an injector
	// creates in a cluster, so that heal finds them (RunLabels).
	Labels map[string]string
}

// Pods selects an engine's pods: those in Namespace whose labels include
// Labels.
type Pods struct {
	Namespace string
	Labels    map[string]string
	// Containers names the engine's own containers in them (not its
	// sidecars), for faults on containers; empty is every container.
	Containers []string
}

// Fault kinds, as scenarios name them.
const (
	KindKill         = "kill"
	KindStop         = "stop"
	KindPause        = "pause"
	KindRestart      = "restart"
	KindZoneOutage   = "zone-outage"
	KindRegionOutage = "region-outage"
	KindPartition    = "partition"
	KindLatency      = "latency"
	KindLoss         = "loss"
	KindBandwidth    = "bandwidth"

	// Kinds that act on pods, through an injector on Kubernetes.
	KindPodFailure    = "pod-failure"
	KindContainerKill = "container-kill"
	KindClockSkew     = "clock-skew"
	KindStress        = "stress"
	KindDiskLatency   = "disk-latency"
	KindDiskError     = "disk-error"
	KindPodDelete     = "pod-delete"

	// Kinds that act on Kubernetes nodes through its API.
	KindNodeCordon = "node-cordon"
	KindNodeDrain  = "node-drain"
)

// Capabilities a fault kind needs from a cluster.
const (
	NeedsNodes   = "nodes"    // platform.NodeController
	NeedsNetwork = "network"  // platform.NetworkController with iptables
	NeedsShaping = "shaping"  // platform.NetworkController with tc or the delayer
	NeedsPods    = "pods"     // an injector that acts on the engine's pods (Chaos Mesh, the Kubernetes API)
	NeedsAPI     = "kube-api" // the Kubernetes API (nodes, evictions)
)

// KindInfo documents a fault kind.
type KindInfo struct {
	Name        string
	Description string
	// Needs is the capability the cluster must have.
	Needs string
	// Instant kinds act once and need no duration (restart).
	Instant bool
	// Peered kinds act between Target and Peers.
	Peered bool
	// Selectors lists the selector kinds the fault accepts; empty is any.
	Selectors []string
}

// Native reports whether the kind acts on nodes or their network, which
// a platform's own mechanisms carry out (Native), rather than on pods or
// the Kubernetes API.
func (k KindInfo) Native() bool {
	return k.Needs == NeedsNodes || k.Needs == NeedsNetwork || k.Needs == NeedsShaping
}

// Kinds lists every fault kind, sorted by name.
func Kinds() []KindInfo {
	ks := []KindInfo{
		{Name: KindKill, Needs: NeedsNodes, Description: "kill the target nodes at once (SIGKILL, docker kill); start them again on heal"},
		{Name: KindStop, Needs: NeedsNodes, Description: "stop the target nodes gracefully (SIGTERM, docker stop); start them again on heal"},
		{Name: KindPause, Needs: NeedsNodes, Description: "freeze the target nodes (SIGSTOP, cgroup freezer); thaw them on heal"},
		{Name: KindRestart, Needs: NeedsNodes, Instant: true, Description: "stop the target nodes gracefully and start them again at once"},
		{Name: KindZoneOutage, Needs: NeedsNodes, Selectors: []string{SelZone, SelLeaderZone}, Description: "kill every node in a zone; start them again on heal"},
		{Name: KindRegionOutage, Needs: NeedsNodes, Selectors: []string{SelRegion}, Description: "kill every node in a region; start them again on heal"},
		{Name: KindPartition, Needs: NeedsNetwork, Peered: true, Description: "drop traffic between the target and its peers (symmetric, one-way or bridge), with iptables rules in a chain faultline owns"},
		{Name: KindLatency, Needs: NeedsShaping, Peered: true, Description: "delay packets between the target and its peers by delay ± jitter each way (a round trip grows by twice the delay), with tc netem or faultline's NFQUEUE delayer"},
		{Name: KindLoss, Needs: NeedsShaping, Peered: true, Description: "drop a fraction of packets between the target and its peers (loss), with netem or the iptables statistic match"},
		{Name: KindBandwidth, Needs: NeedsShaping, Peered: true, Description: "cap what each node sends to the other side, between the target and its peers, at rate bits/s, with tc htb"},
		{Name: KindPodFailure, Needs: NeedsPods, Description: "make the engine's pods on the target nodes fail (their containers swapped for a pause image) until heal"},
		{Name: KindContainerKill, Needs: NeedsPods, Instant: true, Description: "kill the engine's containers on the target nodes once; the kubelet restarts them"},
		{Name: KindClockSkew, Needs: NeedsPods, Description: "shift the clocks the engine's processes on the target nodes read by offset (negative is the past), until heal"},
		{Name: KindStress, Needs: NeedsPods, Description: "burn CPU (cpu-workers at cpu-load percent) and/or hold memory (memory) inside the engine's containers on the target nodes"},
		{Name: KindDiskLatency, Needs: NeedsPods, Description: "delay the engine's file operations under path on the target nodes by delay (percent of them)"},
		{Name: KindDiskError, Needs: NeedsPods, Description: "fail the engine's file operations under path on the target nodes with errno (percent of them)"},
		{Name: KindPodDelete, Needs: NeedsPods, Instant: true, Description: "delete the engine's pods on the target nodes through the API, after grace-period (default 0); their controllers recreate them"},
		{Name: KindNodeCordon, Needs: NeedsAPI, Description: "mark the target nodes unschedulable; uncordon them on heal"},
		{Name: KindNodeDrain, Needs: NeedsAPI, Description: "cordon the target nodes and evict their pods, PodDisruptionBudgets honoured (force: delete instead); uncordon on heal"},
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].Name < ks[j].Name })
	return ks
}

// LookupKind returns the documentation of a fault kind.
func LookupKind(name string) (KindInfo, error) {
	var names []string
	for _, k := range Kinds() {
		if k.Name == name {
			return k, nil
		}
		names = append(names, k.Name)
	}
	return KindInfo{}, fmt.Errorf("unknown fault kind %q (known: %s)", excerpt.Value(name), strings.Join(names, ", "))
}

// Spec is one entry of a fault schedule.
type Spec struct {
	// ID is the entry's position in the schedule.
	ID int
	// Name labels the fault in reports; it defaults to "KIND TARGET".
	Name string
	Kind string
	// At is when the fault starts, from the start of the load.
	At time.Duration
	// Duration is how long it lasts before it is healed.
	Duration time.Duration
	Target   Selector
	// Peers is the other side of a partition or shaping rule; the zero
	// Selector means every other worker node.
	Peers Selector
	// Via names the injector (ViaPlatform, ViaChaosMesh, ViaKubernetes);
	// empty chooses the first that can (Injectors.Choose).
	Via string
	// OneWay makes a partition drop only traffic from Target to Peers.
	OneWay bool
	// Bridge makes a partition split the workers in two halves that
	// cannot reach each other, except through one node that reaches both.
	Bridge bool
	// Process, for kill, stop, pause and restart, names the one process
	// of each target node to act on (platform.ProcessController); empty
	// is the whole node.
	Process string
	// Shaping parameters.
	Delay  time.Duration
	Jitter time.Duration
	Loss   float64 // fraction of packets, 0–1
	Rate   int64   // bits per second
	// Offset shifts clocks (clock-skew); negative is the past.
	Offset time.Duration
	// CPUWorkers, CPULoad (percent of one CPU each) and Memory (bytes in
	// all) size a stress fault.
	CPUWorkers int
	CPULoad    int
	Memory     int64
	// Path, Percent and Errno aim disk faults: the mount path of the
	// volume (or a path under it), the percent of operations hit (0 is
	// 100), and the error number returned (disk-error; default EIO).
	Path    string
	Percent int
	Errno   int
	// GracePeriod is how long deleted pods get to shut down (pod-delete).
	GracePeriod time.Duration
	// Force makes a drain delete pods instead of evicting them, overriding
	// PodDisruptionBudgets.
	Force bool
}

// Label is the fault's name in reports.
func (s Spec) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Kind + " " + s.Target.String()
}
