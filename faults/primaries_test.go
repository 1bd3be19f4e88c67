package faults

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/faultline-dev/faultline/platform"
)

func TestPrimariesSelector(t *testing.T) {
	ctx := context.Background()
	workers := []platform.Node{{Name: "n1", Zone: "a"}, {Name: "n2", Zone: "b"}, {Name: "n3", Zone: "c"}, {Name: "n4", Zone: "a"}}
	s := sel(t, "primaries")
	if !s.NeedsLeader() {
		t.Error("primaries does not need the leaders")
	}
	leader := func(context.Context) (string, error) { return "n2", nil }
	leaders := func(context.Context) ([]string, error) { return []string{"n4", "n1", "n4"}, nil }
	r := rand.New(rand.NewPCG(1, 1))
	got, err := s.ResolveLeaders(ctx, workers, leader, leaders, r)
	if err != nil || len(got) != 2 || got[0].Name != "n4" || got[1].Name != "n1" {
		t.Errorf("every shard's primary: %v, %v", got, err)
	}
	// An engine with one leader: primaries is that leader.
	got, err = s.Resolve(ctx, workers, leader, r)
	if err != nil || len(got) != 1 || got[0].Name != "n2" {
		t.Errorf("one leader: %v, %v", got, err)
	}
	none := func(context.Context) ([]string, error) { return nil, nil }
	if _, err := s.ResolveLeaders(ctx, workers, leader, none, r); err == nil || !strings.Contains(err.Error(), "no shard has a leader") {
		t.Errorf("no leaders: %v", err)
	}
	broken := func(context.Context) ([]string, error) { return nil, errors.New("topology down") }
	if _, err := s.ResolveLeaders(ctx, workers, leader, broken, r); err == nil || !strings.Contains(err.Error(), "topology down") {
		t.Errorf("leaders failing: %v", err)
	}
	if _, err := ParseSelector("primaries:x"); err == nil {
		t.Error("primaries took an argument")
	}
}

// nodesCluster is a cluster that only lists its nodes.
type nodesCluster struct{ nodes []platform.Node }

func (c nodesCluster) Name() string                                   { return "nodes" }
func (c nodesCluster) Nodes(context.Context) ([]platform.Node, error) { return c.nodes, nil }
func (c nodesCluster) Delete(context.Context) error                   { return nil }

// TestRestPeers: peers rest are every node outside the target, the
// control plane included; the default peers are the other workers; rest
// is no target.
func TestRestPeers(t *testing.T) {
	ctx := context.Background()
	nodes := []platform.Node{
		{Name: "n1", Zone: "a", Role: platform.RoleWorker}, {Name: "n2", Zone: "b", Role: platform.RoleWorker},
		{Name: "n3", Zone: "c", Role: platform.RoleWorker}, {Name: "cp", Role: platform.RoleControlPlane},
	}
	n := &Nemesis{Cluster: nodesCluster{nodes}, Leader: func(context.Context) (string, error) { return "n2", nil }}
	info := KindInfo{Peered: true}
	names := func(ns []platform.Node) string {
		var out []string
		for _, x := range ns {
			out = append(out, x.Name)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct{ peers, want string }{
		{"", "n1 n3"},
		{"rest", "n1 n3 cp"},
		{"zone:a", "n1"},
	} {
		spec := Spec{Kind: KindPartition, Target: sel(t, "leader-zone")}
		if tc.peers != "" {
			spec.Peers = sel(t, tc.peers)
		}
		tg, err := n.target(ctx, spec, info, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatalf("peers %q: %v", tc.peers, err)
		}
		if got := names(tg.Peers); got != tc.want || names(tg.Nodes) != "n2" {
			t.Errorf("peers %q: target %s, peers %s; want n2 and %s", tc.peers, names(tg.Nodes), got, tc.want)
		}
	}
	if _, err := sel(t, "rest").Resolve(ctx, platform.Workers(nodes), nil, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("rest resolved as a target")
	}
}
