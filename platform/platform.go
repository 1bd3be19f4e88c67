// Package platform boots the clusters databases run on: kind clusters of
// node containers, existing Kubernetes clusters, and the local platform of
// processes on loopback addresses.
package platform

import (
	"context"
	"fmt"
	"time"
)

// Platform creates clusters of one kind.
type Platform interface {
	// Name is the platform's name in scenarios: local, kind, existing.
	Name() string
	// Create boots a cluster with the given topology.
	Create(ctx context.Context, t Topology) (Cluster, error)
}

// Cluster is a set of nodes, each in a zone of a region.
type Cluster interface {
	Name() string
	Nodes(ctx context.Context) ([]Node, error)
	// Delete tears the cluster down and removes what it left on the host.
	Delete(ctx context.Context) error
}

// Node roles.
const (
	RoleControlPlane = "control-plane"
	RoleWorker       = "worker"
)

// Node is one machine of a cluster (a kind node container, a Kubernetes
// node, or a loopback address on the local platform).
type Node struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	Zone   string `json:"zone"`
	// Role is RoleWorker or RoleControlPlane. Faults never target the
	// control plane.
	Role string `json:"role"`
	// Addr is the node's IP address as other nodes and the harness reach it.
	Addr string `json:"addr"`
}

// Topology lays nodes out in regions and zones.
type Topology struct {
	Regions []Region `json:"regions" yaml:"regions"`
	// RegionLatency is the standing one-way latency between nodes in
	// different regions, emulating distance on one machine. Zero is none.
	RegionLatency time.Duration `json:"region_latency,omitempty" yaml:"-"`
}

// Region is a named set of zones.
type Region struct {
	Name  string `json:"name" yaml:"name"`
	Zones []Zone `json:"zones" yaml:"zones"`
}

// Zone is a named failure domain holding Nodes worker nodes.
type Zone struct {
	Name  string `json:"name" yaml:"name"`
	Nodes int    `json:"nodes" yaml:"nodes"`
}

// Size is the number of worker nodes in the topology.
func (t Topology) Size() int {
	n := 0
	for _, r := range t.Regions {
		for _, z := range r.Zones {
			n += z.Nodes
		}
	}
	return n
}

// Zones lists every zone as region/zone pairs, in order.
func (t Topology) Zones() [][2]string {
	var out [][2]string
	for _, r := range t.Regions {
		for _, z := range r.Zones {
			out = append(out, [2]string{r.Name, z.Name})
		}
	}
	return out
}

// TopologyOf rebuilds a topology from a cluster's worker nodes: their
// regions and zones in the order the nodes name them, with the count of
// nodes in each zone.
func TopologyOf(nodes []Node) Topology {
	var t Topology
	for _, n := range Workers(nodes) {
		ri := -1
		for i, r := range t.Regions {
			if r.Name == n.Region {
				ri = i
			}
		}
		if ri < 0 {
			t.Regions = append(t.Regions, Region{Name: n.Region})
			ri = len(t.Regions) - 1
		}
		r := &t.Regions[ri]
		zi := -1
		for i, z := range r.Zones {
			if z.Name == n.Zone {
				zi = i
			}
		}
		if zi < 0 {
			r.Zones = append(r.Zones, Zone{Name: n.Zone})
			zi = len(r.Zones) - 1
		}
		r.Zones[zi].Nodes++
	}
	return t
}

// Layout names the topology's worker nodes n1, n2, … in region and zone
// order, with their labels; Addr is left for the platform to fill in.
func (t Topology) Layout() []Node {
	var out []Node
	for _, r := range t.Regions {
		for _, z := range r.Zones {
			for i := 0; i < z.Nodes; i++ {
				out = append(out, Node{
					Name:   fmt.Sprintf("n%d", len(out)+1),
					Region: r.Name,
					Zone:   z.Name,
					Role:   RoleWorker,
				})
			}
		}
	}
	return out
}

// Workers returns the nodes that are not control-plane nodes.
func Workers(nodes []Node) []Node {
	var out []Node
	for _, n := range nodes {
		if n.Role != RoleControlPlane {
			out = append(out, n)
		}
	}
	return out
}

// Find returns the node with the given name.
func Find(nodes []Node, name string) (Node, bool) {
	for _, n := range nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}
