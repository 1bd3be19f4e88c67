package cost

import (
	"fmt"
	"sort"
	"strings"

	"github.com/faultline-dev/faultline/internal/excerpt"
)

// Engine is what the model needs to know about an engine to size a
// self-hosted cluster of it: its minimums, how it replicates and scales,
// and how much looking after it takes. Every figure says where it comes
// from in Sources.
type Engine struct {
	// Name is the canonical name (cockroachdb, etcd, postgres, mariadb,
	// vitess); Family groups engines that managed offerings can stand in
	// for (postgres, mysql, cockroachdb, etcd).
	Name   string `json:"name"`
	Family string `json:"family"`
	Title  string `json:"title"`
	// SelfHosted names how it runs on Kubernetes.
	SelfHosted string `json:"self_hosted"`
	// MinNodes is the smallest cluster for zone survival (and for a
	// single zone); RegionNodes the smallest for region survival.
	MinNodes    int `json:"min_nodes"`
	RegionNodes int `json:"region_nodes"`
	// ScaleOut engines spread work and data over all nodes, each datum
	// on RF of them; the others keep a full copy on every node and send
	// every write through one primary (or leader), so the busiest node
	// sets the instance size.
	ScaleOut bool `json:"scale_out"`
	// RF and RegionRF are the copies of each datum kept for zone and for
	// region survival.
	RF       int `json:"rf"`
	RegionRF int `json:"region_rf"`
	// MemPerVCPU is the memory per vCPU the engine's guidance asks for;
	// MinMemoryGiB the least per node.
	MemPerVCPU   float64 `json:"mem_per_vcpu_gib"`
	MinMemoryGiB float64 `json:"min_memory_gib"`
	// Amplification is on-disk bytes per replica over logical bytes, used
	// when the run wrote too little to measure it.
	Amplification float64 `json:"amplification"`
	// MaxDataBytes is the most data the engine is meant to hold (0: no
	// limit the model knows of).
	MaxDataBytes float64 `json:"max_data_bytes,omitempty"`
	// FTE is the fraction of an engineer's time a self-hosted cluster
	// takes.
	FTE     float64           `json:"fte"`
	Sources map[string]string `json:"sources"`
}

// ManagedFTE is the engineering time a managed offering still takes
// (schema changes, upgrades windows, cost reviews, incidents).
const ManagedFTE = 0.05

const managedFTESource = "assumption: a quarter of the seed document's 0.2 FTE for self-hosted CockroachDB"

// engines lists the engines the model knows. A function, not a variable,
// so that no caller can change them.
func engines() []Engine {
	return []Engine{
		{
			Name: "cockroachdb", Family: "cockroachdb", Title: "CockroachDB",
			SelfHosted: "CockroachDB (operator) on Kubernetes",
			MinNodes:   3, RegionNodes: 9, ScaleOut: true, RF: 3, RegionRF: 5,
			MemPerVCPU: 4, MinMemoryGiB: 8, Amplification: 1.2, FTE: 0.2,
			Sources: map[string]string{
				"min_nodes":     "CockroachDB production checklist: at least 3 nodes; 3 per region for multi-region",
				"region_rf":     "CockroachDB SURVIVE REGION FAILURE keeps 5 replicas",
				"mem_per_vcpu":  "CockroachDB production checklist: 4 GiB of RAM per vCPU",
				"amplification": "assumption: Pebble compresses values, LSM space amplification and the Raft log roughly cancel out, +20%",
				"fte":           "seed document: 0.2 FTE",
			},
		},
		{
			Name: "etcd", Family: "etcd", Title: "etcd",
			SelfHosted: "etcd StatefulSet on Kubernetes",
			MinNodes:   3, RegionNodes: 3, ScaleOut: false, RF: 3, RegionRF: 3,
			MemPerVCPU: 2, MinMemoryGiB: 8, Amplification: 2, FTE: 0.1, MaxDataBytes: 8 << 30,
			Sources: map[string]string{
				"max_data":      "etcd docs (dev-guide/limit): the default storage quota is 2 GiB, 8 GiB the suggested maximum",
				"min_nodes":     "etcd FAQ: 3 members tolerate one failure; one member per region survives a region",
				"min_memory":    "etcd hardware recommendations: 8 GB for small clusters",
				"amplification": "assumption: bbolt's free pages, the WAL and snapshots roughly double the data",
				"fte":           "assumption, as CloudNativePG in the seed document",
			},
		},
		{
			Name: "postgres", Family: "postgres", Title: "PostgreSQL",
			SelfHosted: "CloudNativePG on Kubernetes",
			MinNodes:   3, RegionNodes: 5, ScaleOut: false, RF: 3, RegionRF: 5,
			MemPerVCPU: 4, MinMemoryGiB: 4, Amplification: 2, FTE: 0.1,
			Sources: map[string]string{
				"min_nodes":     "CloudNativePG docs: a primary and two standbys; a replica cluster of a designated primary and a standby in a second region",
				"mem_per_vcpu":  "assumption: the 4 GiB per vCPU of general-purpose instances",
				"amplification": "assumption: heap, indexes, free space and WAL roughly double the logical data",
				"fte":           "seed document: 0.1 FTE",
			},
		},
		{
			Name: "mariadb", Family: "mysql", Title: "MariaDB",
			SelfHosted: "MariaDB (operator) on Kubernetes",
			MinNodes:   3, RegionNodes: 5, ScaleOut: false, RF: 3, RegionRF: 5,
			MemPerVCPU: 4, MinMemoryGiB: 4, Amplification: 2, FTE: 0.1,
			Sources: map[string]string{
				"min_nodes":     "assumption: a primary and two replicas, as for PostgreSQL",
				"amplification": "assumption: InnoDB pages, indexes and binary logs roughly double the logical data",
				"fte":           "assumption, as CloudNativePG in the seed document",
			},
		},
		{
			Name: "vitess", Family: "mysql", Title: "Vitess",
			SelfHosted: "Vitess (operator) on Kubernetes",
			MinNodes:   5, RegionNodes: 9, ScaleOut: true, RF: 3, RegionRF: 5,
			MemPerVCPU: 4, MinMemoryGiB: 4, Amplification: 2, FTE: 0.25,
			Sources: map[string]string{
				"min_nodes":     "Vitess docs: each shard a primary and two replicas, plus vtgates (two for availability)",
				"amplification": "assumption: as MariaDB",
				"fte":           "assumption: more moving parts (vtgate, vtctld, topology server) than CloudNativePG",
			},
		},
	}
}

// Engines returns every engine the model knows, by name.
func Engines() []Engine {
	es := engines()
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	return es
}

// LookupEngine finds an engine by name or alias (crdb, cockroach,
// cloudnativepg, cnpg, postgresql, pg, mysql).
func LookupEngine(name string) (Engine, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "crdb", "cockroach":
		n = "cockroachdb"
	case "cloudnativepg", "cnpg", "postgresql", "pg":
		n = "postgres"
	case "mysql":
		n = "mariadb"
	}
	var names []string
	for _, e := range Engines() {
		if e.Name == n {
			return e, nil
		}
		names = append(names, e.Name)
	}
	return Engine{}, fmt.Errorf("unknown engine %q (want %s)", excerpt.Value(name), strings.Join(names, ", "))
}
