package elle

import (
	"fmt"

	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/workload"
)

// status is a transaction's outcome. Info transactions may or may not
// have committed; they join the dependency graph, but only what others
// observed of them gives them outgoing edges.
type status uint8

const (
	committed status = iota
	indeterminate
	aborted
)

func statusOf(t workload.Type) status {
	switch t {
	case workload.OK:
		return committed
	case workload.Fail:
		return aborted
	}
	return indeterminate // info, and invocations that never completed
}

// txn is one list-append transaction of the history.
type txn struct {
	op     int32 // position in History.Ops
	mop0   int32 // position of its first micro-op in analysis.mopKey
	node   int32 // dependency graph node; -1 for aborted transactions
	status status
}

// write is one append: which transaction made it, and where it landed in
// its key's version order.
type write struct {
	txn int32
	key int32
	// pos is the value's position in the key's version order; -1 when no
	// read ever saw it.
	pos int32
	// intermediate: the same transaction appended to the key again later,
	// so this append's state was never meant to be visible.
	intermediate bool
}

type wkey struct {
	key int32
	val int64
}

// keyState is what the history says about one key.
type keyState struct {
	id int64
	// order is the key's version order: its longest committed read (the
	// slice is shared with that read, never written to). Every other read
	// should be a prefix of it.
	order    []int64
	orderTxn int32 // the transaction that read order; -1 if none did
	// writer holds the write index of each element of order; -1 for a
	// value that no transaction appended.
	writer []int32
	// unobserved lists the committed and indeterminate appends that no
	// read saw. They must come after every element of order.
	unobserved []int32
	// The first position in order holding a value appended by an aborted
	// transaction, a value nobody appended, and a repeated value;
	// len(order) when there is none. Any read longer than one of these
	// shows that anomaly.
	firstAborted, firstGarbage, firstDup int32
	// lostUpdate[v] is the first committed transaction that read version
	// v (the prefix of length v) and then appended to the key; allocated
	// when first needed.
	lostUpdate []int32
}

// analysis indexes a history's list-append transactions by integer ids
// and flat slices, so that checking a million transactions allocates a
// few large slices rather than millions of small objects.
type analysis struct {
	h     *workload.History
	txns  []txn
	nodes []int32 // graph node → index into txns
	// mopKey and mopAux run parallel to every micro-operation of every
	// transaction, in order: the key's index in keys, and for an append
	// its write index, for a committed read the version (prefix length)
	// it observed or -1 when that cannot be told.
	mopKey  []int32
	mopAux  []int32
	keys    []keyState
	keyOf   map[int64]int32
	writes  []write
	writeOf map[wkey]int32
	others  int // operations that are not transactions
}

// InputError says the history cannot be checked as list-append at all,
// and shows where.
type InputError struct {
	Op     int64 // Op.Index of the offending operation
	Reason string
}

func (e *InputError) Error() string { return fmt.Sprintf("op #%d: %s", e.Op, e.Reason) }

// analyze indexes h. It fails on histories Elle's inference does not
// apply to: micro-operations other than append and r, and a value
// appended twice to one key (which breaks the link from a value to the
// one write that made it).
func analyze(h *workload.History) (*analysis, error) {
	a := &analysis{h: h, keyOf: map[int64]int32{}}
	ntxn, nmop, nappend := 0, 0, 0
	for i := range h.Ops {
		if h.Ops[i].F != workload.FTxn {
			a.others++
			continue
		}
		ntxn++
		nmop += len(h.Ops[i].Txn)
		for _, m := range h.Ops[i].Txn {
			if m.F == workload.MAppend {
				nappend++
			}
		}
	}
	a.txns = make([]txn, 0, ntxn)
	a.nodes = make([]int32, 0, ntxn)
	a.mopKey = make([]int32, 0, nmop)
	a.mopAux = make([]int32, nmop)
	a.writes = make([]write, 0, nappend)
	a.writeOf = make(map[wkey]int32, nappend)
	for i := range h.Ops {
		if h.Ops[i].F != workload.FTxn {
			continue
		}
		if err := a.addTxn(int32(i)); err != nil {
			return nil, err
		}
	}
	if len(a.nodes) >= maxNodes {
		return nil, fmt.Errorf("%d transactions, more than the %d this checker handles", len(a.nodes), maxNodes-1)
	}
	a.orders()
	return a, nil
}

