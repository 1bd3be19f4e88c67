package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/platform"
)

// Selector kinds.
const (
	SelLeader     = "leader"      // the engine's leader (or primary)
	SelFollower   = "follower"    // one random node that does not lead
	SelLeaderZone = "leader-zone" // every node in the leader's zone
	SelPrimaries  = "primaries"   // every shard's leader (primary) at once
	SelNode       = "node"        // node:NAME
	SelNodes      = "nodes"       // nodes:A,B,…
	SelZone       = "zone"        // zone:NAME
	SelRegion     = "region"      // region:NAME
	SelMinority   = "minority"    // a random minority of the workers
	SelMajority   = "majority"    // a random majority of the workers
	SelRandom     = "random"      // one random worker
	SelAll        = "all"         // every worker
	// SelRest selects peers only: every node outside the target, the
	// control plane included (where engines keep a topology server, an
	// orchestrator, their routers), so that a partition cuts the target
	// off from everything.
	SelRest = "rest"
)

// Selector picks nodes, the way Chaos Mesh separates targeting from the
// effect. Its text form is "leader", "zone:a", "nodes:n1,n2" and so on.
type Selector struct {
	Kind  string
	Names []string
}

// IsZero reports whether the selector is unset.
func (s Selector) IsZero() bool { return s.Kind == "" }

// String returns the selector's text form.
func (s Selector) String() string {
	if len(s.Names) == 0 {
		return s.Kind
	}
	return s.Kind + ":" + strings.Join(s.Names, ",")
}

