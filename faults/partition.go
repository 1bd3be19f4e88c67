package faults

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/faultline-dev/faultline/platform"
)

// Link is one direction of traffic a partition cuts: packets from Src to
// Dst are dropped.
type Link struct {
	Src, Dst platform.Node
}

// partition cuts links between nodes with DROP rules in the INPUT chain of
// each destination's network namespace.
type partition struct {
	id     int
	oneWay bool
	bridge bool
}

// Name implements Fault.
func (p *partition) Name() string { return KindPartition }

// Mechanism implements Mechanism.
func (p *partition) Mechanism() string { return "iptables" }

// Inject implements Fault.
func (p *partition) Inject(ctx context.Context, c platform.Cluster, t Target) (Heal, error) {
	nc, ok := c.(platform.NetworkController)
	if !ok {
		return nil, fmt.Errorf("partition: cluster %s cannot run commands in its nodes' network namespaces (platform.NetworkController)", c.Name())
	}
	if fs, ok := c.(platform.FaultSupport); ok {
		if err := fs.CanInject(KindPartition); err != nil {
			return nil, fmt.Errorf("partition: %w", err)
		}
	}
	links, err := PartitionLinks(t, p.oneWay, p.bridge)
	if err != nil {
		return nil, fmt.Errorf("partition: %w", err)
	}
	sets := DropRules(chainName(c, fmt.Sprintf("p%d", p.id)), links, nc.NetNamespace)
	heal, err := InstallRules(ctx, nc, sets, t.Log)
	if err != nil {
		return nil, fmt.Errorf("partition: %w", err)
	}
	return heal, nil
}

// PartitionLinks lists the links a partition cuts:
//   - symmetric (the default): every link between a target node and a
//     peer, both ways;
//   - one-way: only from target nodes to peers;
//   - bridge: the target nodes split in two halves, the first node of the
//     second half (the bridge) left reaching both, every other link
//     between the halves cut both ways, as Jepsen's bridge grudge.
//
// A node never cuts itself off; a node in both Nodes and Peers keeps its
// links to itself. Majority/minority partitions are symmetric ones whose
// target is a minority and whose peers are the rest.
func PartitionLinks(t Target, oneWay, bridge bool) ([]Link, error) {
	var from, to []platform.Node
	switch {
	case bridge:
		if len(t.Nodes) < 3 {
			return nil, fmt.Errorf("a bridge needs at least 3 nodes; the target has %d", len(t.Nodes))
		}
		half := len(t.Nodes) / 2
		from, to = t.Nodes[:half], t.Nodes[half+1:]
	default:
		if len(t.Nodes) == 0 {
			return nil, errors.New("no target nodes")
		}
		if len(t.Peers) == 0 {
			return nil, errors.New("no peers to cut the target off from (does the target hold every worker?)")
		}
		from, to = t.Nodes, t.Peers
	}
	var links []Link
	seen := map[[2]string]bool{}
	add := func(a, b platform.Node) {
		key := [2]string{a.Name, b.Name}
		if a.Name == b.Name || seen[key] {
			return
		}
		seen[key] = true
		links = append(links, Link{Src: a, Dst: b})
	}
	for _, a := range from {
		for _, b := range to {
			add(a, b)
			if !oneWay {
				add(b, a)
			}
		}
	}
	if len(links) == 0 {
		return nil, errors.New("nothing to cut: the target and its peers are the same nodes")
	}
	return links, nil
}

// DropRules turns links into one rule set per network namespace: a chain
// hooked from INPUT that drops packets from each link's source address to
// its destination address, installed in the destination's namespace (on
// the local platform every node shares the host's, so there is one set).
//
// Each link takes two rules. The first drops the packets of connections
// the source opened, and every packet between machines or containers,
// which arrive with their real addresses. The second is for the local
// platform, where node traffic gets its node address by SNAT: the replies
// to a connection the destination opened reach INPUT already translated
// back to 127.0.0.1, so they are matched by their connection's reply
// tuple instead. Without it a one-way cut would let the cut-off side
// answer connections. Sets and rules come out in a stable order.
func DropRules(chain string, links []Link, namespace func(node string) string) []RuleSet {
	byNS := map[string]*RuleSet{}
	var order []string
	for _, l := range links {
		ns := namespace(l.Dst.Name)
		rs, ok := byNS[ns]
		if !ok {
			rs = &RuleSet{Namespace: ns, Node: l.Dst.Name, Chain: chain, Hooks: []string{"INPUT"}}
			byNS[ns] = rs
			order = append(order, ns)
		}
		rs.Rules = append(rs.Rules,
			[]string{"-s", l.Src.Addr, "-d", l.Dst.Addr, "-j", "DROP"},
			[]string{"-s", l.Src.Addr, "-m", "conntrack", "--ctdir", "REPLY", "--ctrepldst", l.Dst.Addr, "-j", "DROP"})
	}
	sort.Strings(order)
	out := make([]RuleSet, 0, len(order))
	for _, ns := range order {
		out = append(out, *byNS[ns])
	}
	return out
}
