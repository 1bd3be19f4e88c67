package elle

import (
	"context"
	"slices"
)

// cycle is a cycle found in the dependency graph, each hop labelled with
// the one kind that explains it, over global node ids.
type cycle struct {
	kind string
	hops []hop
}

// searchStats describes the strongly connected components searched.
type searchStats struct {
	sccs, largest, searched int
}

// searcher looks for cycles in each strongly connected component of the
// dependency graph. Whether a component holds a cycle of a given class is
// decided exactly, with one Tarjan pass over a filtered copy of the
// component per class; the budget only limits how long it keeps looking
// for a shorter witness once it has one.
type searcher struct {
	g      *csr
	budget int
	// limit is the budget for the component being searched: at most
	// budget, and at most a few dozen passes over the component, so that
	// the total stays linear in the graph however many components there
	// are.
	limit int
	tj    tarjan
	bf    bfs
	loc   []int32 // global node → local id in the component, or -1
}

// families of cycles, searched in this order in each component: the
// classes a cycle can be classified as fall in exactly one family.
const (
	famG0  = iota // G0
	famG1c        // G1c
	famSI         // G-single, G-nonadjacent: what snapshot isolation forbids
	famG2         // G2-item
	nFamilies
)

// run searches every strongly connected component, smallest first, until
// ctx is done. complete is false if it stopped early.
func (s *searcher) run(ctx context.Context) (cycles []cycle, stats searchStats, complete bool) {
	sccs := s.tj.run(s.g, allKinds)
	slices.SortStableFunc(sccs, func(a, b []int32) int { return len(a) - len(b) })
	stats.sccs = len(sccs)
	s.loc = make([]int32, s.g.nodes())
	for i := range s.loc {
		s.loc[i] = -1
	}
	for _, members := range sccs {
		stats.largest = max(stats.largest, len(members))
		if ctx.Err() != nil {
			return cycles, stats, false
		}
		found, ok := s.component(ctx, members)
		cycles = append(cycles, found...)
		if !ok {
			return cycles, stats, false
		}
		stats.searched++
	}
	return cycles, stats, true
}

// component searches one strongly connected component: for each family,
// first among data edges alone, then adding process order, then real-time
// order, reporting at most one cycle per family (the first variant found,
// which implies the later ones).
func (s *searcher) component(ctx context.Context, members []int32) ([]cycle, bool) {
	lg := s.local(members)
	s.limit = min(s.budget, 32*len(lg.adj))
	defer func() {
		for _, v := range members {
			s.loc[v] = -1
		}
	}()
	var (
		found [nFamilies]bool
		out   []cycle
	)
	for _, x := range [...]Kind{0, Process, Process | Realtime} {
		for fam := 0; fam < nFamilies; fam++ {
			if found[fam] || fam == famG2 && found[famSI] {
				continue
			}
			if ctx.Err() != nil {
				return out, false
			}
			var hops []hop
			switch fam {
			case famG0:
				hops = s.anyCycle(lg, WW|x)
			case famG1c:
				hops = s.requiredCycle(lg, WW|WR|x, WR)
			case famSI:
				hops = s.siCycle(lg, WW|WR|x)
			case famG2:
				hops = s.requiredCycle(lg, WW|WR|RW|x, RW)
			}
			if hops == nil {
				continue
			}
			found[fam] = true
			for i := range hops {
				hops[i].from, hops[i].to = members[hops[i].from], members[hops[i].to]
			}
			out = append(out, cycle{kind: classify(hops), hops: hops})
		}
	}
	return out, true
}

// local copies the component's edges into a csr of its own, numbered by
// position in members, so that every later pass over it is proportional
// to the component, not the history.
func (s *searcher) local(members []int32) *csr {
	for i, v := range members {
		s.loc[v] = int32(i)
	}
	lg := &csr{off: make([]int32, len(members)+1)}
	for i, v := range members {
		for _, e := range s.g.out(v) {
			if u := s.loc[edgeTo(e)]; u >= 0 {
				lg.adj = append(lg.adj, pack(0, u, edgeKind(e)))
			}
		}
		lg.off[i+1] = int32(len(lg.adj))
	}
	return lg
}

// anyCycle returns the shortest cycle it finds over edges in mask: one
// breadth-first search from each node of each cyclic component, until
// the budget runs out.
func (s *searcher) anyCycle(lg *csr, mask Kind) []hop {
	sccs := s.tj.run(lg, mask)
	comp := slices.Clone(s.tj.comp)
	var best []hop
	work := 0
	for _, c := range sccs {
		for _, v := range c {
			if best != nil && (work > s.limit || len(best) == 2) {
				return labelled(best, mask)
			}
			if p := s.bf.path(lg, v, v, mask, comp, comp[v], &work); p != nil && (best == nil || len(p) < len(best)) {
				best = p
			}
		}
	}
	return labelled(best, mask)
}

// requiredCycle returns the shortest cycle it finds over edges in mask
// that uses at least one edge of kind req. Such a cycle exists exactly
// when a req edge joins two nodes of one component of the mask subgraph;
// for each such edge u → v, the shortest path back from v to u closes it.
func (s *searcher) requiredCycle(lg *csr, mask, req Kind) []hop {
	sccs := s.tj.run(lg, mask)
	comp := slices.Clone(s.tj.comp)
	var best []hop
	work := 0
	for _, c := range sccs {
		for _, u := range c {
			for _, e := range lg.out(u) {
				v := edgeTo(e)
				if edgeKind(e)&req == 0 || comp[v] != comp[u] {
					continue
				}
				if best != nil && (work > s.limit || len(best) == 2) {
					return best
				}
				p := s.bf.path(lg, v, u, mask, comp, comp[u], &work)
				if p == nil {
					continue // cannot happen inside a component; be safe
				}
				cyc := append([]hop{{from: u, to: v, kind: req, via: -1}}, labelled(p, mask)...)
				if best == nil || len(cyc) < len(best) {
					best = cyc
				}
			}
		}
	}
	return best
}

// labelled gives each hop the one kind in mask that explains it.
func labelled(hops []hop, mask Kind) []hop {
	for i := range hops {
		hops[i].kind = label(hops[i].kind, mask)
		hops[i].via = -1
	}
	return hops
}

// classify names a cycle's class from the kinds of its hops, as Elle's
// cycle explainer does: by the number of rw edges and whether two are
// adjacent, then wr, then ww; with a -realtime or -process suffix when it
// uses those orders.
func classify(hops []hop) string {
	var n [8]int
	adjacent := false
	for i, h := range hops {
		if b := bitIndex(h.kind); b >= 0 {
			n[b]++
		}
		if h.kind == RW && hops[(i+1)%len(hops)].kind == RW {
			adjacent = true
		}
	}
	var kind string
	switch rw := n[bitIndex(RW)]; {
	case rw == 1:
		kind = GSingle
	case rw > 1 && adjacent:
		kind = G2Item
	case rw > 1:
		kind = GNonadjacent
	case n[bitIndex(WR)] > 0:
		kind = G1c
	default:
		kind = G0
	}
	switch {
	case n[bitIndex(Realtime)] > 0:
		kind += RealtimeSuffix
	case n[bitIndex(Process)] > 0:
		kind += ProcessSuffix
	}
	return kind
}
