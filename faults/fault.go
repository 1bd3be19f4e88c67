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
)

// Capabilities a fault kind needs from a cluster.
const (
	NeedsNodes   = "nodes"   // platform.NodeController
	NeedsNetwork = "network" // platform.NetworkController with iptables
	NeedsShaping = "shaping" // platform.NetworkController with tc or the delayer
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
}

// Label is the fault's name in reports.
func (s Spec) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Kind + " " + s.Target.String()
}