// MarshalText encodes the text form.
func (s Selector) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the text form.
func (s *Selector) UnmarshalText(b []byte) error {
	p, err := ParseSelector(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// ParseSelector parses a selector's text form.
func ParseSelector(text string) (Selector, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(text), ":")
	switch kind {
	case SelLeader, SelFollower, SelLeaderZone, SelPrimaries, SelMinority, SelMajority, SelRandom, SelAll, SelRest:
		if hasArg {
			return Selector{}, fmt.Errorf("selector %q takes no argument", excerpt.Value(kind))
		}
		return Selector{Kind: kind}, nil
	case SelNode, SelZone, SelRegion:
		if arg == "" || strings.Contains(arg, ",") {
			return Selector{}, fmt.Errorf("selector %q needs one name, as in %s:NAME", excerpt.Value(kind), kind)
		}
		return Selector{Kind: kind, Names: []string{arg}}, nil
	case SelNodes:
		var names []string
		for _, n := range strings.Split(arg, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return Selector{}, fmt.Errorf("selector %q needs names, as in nodes:A,B", excerpt.Value(kind))
		}
		return Selector{Kind: kind, Names: names}, nil
	case "":
		return Selector{}, fmt.Errorf("empty selector (want one of leader, primaries, follower, leader-zone, node:NAME, nodes:A,B, zone:NAME, region:NAME, minority, majority, random, all)")
	}
	return Selector{}, fmt.Errorf("unknown selector %q (want one of leader, primaries, follower, leader-zone, node:NAME, nodes:A,B, zone:NAME, region:NAME, minority, majority, random, all)", excerpt.Value(text))
}

// NeedsLeader reports whether resolving the selector asks the engine who
// leads.
func (s Selector) NeedsLeader() bool {
	return s.Kind == SelLeader || s.Kind == SelFollower || s.Kind == SelLeaderZone || s.Kind == SelPrimaries
}

// CheckTopology returns an error if the selector names a node, zone or
// region the topology lacks. Node names are n1…nN, the topology's layout.
func (s Selector) CheckTopology(t platform.Topology) error {
	layout := t.Layout()
	switch s.Kind {
	case SelNode, SelNodes:
		for _, n := range s.Names {
			if _, ok := platform.Find(layout, n); !ok {
				return fmt.Errorf("no node %q in the topology (nodes are n1…n%d)", excerpt.Value(n), len(layout))
			}
		}
	case SelZone:
		var zones []string
		for _, n := range layout {
			if n.Zone == s.Names[0] {
				return nil
			}
			if !slices.Contains(zones, n.Zone) {
				zones = append(zones, n.Zone)
			}
		}
		return fmt.Errorf("no zone %q in the topology (zones: %s)", excerpt.Value(s.Names[0]), strings.Join(zones, ", "))
	case SelRegion:
		var regions []string
		for _, n := range layout {
			if n.Region == s.Names[0] {
				return nil
			}
			if !slices.Contains(regions, n.Region) {
				regions = append(regions, n.Region)
			}
		}
		return fmt.Errorf("no region %q in the topology (regions: %s)", excerpt.Value(s.Names[0]), strings.Join(regions, ", "))
	}
	return nil
}

// Resolve picks the nodes the selector names among workers. leader names
// the current leader, for the selectors that need one (it may be nil
// otherwise). Node names may be a worker's own name or its layout name nK,
// the K-th worker in the order given.
func (s Selector) Resolve(ctx context.Context, workers []platform.Node, leader func(context.Context) (string, error), r *rand.Rand) ([]platform.Node, error) {
	return s.ResolveLeaders(ctx, workers, leader, nil, r)
}

// ResolveLeaders is Resolve for engines with several leaders at once (a
// primary per shard): leaders names them all, for the selector
// primaries; when it is nil, primaries is the one leader.
func (s Selector) ResolveLeaders(ctx context.Context, workers []platform.Node, leader func(context.Context) (string, error), leaders func(context.Context) ([]string, error), r *rand.Rand) ([]platform.Node, error) {
	if len(workers) == 0 {
		return nil, fmt.Errorf("select %s: no worker nodes", s)
	}
	if s.Kind == SelPrimaries && leaders != nil {
		names, err := leaders(ctx)
		if err != nil {
			return nil, fmt.Errorf("select %s: %w", s, err)
		}
		var out []platform.Node
		for _, name := range names {
			n, ok := byName(workers, name)
			if !ok {
				return nil, fmt.Errorf("select %s: leader %q is not a worker node", s, excerpt.Value(name))
			}
			if _, dup := platform.Find(out, n.Name); !dup {
				out = append(out, n)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("select %s: no shard has a leader", s)
		}
		return out, nil
	}
	var lead platform.Node
	if s.NeedsLeader() {
		if leader == nil {
			return nil, fmt.Errorf("select %s: the engine cannot name its leader", s)
		}
		name, err := leader(ctx)
		if err != nil {
			return nil, fmt.Errorf("select %s: %w", s, err)
		}
		n, ok := byName(workers, name)
		if !ok {
			return nil, fmt.Errorf("select %s: leader %q is not a worker node", s, excerpt.Value(name))
		}
		lead = n
	}
	pick := func(k int) []platform.Node {
		idx := r.Perm(len(workers))[:k]
		slices.Sort(idx)
		out := make([]platform.Node, 0, k)
		for _, i := range idx {
			out = append(out, workers[i])
		}
		return out
	}
	switch s.Kind {
	case SelLeader, SelPrimaries:
		return []platform.Node{lead}, nil
	case SelFollower:
		var fs []platform.Node
		for _, n := range workers {
			if n.Name != lead.Name {
				fs = append(fs, n)
			}
		}
		if len(fs) == 0 {
			return nil, fmt.Errorf("select %s: no node other than the leader", s)
		}
		return []platform.Node{fs[r.IntN(len(fs))]}, nil
	case SelLeaderZone:
		return filter(workers, func(n platform.Node) bool { return n.Zone == lead.Zone }), nil
	case SelNode, SelNodes:
		var out []platform.Node
		for _, name := range s.Names {
			n, ok := byName(workers, name)
			if !ok {
				return nil, fmt.Errorf("select %s: no worker node %q", s, excerpt.Value(name))
			}
			out = append(out, n)
		}
		return out, nil
	case SelZone:
		out := filter(workers, func(n platform.Node) bool { return n.Zone == s.Names[0] })
		if len(out) == 0 {
			return nil, fmt.Errorf("select %s: no worker node in zone %q", s, excerpt.Value(s.Names[0]))
		}
		return out, nil
	case SelRegion:
		out := filter(workers, func(n platform.Node) bool { return n.Region == s.Names[0] })
		if len(out) == 0 {
			return nil, fmt.Errorf("select %s: no worker node in region %q", s, excerpt.Value(s.Names[0]))
		}
		return out, nil
	case SelMinority:
		if len(workers) < 2 {
			return nil, fmt.Errorf("select %s: a minority of %d node is empty", s, len(workers))
		}
		return pick((len(workers) - 1) / 2), nil
	case SelMajority:
		return pick(len(workers)/2 + 1), nil
	case SelRandom:
		return pick(1), nil
	case SelAll:
		return append([]platform.Node(nil), workers...), nil
	case SelRest:
		return nil, fmt.Errorf("select %s: rest names the peers of a partition or shaping fault, not a target", s)
	}
	return nil, fmt.Errorf("select: unknown selector %q", excerpt.Value(s.Kind))
}

// Complement returns the workers not in nodes. Membership is by exact
// name: byName's layout-name fallback would take "n1" for the first of
// nodes whatever its name.
func Complement(workers, nodes []platform.Node) []platform.Node {
	return filter(workers, func(n platform.Node) bool {
		_, in := platform.Find(nodes, n.Name)
		return !in
	})
}

func filter(nodes []platform.Node, keep func(platform.Node) bool) []platform.Node {
	var out []platform.Node
	for _, n := range nodes {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// byName finds a node by its name or by its layout name nK.
func byName(nodes []platform.Node, name string) (platform.Node, bool) {
	if n, ok := platform.Find(nodes, name); ok {
		return n, true
	}
	if k, err := strconv.Atoi(strings.TrimPrefix(name, "n")); err == nil && strings.HasPrefix(name, "n") && k >= 1 && k <= len(nodes) {
		return nodes[k-1], true
	}
	return platform.Node{}, false
}
