package elle

import "slices"

// siCycle returns a cycle over edges in a (ww, wr and maybe process or
// real-time) plus rw edges in which no two rw edges are adjacent: the
// cycles snapshot isolation forbids (G-single with one rw edge,
// G-nonadjacent with more). It prefers G-single.
//
// Existence is decided exactly on a derived graph E with the edges of a
// plus, for every x →a y →rw z, a composite edge x → z: a cycle of E using
// a composite edge is such a cycle and every such cycle maps to one
// (Cerone & Gotsman characterise snapshot isolation by the acyclicity of
// this relation). When E has such a cycle, gSingle looks for one with a
// single rw edge, and failing that gNonadjacent closes a composite edge
// with a path back over E.
func (s *searcher) siCycle(lg *csr, a Kind) []hop {
	n := int32(lg.nodes())
	e := &csr{off: make([]int32, n+1)}
	for x := int32(0); x < n; x++ {
		for _, ea := range lg.out(x) {
			if edgeKind(ea)&a == 0 {
				continue
			}
			y := edgeTo(ea)
			e.adj = append(e.adj, pack(0, y, edgeKind(ea)&a))
			for _, er := range lg.out(y) {
				if edgeKind(er)&RW == 0 {
					continue
				}
				z := edgeTo(er)
				if z == x {
					// x → y → x: a G-single of two transactions, as short as
					// a cycle gets.
					return []hop{
						{from: x, to: y, kind: label(edgeKind(ea), a), via: -1},
						{from: y, to: x, kind: RW, via: -1},
					}
				}
				e.adj = append(e.adj, pack(y, z, composite))
			}
		}
		e.off[x+1] = int32(len(e.adj))
	}
	sccs := s.tj.run(e, a|composite)
	comp := slices.Clone(s.tj.comp)
	if !hasComposite(e, sccs, comp) {
		return nil
	}
	if best := s.gSingle(lg, a); best != nil {
		return best
	}
	return s.gNonadjacent(lg, e, a, sccs, comp)
}

// gSingle looks for an rw edge y → z whose head reaches its tail over a
// alone (z ⇝ y), which closes a cycle with exactly one rw edge. Which rw
// edges do is worked out for 64 tails at a time with bit sets: walking
// the components of the a subgraph from sinks up, each component's set
// is its own tails plus its successors' sets, so y's bit is in z's
// component's set exactly when z reaches y. Each round is one pass over
// the component; rounds stop when the limit is spent, in which case a
// G-single may go unreported as such (the caller then reports the cycle
// as G-nonadjacent, which snapshot isolation forbids just the same).
func (s *searcher) gSingle(lg *csr, a Kind) []hop {
	s.tj.run(lg, a)
	comp := slices.Clone(s.tj.comp)
	start, byComp := groupByComponent(comp)
	ncomp := int32(len(start) - 1)
	n := int32(lg.nodes())
	bit, tails := rwTails(lg)
	reach := make([]uint64, ncomp)
	var best []hop
	work := 0
	for lo := int32(0); lo < int32(len(tails)); lo += 64 {
		if work > s.limit {
			break
		}
		clear(reach)
		for c := int32(0); c < ncomp; c++ {
			for _, v := range byComp[start[c]:start[c+1]] {
				if b := bit[v] - lo; b >= 0 && b < 64 {
					reach[c] |= 1 << b
				}
				for _, e := range lg.out(v) {
					if edgeKind(e)&a != 0 {
						reach[c] |= reach[comp[edgeTo(e)]]
					}
				}
			}
		}
		work += int(n) + len(lg.adj)
		for _, y := range tails[lo:min(lo+64, int32(len(tails)))] {
			for _, e := range lg.out(y) {
				z := edgeTo(e)
				if edgeKind(e)&RW == 0 || reach[comp[z]]&(1<<(bit[y]-lo)) == 0 {
					continue
				}
				if best != nil && (work > s.limit || len(best) <= 2) {
					return best
				}
				p := s.bf.path(lg, z, y, a, nil, 0, &work)
				if p == nil {
					continue // cannot happen: z reaches y
				}
				cyc := append([]hop{{from: y, to: z, kind: RW, via: -1}}, labelled(p, a)...)
				if best == nil || len(cyc) < len(best) {
					best = cyc
				}
			}
		}
	}
	return best
}

// groupByComponent lists the nodes component by component, in component
// order: those of component c are byComp[start[c]:start[c+1]]. Tarjan
// numbers components in reverse topological order, so sinks come first.
func groupByComponent(comp []int32) (start, byComp []int32) {
	ncomp := int32(0)
	for _, c := range comp {
		ncomp = max(ncomp, c+1)
	}
	start = make([]int32, ncomp+1)
	for _, c := range comp {
		start[c+1]++
	}
	for c := int32(0); c < ncomp; c++ {
		start[c+1] += start[c]
	}
	byComp = make([]int32, len(comp))
	fill := slices.Clone(start[:ncomp])
	for v, c := range comp {
		byComp[fill[c]] = int32(v)
		fill[c]++
	}
	return start, byComp
}

// rwTails numbers the nodes with an outgoing rw edge: bit[v] is v's
// number, or -1, and tails lists them in order.
func rwTails(lg *csr) (bit, tails []int32) {
	n := int32(lg.nodes())
	bit = make([]int32, n)
	for v := int32(0); v < n; v++ {
		bit[v] = -1
		for _, e := range lg.out(v) {
			if edgeKind(e)&RW != 0 {
				bit[v] = int32(len(tails))
				tails = append(tails, v)
				break
			}
		}
	}
	return bit, tails
}

// gNonadjacent closes a composite candidate x →(via y) z with a path back
// over E, expanding every composite edge into its a and rw hops. Each
// component of E that holds a composite edge yields one, so this never
// comes back empty-handed when such a component exists.
func (s *searcher) gNonadjacent(lg, e *csr, a Kind, sccs [][]int32, comp []int32) []hop {
	var best []hop
	work := 0
	for _, c := range sccs {
		for _, x := range c {
			for _, ee := range e.out(x) {
				z := edgeTo(ee)
				if edgeKind(ee)&composite == 0 || comp[z] != comp[x] {
					continue
				}
				if best != nil && work > s.limit {
					return best
				}
				p := s.bf.path(e, z, x, a|composite, comp, comp[x], &work)
				if p == nil {
					continue
				}
				var cyc []hop
				for _, h := range append([]hop{hopOf(x, ee)}, p...) {
					if h.kind&composite == 0 {
						cyc = append(cyc, hop{from: h.from, to: h.to, kind: label(h.kind, a), via: -1})
						continue
					}
					cyc = append(cyc,
						hop{from: h.from, to: h.via, kind: label(kindOf(lg, h.from, h.via), a), via: -1},
						hop{from: h.via, to: h.to, kind: RW, via: -1})
				}
				if best == nil || len(cyc) < len(best) {
					best = cyc
				}
			}
		}
	}
	return best
}

// hasComposite reports whether a composite edge joins two nodes of one
// component of E: whether E has a cycle through one.
func hasComposite(e *csr, sccs [][]int32, comp []int32) bool {
	for _, c := range sccs {
		for _, x := range c {
			for _, ee := range e.out(x) {
				if edgeKind(ee)&composite != 0 && comp[edgeTo(ee)] == comp[x] {
					return true
				}
			}
		}
	}
	return false
}

// kindOf returns the kinds of the edge from → to, or 0.
func kindOf(g *csr, from, to int32) Kind {
	for _, e := range g.out(from) {
		if edgeTo(e) == to {
			return edgeKind(e)
		}
	}
	return 0
}
