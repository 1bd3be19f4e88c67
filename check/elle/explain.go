package elle

import (
	"fmt"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

// explainCycle renders a cycle as the evidence for each of its edges,
// quoting the reads and appends that imply it, in the words of Elle's
// explanations.
func (a *analysis) explainCycle(c cycle) check.Anomaly {
	// Start from the earliest transaction, so that T1 is the oldest.
	first := 0
	for i, h := range c.hops {
		if a.nodeOp(h.from).Index < a.nodeOp(c.hops[first].from).Index {
			first = i
		}
	}
	c.hops = append(c.hops[first:len(c.hops):len(c.hops)], c.hops[:first]...)
	names := map[int32]string{}
	an := check.Anomaly{Kind: c.kind}
	for _, h := range c.hops {
		if _, ok := names[h.from]; ok {
			continue
		}
		names[h.from] = fmt.Sprintf("T%d (#%d)", len(names)+1, a.nodeOp(h.from).Index)
		an.Ops = append(an.Ops, a.nodeOp(h.from).Index)
	}
	steps := make([]string, len(c.hops))
	for i, h := range c.hops {
		steps[i] = a.explainHop(h, names)
	}
	an.Explanation = fmt.Sprintf("%s. So %s is a cycle %s",
		strings.Join(steps, "; "), cycleNames(c.hops, names), conclusion(c))
	return an
}

func cycleNames(hops []hop, names map[int32]string) string {
	var b strings.Builder
	for _, h := range hops {
		b.WriteString(strings.Fields(names[h.from])[0])
		b.WriteString(" → ")
	}
	b.WriteString(strings.Fields(names[hops[0].from])[0])
	return b.String()
}

func conclusion(c cycle) string {
	rw := 0
	for _, h := range c.hops {
		if h.kind == RW {
			rw++
		}
	}
	base, _, realtime := strings.Cut(c.kind, RealtimeSuffix)
	base, _, process := strings.Cut(base, ProcessSuffix)
	var shape, judgement string
	switch base {
	case G0:
		shape = "of write dependencies alone (the transactions' appends interleave)"
		judgement = "even read uncommitted forbids it"
	case G1c:
		shape = "of write and read dependencies (information flowed in a circle)"
		judgement = "read committed forbids it"
	case GSingle:
		shape = "with exactly one anti-dependency (rw): a transaction missed a write it must have followed (read skew)"
		judgement = "snapshot isolation forbids it"
	case GNonadjacent:
		shape = fmt.Sprintf("with %d anti-dependencies (rw), no two adjacent", rw)
		judgement = "snapshot isolation forbids it"
	case G2Item:
		shape = fmt.Sprintf("with %d anti-dependencies (rw), two of them adjacent (write skew)", rw)
		judgement = "snapshot isolation allows it, serializability does not"
	}
	switch {
	case realtime:
		judgement = "it needs real-time order to close, so it rules out strict serializability, not serializability"
	case process:
		judgement = "it needs the order of a process's operations to close, so it rules out strict serializability, not serializability"
	}
	return shape + "; " + judgement + "."
}

func (a *analysis) explainHop(h hop, names map[int32]string) string {
	from, to := names[h.from], names[h.to]
	switch h.kind {
	case WW:
		if k, prev, v, observed, ok := a.wwEvidence(h.from, h.to); ok {
			if observed {
				return fmt.Sprintf("%s appended %d to key %d right after %s appended %d (ww)", to, v, k, from, prev)
			}
			return fmt.Sprintf("%s appended %d to key %d, which no read saw, so after %s's append of %d, the last value reads saw (ww)",
				to, v, k, from, prev)
		}
	case WR:
		if k, list, ok := a.wrEvidence(h.from, h.to); ok {
			return fmt.Sprintf("%s read key %d as %s, seeing %s's append of %d (wr)", to, k, fmtList(list), from, list[len(list)-1])
		}
	case RW:
		if k, list, v, observed, ok := a.rwEvidence(h.from, h.to); ok {
			if observed {
				return fmt.Sprintf("%s read key %d as %s, missing %d, which %s appended next (rw)", from, k, fmtList(list), v, to)
			}
			return fmt.Sprintf("%s read key %d as %s, the longest version any read saw, missing %d, which %s appended after it (rw)",
				from, k, fmtList(list), v, to)
		}
	case Process:
		return fmt.Sprintf("%s completed before %s, the next operation of process %d (process)", from, to, a.nodeOp(h.from).Process)
	case Realtime:
		return fmt.Sprintf("%s completed at %s, before %s was invoked at %s (realtime)",
			from, seconds(a.nodeOp(h.from).Return), to, seconds(a.nodeOp(h.to).Call))
	}
	return fmt.Sprintf("%s precedes %s (%s)", from, to, h.kind)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }

// wwEvidence finds the append of node to that directly follows one of
// node from's in some key's version order.
func (a *analysis) wwEvidence(from, to int32) (key, prev, v int64, observed, ok bool) {
	ti := a.nodes[to]
	t := &a.txns[ti]
	for j, m := range a.op(ti).Txn {
		if m.F != workload.MAppend {
			continue
		}
		w := &a.writes[a.mopAux[t.mop0+int32(j)]]
		ks := &a.keys[w.key]
		pi := int32(-1)
		switch {
		case w.pos > 0:
			pi = w.pos - 1
		case w.pos < 0 && len(ks.order) > 0:
			pi = int32(len(ks.order)) - 1
		}
		if pi >= 0 && a.writeNode(ks.writer[pi]) == from {
			return ks.id, ks.order[pi], m.Value, w.pos >= 0, true
		}
	}
	return 0, 0, 0, false, false
}

// wrEvidence finds node to's read whose last element node from appended.
func (a *analysis) wrEvidence(from, to int32) (key int64, list []int64, ok bool) {
	ti := a.nodes[to]
	t := &a.txns[ti]
	for j, m := range a.op(ti).Txn {
		if m.F != workload.MRead || len(m.List) == 0 {
			continue
		}
		mi := t.mop0 + int32(j)
		if a.writeNode(a.lastWriter(a.mopKey[mi], m.List, a.mopAux[mi])) == from {
			return m.Key, m.List, true
		}
	}
	return 0, nil, false
}

// rwEvidence finds node from's read of a version that node to's append
// overwrote.
func (a *analysis) rwEvidence(from, to int32) (key int64, list []int64, v int64, observed, ok bool) {
	ti := a.nodes[from]
	t := &a.txns[ti]
	for j, m := range a.op(ti).Txn {
		mi := t.mop0 + int32(j)
		ver := a.mopAux[mi]
		if m.F != workload.MRead || ver < 0 {
			continue
		}
		ks := &a.keys[a.mopKey[mi]]
		if int(ver) < len(ks.order) {
			if a.writeNode(ks.writer[ver]) == to {
				return m.Key, m.List, ks.order[ver], true, true
			}
			continue
		}
		for _, uw := range ks.unobserved {
			if a.writeNode(uw) == to {
				return m.Key, m.List, a.writeValue(uw), false, true
			}
		}
	}
	return 0, nil, 0, false, false
}

// writeValue returns the value write w appended.
func (a *analysis) writeValue(w int32) int64 {
	t := &a.txns[a.writes[w].txn]
	for j, m := range a.h.Ops[t.op].Txn {
		if a.mopAux[t.mop0+int32(j)] == w && m.F == workload.MAppend {
			return m.Value
		}
	}
	return 0
}