func (a *analysis) addTxn(opPos int32) error {
	op := &a.h.Ops[opPos]
	ti := int32(len(a.txns))
	t := txn{op: opPos, mop0: int32(len(a.mopKey)), node: -1, status: statusOf(op.Type)}
	if t.status != aborted {
		t.node = int32(len(a.nodes))
		a.nodes = append(a.nodes, ti)
	}
	for j, m := range op.Txn {
		k := a.key(m.Key)
		mi := t.mop0 + int32(j)
		a.mopKey = append(a.mopKey, k)
		a.mopAux[mi] = -1
		switch m.F {
		case workload.MRead:
			if t.status == committed && len(m.List) > len(a.keys[k].order) {
				a.keys[k].order = m.List
				a.keys[k].orderTxn = ti
			}
		case workload.MAppend:
			wk := wkey{key: k, val: m.Value}
			if prev, dup := a.writeOf[wk]; dup {
				return &InputError{Op: op.Index, Reason: fmt.Sprintf(
					"value %d appended to key %d again (first by #%d): appended values must be unique per key",
					m.Value, m.Key, a.h.Ops[a.txns[a.writes[prev].txn].op].Index)}
			}
			w := int32(len(a.writes))
			a.writeOf[wk] = w
			a.mopAux[mi] = w
			a.writes = append(a.writes, write{txn: ti, key: k, pos: -1})
		default:
			return &InputError{Op: op.Index, Reason: fmt.Sprintf("micro-op %q: list-append transactions hold only %q and %q", excerpt.Value(m.F), excerpt.Value(workload.MAppend), excerpt.Value(workload.MRead))}
		}
	}
	// An append followed by another append to the same key in the same
	// transaction wrote an intermediate state.
	for j, m := range op.Txn {
		if m.F != workload.MAppend {
			continue
		}
		for _, later := range op.Txn[j+1:] {
			if later.F == workload.MAppend && later.Key == m.Key {
				a.writes[a.mopAux[t.mop0+int32(j)]].intermediate = true
				break
			}
		}
	}
	a.txns = append(a.txns, t)
	return nil
}

func (a *analysis) key(id int64) int32 {
	if k, ok := a.keyOf[id]; ok {
		return k
	}
	k := int32(len(a.keys))
	a.keyOf[id] = k
	a.keys = append(a.keys, keyState{id: id, orderTxn: -1})
	return k
}

// orders links each key's version order to the writes that made it, and
// collects the writes no read saw.
func (a *analysis) orders() {
	for k := range a.keys {
		ks := &a.keys[k]
		n := int32(len(ks.order))
		ks.firstAborted, ks.firstGarbage, ks.firstDup = n, n, n
		ks.writer = make([]int32, n)
		for i, v := range ks.order {
			w, ok := a.writeOf[wkey{key: int32(k), val: v}]
			if !ok {
				ks.writer[i] = -1
				ks.firstGarbage = min(ks.firstGarbage, int32(i))
				continue
			}
			ks.writer[i] = w
			wr := &a.writes[w]
			if wr.pos >= 0 {
				ks.firstDup = min(ks.firstDup, int32(i))
			} else {
				wr.pos = int32(i)
			}
			if a.txns[wr.txn].status == aborted {
				ks.firstAborted = min(ks.firstAborted, int32(i))
			}
		}
	}
	for w := range a.writes {
		wr := &a.writes[w]
		if wr.pos < 0 && a.txns[wr.txn].status != aborted {
			ks := &a.keys[wr.key]
			ks.unobserved = append(ks.unobserved, int32(w))
		}
	}
}

// op returns the history operation of transaction ti.
func (a *analysis) op(ti int32) *workload.Op { return &a.h.Ops[a.txns[ti].op] }

// nodeOp returns the history operation of graph node n.
func (a *analysis) nodeOp(n int32) *workload.Op { return a.op(a.nodes[n]) }

// writeNode returns the graph node of the transaction that made write w,
// or -1 if there is none or it aborted.
func (a *analysis) writeNode(w int32) int32 {
	if w < 0 {
		return -1
	}
	return a.txns[a.writes[w].txn].node
}

// lastWriter returns the write that produced the last element of a
// committed read of key k, or -1. version is the version the read
// observed (see mopAux): whenever it is known, the last element sits at
// position version-1 of the key's order.
func (a *analysis) lastWriter(k int32, list []int64, version int32) int32 {
	if len(list) == 0 {
		return -1
	}
	if version > 0 {
		return a.keys[k].writer[version-1]
	}
	if w, ok := a.writeOf[wkey{key: k, val: list[len(list)-1]}]; ok {
		return w
	}
	return -1
}

// isPrefix reports whether r is a prefix of l.
func isPrefix(r, l []int64) bool {
	if len(r) > len(l) {
		return false
	}
	if len(r) == 0 || &r[0] == &l[0] {
		return true
	}
	for i, v := range r {
		if l[i] != v {
			return false
		}
	}
	return true
}
