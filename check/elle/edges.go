package elle

import (
	"cmp"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// graph builds the dependency graph over committed and indeterminate
// transactions (Adya's direct serialization graph, inferred as in Elle):
//
//   - ww: the append at position i of a key's order depends on the writer
//     of position i-1; an append no read saw comes after the whole order,
//     so it depends on the writer of the order's last element.
//   - wr: a read depends on the writer of its last element.
//   - rw: a read of version v (the first v values) is overwritten by the
//     writer of position v; a read of the whole order by every append no
//     read saw.
//   - process: each operation depends on its process's previous committed
//     one.
//   - realtime: each operation depends on every committed one that
//     completed before it was invoked (the transitive reduction of that
//     order, which keeps the edge count near n × concurrency).
//
// Only what others observed of an indeterminate transaction gives it
// outgoing edges: its reads are not trusted and, since it may have taken
// effect at any time after its invocation, it has no process or real-time
// successors. Edges never join a transaction to itself.
func (a *analysis) graph() (*csr, [8]int) {
	var l edgeList
	// A data edge or two per micro-op and a process edge per node;
	// realtimeEdges grows the list by exactly what it needs.
	l.e = make([]uint64, 0, 2*len(a.mopKey)+len(a.nodes))
	order := a.byCall()
	a.readEdges(&l)
	a.writeEdges(&l)
	a.processEdges(&l, order)
	a.realtimeEdges(&l, order)
	counts := l.counts
	return l.build(len(a.nodes)), counts
}

func (a *analysis) readEdges(l *edgeList) {
	for ti := range a.txns {
		t := &a.txns[ti]
		if t.status != committed {
			continue
		}
		r := t.node
		for j, m := range a.h.Ops[t.op].Txn {
			if m.F != workload.MRead {
				continue
			}
			mi := t.mop0 + int32(j)
			k := a.mopKey[mi]
			v := a.mopAux[mi]
			if w := a.writeNode(a.lastWriter(k, m.List, v)); w >= 0 && w != r {
				l.add(w, r, WR)
			}
			if v < 0 {
				continue
			}
			ks := &a.keys[k]
			if int(v) < len(ks.order) {
				if w := a.writeNode(ks.writer[v]); w >= 0 && w != r {
					l.add(r, w, RW)
				}
				continue
			}
			for _, uw := range ks.unobserved {
				if w := a.writeNode(uw); w != r {
					l.add(r, w, RW)
				}
			}
		}
	}
}

func (a *analysis) writeEdges(l *edgeList) {
	for wi := range a.writes {
		w := &a.writes[wi]
		n := a.txns[w.txn].node
		if n < 0 {
			continue
		}
		ks := &a.keys[w.key]
		prev := int32(-1)
		switch {
		case w.pos > 0:
			prev = ks.writer[w.pos-1]
		case w.pos < 0 && len(ks.order) > 0:
			prev = ks.writer[len(ks.order)-1]
		}
		if p := a.writeNode(prev); p >= 0 && p != n {
			l.add(p, n, WW)
		}
	}
}

func (a *analysis) processEdges(l *edgeList, order []int32) {
	last := map[int]int32{} // process → its latest committed node
	for _, n := range order {
		op := a.nodeOp(n)
		if p, ok := last[op.Process]; ok {
			l.add(p, n, Process)
		}
		if a.txns[a.nodes[n]].status == committed {
			last[op.Process] = n
		}
	}
}

// realtimeEdges adds the real-time edges; it sweeps twice, first to count
// them, so that the edge list grows once, to its final size.
func (a *analysis) realtimeEdges(l *edgeList, order []int32) {
	completions := make([]completion, 0, len(a.nodes))
	for n := range a.nodes {
		if a.txns[a.nodes[n]].status == committed {
			completions = append(completions, completion{at: a.nodeOp(int32(n)).Return, node: int32(n)})
		}
	}
	slices.SortStableFunc(completions, func(x, y completion) int { return cmp.Compare(x.at, y.at) })
	seen := make([]int32, len(a.nodes))
	n := 0
	a.realtimeSweep(order, completions, seen, func(from, to int32) { n++ })
	l.e = slices.Grow(l.e, n)
	a.realtimeSweep(order, completions, seen, func(from, to int32) { l.add(from, to, Realtime) })
}

type completion struct {
	at   time.Duration
	node int32
}

// realtimeSweep goes through invocations (order) and completions in time
// order keeping a frontier: the completed transactions no
// later-completed one is known to follow. An invocation depends on the
// whole frontier; a completion removes from the frontier everything its
// transaction depends on (what completed before it was invoked) and joins
// it. seen is scratch space, one entry per node.
func (a *analysis) realtimeSweep(order []int32, completions []completion, seen []int32, emit func(from, to int32)) {
	type member struct{ node, seq int32 }
	var (
		frontier []member
		ci       int
	)
	for _, n := range order {
		call := a.nodeOp(n).Call
		// Strictly before: an operation that returns at the instant
		// another is invoked is concurrent with it.
		for ci < len(completions) && completions[ci].at < call {
			c := completions[ci]
			before := seen[c.node]
			kept := frontier[:0]
			for _, m := range frontier {
				if m.seq >= before {
					kept = append(kept, m)
				}
			}
			frontier = append(kept, member{node: c.node, seq: int32(ci)})
			ci++
		}
		seen[n] = int32(ci)
		for _, m := range frontier {
			emit(m.node, n)
		}
	}
}

// byCall returns the graph's nodes in invocation order. Histories read
// from disk are already sorted by call time, so this is usually the
// identity.
func (a *analysis) byCall() []int32 {
	order := make([]int32, len(a.nodes))
	sorted := true
	for n := range order {
		order[n] = int32(n)
		if n > 0 && a.nodeOp(int32(n)).Call < a.nodeOp(int32(n-1)).Call {
			sorted = false
		}
	}
	if !sorted {
		slices.SortStableFunc(order, func(x, y int32) int { return cmp.Compare(a.nodeOp(x).Call, a.nodeOp(y).Call) })
	}
	return order
}
