package elle

import (
	"fmt"
	"slices"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

// findings collects anomalies: every one is counted, the first few of
// each kind are kept with their explanations (rendered only when kept).
type findings struct {
	max    int
	counts map[string]int
	kept   []check.Anomaly
}

func newFindings(max int) *findings {
	return &findings{max: max, counts: map[string]int{}}
}

func (f *findings) add(kind string, render func() check.Anomaly) {
	f.counts[kind]++
	if f.counts[kind] <= f.max {
		an := render()
		an.Kind = kind
		f.kept = append(f.kept, an)
	}
}

// readAnomalies checks every committed transaction on its own and against
// the version orders: reads that are not prefixes of the order
// (incompatible-order), that hold a value twice (duplicate-elements), a
// value nobody appended (garbage-read), a value an aborted transaction
// appended (G1a) or a state in the middle of another transaction (G1b),
// reads inconsistent with the transaction's own earlier operations
// (internal) or showing its own later appends (future-read), and pairs of
// transactions that read the same version and both appended (lost-update).
// It records in mopAux the version each read observed.
func (a *analysis) readAnomalies(f *findings) {
	lost := map[[2]int32][]int32{} // (key, version) → txns, once two collide
	for ti := range a.txns {
		t := &a.txns[ti]
		if t.status != committed {
			continue
		}
		op := &a.h.Ops[t.op]
		for j, m := range op.Txn {
			if m.F == workload.MRead {
				a.checkRead(f, int32(ti), j)
			}
		}
		a.internal(f, int32(ti))
		a.lostUpdates(int32(ti), lost)
	}
	a.reportLost(f, lost)
	a.dirtyUpdates(f)
}

// checkRead judges read j of committed transaction ti.
func (a *analysis) checkRead(f *findings, ti int32, j int) {
	t := &a.txns[ti]
	op := &a.h.Ops[t.op]
	mi := t.mop0 + int32(j)
	k := a.mopKey[mi]
	ks := &a.keys[k]
	r := op.Txn[j].List
	if isPrefix(r, ks.order) {
		v := int32(len(r))
		a.mopAux[mi] = v
		if ks.firstAborted < v {
			a.g1a(f, ti, j, ks.order[ks.firstAborted], ks.writer[ks.firstAborted])
		}
		if ks.firstGarbage < v {
			a.garbage(f, ti, j, ks.order[ks.firstGarbage])
		}
		if ks.firstDup < v {
			a.duplicate(f, ti, j, ks.order[ks.firstDup])
		}
	} else {
		a.incompatible(f, ti, j)
		a.checkElements(f, ti, j)
		if w, ok := a.writeOf[wkey{key: k, val: r[len(r)-1]}]; ok && a.writes[w].pos >= 0 {
			a.mopAux[mi] = a.writes[w].pos + 1
		}
	}
	w := a.lastWriter(k, r, a.mopAux[mi])
	if w >= 0 && a.writes[w].intermediate && a.writes[w].txn != ti {
		a.g1b(f, ti, j, w)
	}
}

// checkElements looks at each element of a read that is not a prefix of
// the version order, so the per-key shortcuts do not apply.
func (a *analysis) checkElements(f *findings, ti int32, j int) {
	m := a.op(ti).Txn[j]
	k := a.mopKey[a.txns[ti].mop0+int32(j)]
	seen := make(map[int64]bool, len(m.List))
	var garbage, dup, abortedDone bool
	for _, e := range m.List {
		if seen[e] && !dup {
			dup = true
			a.duplicate(f, ti, j, e)
		}
		seen[e] = true
		w, ok := a.writeOf[wkey{key: k, val: e}]
		switch {
		case !ok && !garbage:
			garbage = true
			a.garbage(f, ti, j, e)
		case ok && !abortedDone && a.txns[a.writes[w].txn].status == aborted:
			abortedDone = true
			a.g1a(f, ti, j, e, w)
		}
	}
}

func (a *analysis) incompatible(f *findings, ti int32, j int) {
	m := a.op(ti).Txn[j]
	ks := &a.keys[a.mopKey[a.txns[ti].mop0+int32(j)]]
	f.add(IncompatibleOrder, func() check.Anomaly {
		return check.Anomaly{
			Explanation: fmt.Sprintf("%s read key %d as %s, but %s read it as %s; "+
				"the shorter is not a prefix of the longer, so the two reads cannot come from one order of appends",
				a.opName(ti), m.Key, fmtList(m.List), a.opName(ks.orderTxn), fmtList(ks.order)),
			Ops: []int64{a.op(ti).Index, a.op(ks.orderTxn).Index},
			Key: fmt.Sprint(m.Key),
		}
	})
}

func (a *analysis) g1a(f *findings, ti int32, j int, e int64, w int32) {
	m := a.op(ti).Txn[j]
	writer := a.writes[w].txn
	f.add(G1a, func() check.Anomaly {
		return check.Anomaly{
			Explanation: fmt.Sprintf("%s read key %d as %s, which includes %d, appended by %s, which failed (aborted read)",
				a.opName(ti), m.Key, fmtList(m.List), e, a.opName(writer)),
			Ops: []int64{a.op(ti).Index, a.op(writer).Index},
			Key: fmt.Sprint(m.Key),
		}
	})
}

func (a *analysis) g1b(f *findings, ti int32, j int, w int32) {
	m := a.op(ti).Txn[j]
	writer := a.writes[w].txn
	e := m.List[len(m.List)-1]
	f.add(G1b, func() check.Anomaly {
		return check.Anomaly{
			Explanation: fmt.Sprintf("%s read key %d as %s, ending in %d, which %s appended and then appended to again "+
				"in the same transaction: it saw that transaction's intermediate state (intermediate read)",
				a.opName(ti), m.Key, fmtList(m.List), e, a.opName(writer)),
			Ops: []int64{a.op(ti).Index, a.op(writer).Index},
			Key: fmt.Sprint(m.Key),
		}
	})
}

func (a *analysis) garbage(f *findings, ti int32, j int, e int64) {
	m := a.op(ti).Txn[j]
	f.add(GarbageRead, func() check.Anomaly {
		return check.Anomaly{
			Explanation: fmt.Sprintf("%s read key %d as %s, which includes %d, a value no transaction appended to that key",
				a.opName(ti), m.Key, fmtList(m.List), e),
			Ops: []int64{a.op(ti).Index},
			Key: fmt.Sprint(m.Key),
		}
	})
}

func (a *analysis) duplicate(f *findings, ti int32, j int, e int64) {
	m := a.op(ti).Txn[j]
	f.add(DuplicateElements, func() check.Anomaly {
		return check.Anomaly{
			Explanation: fmt.Sprintf("%s read key %d as %s, which holds %d more than once, though it was appended once",
				a.opName(ti), m.Key, fmtList(m.List), e),
			Ops: []int64{a.op(ti).Index},
			Key: fmt.Sprint(m.Key),
		}
	})
}

// internal checks that each read of committed transaction ti reflects the
// transaction's own earlier reads and appends of that key (Cerone et al.'s
// INT axiom), and that no read shows a value the transaction appends only
// later (a future read). One anomaly of each kind per transaction at most.
func (a *analysis) internal(f *findings, ti int32) {
	txn := a.op(ti).Txn
	intDone, futureDone := false, false
	for j, m := range txn {
		if m.F != workload.MRead {
			continue
		}
		if !futureDone {
			for _, later := range txn[j+1:] {
				if later.F == workload.MAppend && later.Key == m.Key && slices.Contains(m.List, later.Value) {
					futureDone = true
					f.add(FutureRead, func() check.Anomaly {
						return check.Anomaly{
							Explanation: fmt.Sprintf("%s read key %d as %s, which includes %d, a value the same transaction appends only afterwards",
								a.opName(ti), m.Key, fmtList(m.List), later.Value),
							Ops: []int64{a.op(ti).Index},
							Key: fmt.Sprint(m.Key),
						}
					})
					break
				}
			}
		}
		if intDone {
			continue
		}
		base, known, suffix := expectedRead(txn, j)
		if ok := matchesExpected(m.List, base, known, suffix); !ok {
			intDone = true
			want := "[… " + fmtElems(suffix) + "]"
			if known {
				want = fmtList(append(slices.Clone(base), suffix...))
			}
			f.add(Internal, func() check.Anomaly {
				return check.Anomaly{
					Explanation: fmt.Sprintf("%s read key %d as %s, but its own earlier operations on that key imply %s",
						a.opName(ti), m.Key, fmtList(m.List), want),
					Ops: []int64{a.op(ti).Index},
					Key: fmt.Sprint(m.Key),
				}
			})
		}
	}
}

// expectedRead works out what read j of txn must return given the
// transaction's earlier micro-ops on the same key: the list of its latest
// earlier read (known) or an unknown prefix, followed by the values it
// appended since.
func expectedRead(txn []workload.Mop, j int) (base []int64, known bool, suffix []int64) {
	k := txn[j].Key
	i := j - 1
	for ; i >= 0; i-- {
		if txn[i].Key == k && txn[i].F == workload.MRead {
			base, known = txn[i].List, true
			break
		}
	}
	for _, m := range txn[i+1 : j] {
		if m.Key == k && m.F == workload.MAppend {
			suffix = append(suffix, m.Value)
		}
	}
	return base, known, suffix
}

func matchesExpected(r, base []int64, known bool, suffix []int64) bool {
	if known {
		return len(r) == len(base)+len(suffix) &&
			slices.Equal(r[:len(base)], base) && slices.Equal(r[len(base):], suffix)
	}
	return len(r) >= len(suffix) && slices.Equal(r[len(r)-len(suffix):], suffix)
}

// lostUpdates notes, for committed transaction ti, each key it read before
// touching it otherwise and then appended to. Two transactions that read
// the same version of a key and both appended to it cannot both have had
// their update take effect on the state they read.
func (a *analysis) lostUpdates(ti int32, lost map[[2]int32][]int32) {
	t := &a.txns[ti]
	txn := a.op(ti).Txn
	for j, m := range txn {
		if m.F != workload.MRead {
			continue
		}
		v := a.mopAux[t.mop0+int32(j)]
		if v < 0 || touched(txn[:j], m.Key) || !appends(txn[j+1:], m.Key) {
			continue
		}
		k := a.mopKey[t.mop0+int32(j)]
		ks := &a.keys[k]
		if ks.lostUpdate == nil {
			ks.lostUpdate = make([]int32, len(ks.order)+1)
			for i := range ks.lostUpdate {
				ks.lostUpdate[i] = -1
			}
		}
		first := ks.lostUpdate[v]
		if first < 0 {
			ks.lostUpdate[v] = ti
			continue
		}
		key := [2]int32{k, v}
		if lost[key] == nil {
			lost[key] = []int32{first}
		}
		lost[key] = append(lost[key], ti)
	}
}

func touched(mops []workload.Mop, key int64) bool {
	for _, m := range mops {
		if m.Key == key {
			return true
		}
	}
	return false
}

func appends(mops []workload.Mop, key int64) bool {
	for _, m := range mops {
		if m.Key == key && m.F == workload.MAppend {
			return true
		}
	}
	return false
}

func (a *analysis) reportLost(f *findings, lost map[[2]int32][]int32) {
	groups := make([][2]int32, 0, len(lost))
	for g := range lost {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(x, y [2]int32) int { return int(lost[x][1]) - int(lost[y][1]) })
	for _, g := range groups {
		txns := lost[g]
		ks := &a.keys[g[0]]
		f.add(LostUpdate, func() check.Anomaly {
			an := check.Anomaly{Key: fmt.Sprint(ks.id)}
			names := ""
			for i, ti := range txns {
				an.Ops = append(an.Ops, a.op(ti).Index)
				switch {
				case i == 0:
				case i == len(txns)-1:
					names += " and "
				default:
					names += ", "
				}
				names += a.opName(ti)
			}
			quant := "all"
			if len(txns) == 2 {
				quant = "both"
			}
			an.Explanation = fmt.Sprintf("%s %s read key %d as %s, then appended to it, and committed: "+
				"each appended to a state another had already replaced, so an update was lost (lost update)",
				names, quant, ks.id, fmtList(ks.order[:g[1]]))
			return an
		})
	}
}

// dirtyUpdates walks each key's version order looking for a committed
// append made right on top of an aborted one (ignoring indeterminate
// appends in between, whose fate is unknown): the committed transaction
// built on state that should never have existed.
func (a *analysis) dirtyUpdates(f *findings) {
	for k := range a.keys {
		ks := &a.keys[k]
		prev := committed // the initial, empty state is committed
		lastAborted := int32(-1)
		for i, w := range ks.writer {
			if w < 0 {
				continue
			}
			st := a.txns[a.writes[w].txn].status
			switch {
			case st == committed && prev == aborted:
				a.dirtyUpdate(f, ks, lastAborted, int32(i))
				prev = committed
			case st == committed:
				prev = committed
			case st == aborted:
				prev = aborted
				lastAborted = int32(i)
			}
		}
	}
}

func (a *analysis) dirtyUpdate(f *findings, ks *keyState, abortedPos, pos int32) {
	bad := a.writes[ks.writer[abortedPos]].txn
	good := a.writes[ks.writer[pos]].txn
	f.add(DirtyUpdate, func() check.Anomaly {
		return check.Anomaly{
			Explanation: fmt.Sprintf("%s appended %d to key %d, which failed, and %s then appended %d on top of it and committed "+
				"(order %s): a committed write built on aborted state (dirty update)",
				a.opName(bad), ks.order[abortedPos], ks.id, a.opName(good), ks.order[pos], fmtList(ks.order[:pos+1])),
			Ops: []int64{a.op(bad).Index, a.op(good).Index},
			Key: fmt.Sprint(ks.id),
		}
	})
}

// opName names a transaction by its history index, as reports quote it.
func (a *analysis) opName(ti int32) string { return fmt.Sprintf("#%d", a.op(ti).Index) }

// fmtList renders a read list, eliding the middle of long ones.
func fmtList(l []int64) string { return "[" + fmtElems(l) + "]" }

func fmtElems(l []int64) string {
	const head, tail = 2, 4
	if len(l) <= head+tail+1 {
		return joinInts(l)
	}
	return fmt.Sprintf("%s … %s (%d values)", joinInts(l[:head]), joinInts(l[len(l)-tail:]), len(l))
}

func joinInts(l []int64) string {
	s := ""
	for i, v := range l {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprint(v)
	}
	return s
}
