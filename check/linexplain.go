package check

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline-dev/faultline/workload"
)

// Porcupine says whether a key's history is linearizable, not why not.
// explainIllegal looks for the simplest proof a database engineer would
// accept, from the patterns below, each sound on its own when every value
// is written at most once (the register workload writes unique values;
// values written twice are left out of the patterns that rely on it):
//
//   - never-written: a read returned a value no write or cas (that may have
//     happened) wrote;
//   - future-read: a read returned a value whose only writes began after
//     the read had completed;
//   - stale-read: a read returned a value that a later write had already
//     overwritten before the read began;
//   - read-inversion: a read returned a value older than one an earlier,
//     completed read had returned.
//
// An ok cas counts as a read of its Prev. Of the proofs found, the one
// whose read completed first is reported. When none applies, the
// explanation falls back to porcupine's longest consistent order and the
// operations that cannot follow it, if porcupine's detailed search
// finished (detailed).
func explainIllegal(k keyHistory, info porcupine.LinearizationInfo, detailed bool) Anomaly {
	e := newExplainer(k)
	var best *proof
	for _, find := range []func(observation) *proof{e.neverWritten, e.futureRead, e.staleRead, e.inversion} {
		for _, ob := range e.obs {
			if p := find(ob); p != nil {
				if best == nil || p.at < best.at {
					best = p
				}
				break
			}
		}
	}
	switch {
	case best == nil && detailed:
		best = e.fromPorcupine(info)
	case best == nil:
		best = &proof{kind: "nonlinearizable", text: fmt.Sprintf(
			"porcupine found no order of the %d operations on %s consistent with a register; its detailed search, which shows the longest consistent order, did not finish in time",
			len(k.ops), k.key)}
	}
	return Anomaly{Kind: best.kind, Key: k.key, Explanation: best.text, Ops: best.ops}
}

// proof is one explanation, dated by when its offending read completed.
type proof struct {
	kind string
	at   time.Duration
	text string
	ops  []int64
}

// observation is an operation that saw the register's value: an ok read,
// or an ok cas (which saw its Prev).
type observation struct {
	op   workload.Op
	seen regState
}

func (ob observation) String() string {
	if ob.op.F == workload.FCAS {
		return fmt.Sprintf("cas #%d on %s (%s→%s) found %s in [%s, %s]", ob.op.Index, ob.op.Key,
			stateOf(ob.op.Prev), stateOf(ob.op.Value), ob.seen, secs(ob.op.Call), secs(ob.op.Return))
	}
	if !ob.seen.set {
		return fmt.Sprintf("read #%d of %s found it absent in [%s, %s]", ob.op.Index, ob.op.Key, secs(ob.op.Call), secs(ob.op.Return))
	}
	return fmt.Sprintf("read #%d of %s returned %s in [%s, %s]", ob.op.Index, ob.op.Key, ob.seen, secs(ob.op.Call), secs(ob.op.Return))
}

type explainer struct {
	k   keyHistory
	obs []observation // by Call
	// writers of each value that may have happened (ok or info).
	writers map[int64][]workload.Op
	// deletes is set when some write stores absent, which the patterns
	// about absent values do not model.
	deletes  bool
	okByCall []workload.Op // ok writes and cas, by Call
	sufMin   []int         // sufMin[i]: index in okByCall of the earliest Return among okByCall[i:]
	obsByRet []observation
	preMax   []int // preMax[i]: index in obsByRet of the latest writer call among obsByRet[:i+1]
}

func newExplainer(k keyHistory) *explainer {
	e := &explainer{k: k, writers: map[int64][]workload.Op{}}
	for _, o := range k.ops {
		switch {
		case o.F == workload.FRead:
			e.obs = append(e.obs, observation{op: o, seen: stateOf(o.Value)})
		case o.F == workload.FCAS && o.Type == workload.OK:
			e.obs = append(e.obs, observation{op: o, seen: stateOf(o.Prev)})
		}
		if o.F == workload.FWrite || o.F == workload.FCAS {
			if o.Value == nil {
				e.deletes = true
			} else {
				e.writers[*o.Value] = append(e.writers[*o.Value], o)
			}
			if o.Type == workload.OK {
				e.okByCall = append(e.okByCall, o)
			}
		}
	}
	sort.SliceStable(e.obs, func(i, j int) bool { return e.obs[i].op.Call < e.obs[j].op.Call })
	sort.SliceStable(e.okByCall, func(i, j int) bool { return e.okByCall[i].Call < e.okByCall[j].Call })
	e.sufMin = make([]int, len(e.okByCall))
	for i := len(e.okByCall) - 1; i >= 0; i-- {
		e.sufMin[i] = i
		if i+1 < len(e.okByCall) && e.okByCall[e.sufMin[i+1]].Return < e.okByCall[i].Return {
			e.sufMin[i] = e.sufMin[i+1]
		}
	}
	e.obsByRet = append([]observation(nil), e.obs...)
	sort.SliceStable(e.obsByRet, func(i, j int) bool { return e.obsByRet[i].op.Return < e.obsByRet[j].op.Return })
	e.preMax = make([]int, len(e.obsByRet))
	for i := range e.obsByRet {
		e.preMax[i] = i
		if i > 0 {
			if prev := e.preMax[i-1]; e.writerCall(e.obsByRet[prev].seen) > e.writerCall(e.obsByRet[i].seen) {
				e.preMax[i] = prev
			}
		}
	}
	return e
}

// writerCall is the earliest call of a write of v: v cannot have been in
// the register before it. Absent, or a value never written, is -1.
func (e *explainer) writerCall(v regState) time.Duration {
	ws := e.writers[v.v]
	if !v.set || len(ws) == 0 {
		return -1
	}
	c := ws[0].Call
	for _, w := range ws {
		c = min(c, w.Call)
	}
	return c
}

// settledBy returns the write that put v in the register and had surely
// done so by its Return, when there is exactly one such write and it was
// ok; for absent (no write yet) it returns a zero op with Return -1.
func (e *explainer) settledBy(v regState) (workload.Op, bool) {
	if !v.set {
		return workload.Op{Return: -1}, !e.deletes
	}
	ws := e.writers[v.v]
	if len(ws) != 1 || ws[0].Type != workload.OK {
		return workload.Op{}, false
	}
	return ws[0], true
}

func (e *explainer) neverWritten(ob observation) *proof {
	if !ob.seen.set || len(e.writers[ob.seen.v]) > 0 {
		return nil
	}
	return &proof{kind: "never-written", at: ob.op.Return, ops: []int64{ob.op.Index},
		text: fmt.Sprintf("%s, but no write or cas of %s that may have happened (ok or info) ever wrote it", ob, ob.seen)}
}

func (e *explainer) futureRead(ob observation) *proof {
	c := e.writerCall(ob.seen)
	if c < 0 || c <= ob.op.Return {
		return nil
	}
	w := e.writers[ob.seen.v][0]
	for _, x := range e.writers[ob.seen.v] {
		if x.Call < w.Call {
			w = x
		}
	}
	return &proof{kind: "future-read", at: ob.op.Return, ops: []int64{ob.op.Index, w.Index},
		text: fmt.Sprintf("%s, but the first write of %s (#%d) was invoked only at %s, after the read had completed", ob, ob.seen, w.Index, secs(w.Call))}
}

func (e *explainer) staleRead(ob observation) *proof {
	src, ok := e.settledBy(ob.seen)
	if !ok {
		return nil
	}
	i := sort.Search(len(e.okByCall), func(i int) bool { return e.okByCall[i].Call > src.Return })
	if i == len(e.okByCall) {
		return nil
	}
	w := e.okByCall[e.sufMin[i]]
	if w.Return >= ob.op.Call {
		return nil
	}
	var text string
	if !ob.seen.set {
		text = fmt.Sprintf("%s, but %s #%d of %s had completed at %s, before the read began, and nothing deletes",
			ob, w.F, w.Index, stateOf(w.Value), secs(w.Return))
		return &proof{kind: "stale-read", at: ob.op.Return, ops: []int64{ob.op.Index, w.Index}, text: text}
	}
	text = fmt.Sprintf("%s, but %s was overwritten by %s #%d of %s, invoked at %s after the write of %s (#%d) had completed at %s, and completed at %s, before the read began",
		ob, ob.seen, w.F, w.Index, stateOf(w.Value), secs(w.Call), ob.seen, src.Index, secs(src.Return), secs(w.Return))
	return &proof{kind: "stale-read", at: ob.op.Return, ops: []int64{src.Index, w.Index, ob.op.Index}, text: text}
}

func (e *explainer) inversion(ob observation) *proof {
	src, ok := e.settledBy(ob.seen)
	if !ok {
		return nil
	}
	n := sort.Search(len(e.obsByRet), func(i int) bool { return e.obsByRet[i].op.Return >= ob.op.Call })
	if n == 0 {
		return nil
	}
	earlier := e.obsByRet[e.preMax[n-1]]
	newer := e.writerCall(earlier.seen)
	if newer < 0 || newer <= src.Return {
		return nil
	}
	ops := []int64{earlier.op.Index, ob.op.Index}
	text := fmt.Sprintf("%s, but %s, which completed before it began, and nothing deletes: the register went back in time", ob, earlier)
	if ob.seen.set {
		ops = append(ops, src.Index)
		text = fmt.Sprintf("%s, but %s, which completed before it began; %s was first written at %s, after the write of %s (#%d) had completed at %s: the register went back in time",
			ob, earlier, earlier.seen, secs(newer), ob.seen, src.Index, secs(src.Return))
	}
	return &proof{kind: "read-inversion", at: ob.op.Return, ops: ops, text: text}
}

// fromPorcupine explains from porcupine's longest consistent order: the
// register's value after it, and the operations that could come next but
// do not fit.
func (e *explainer) fromPorcupine(info porcupine.LinearizationInfo) *proof {
	ops := e.k.ops
	var longest []int
	if parts := info.PartialLinearizations(); len(parts) > 0 {
		for _, l := range parts[0] {
			if len(l) > len(longest) {
				longest = l
			}
		}
	}
	state := regState{}
	placed := make([]bool, len(ops))
	setter := -1 // the operation in the order that left the register as it is
	for _, id := range longest {
		in := e.k.porc[id].Input.(regInput)
		_, next := stepRegister(state, in, e.k.porc[id].Output.(regState))
		if in.f != workload.FRead && next != state {
			setter = id
		}
		state = next
		placed[id] = true
	}
	// The operations that could come next are those invoked before the
	// earliest return among the rest.
	first := time.Duration(1<<63 - 1)
	for id, p := range e.k.porc {
		if !placed[id] {
			first = min(first, time.Duration(p.Return))
		}
	}
	var next []string
	var idx []int64
	for id, p := range e.k.porc {
		if placed[id] || time.Duration(p.Call) > first {
			continue
		}
		if ok, _ := stepRegister(state, p.Input.(regInput), p.Output.(regState)); ok {
			continue
		}
		if len(idx) < 10 {
			next = append(next, fmt.Sprintf("#%d %s", ops[id].Index, describeRegister(p.Input.(regInput), p.Output.(regState))))
		}
		idx = append(idx, ops[id].Index)
	}
	text := fmt.Sprintf("no order of the %d operations on %s is consistent with a register: the longest consistent order porcupine found places %d of them and leaves the register %s",
		len(ops), e.k.key, len(longest), holding(state))
	if setter >= 0 {
		text += fmt.Sprintf(" (after #%d %s)", ops[setter].Index, describeRegister(e.k.porc[setter].Input.(regInput), e.k.porc[setter].Output.(regState)))
		idx = append([]int64{ops[setter].Index}, idx...)
	}
	if len(next) > 0 {
		text += ", which none of the operations that could come next accepts: " + strings.Join(next, "; ")
	}
	return &proof{kind: "nonlinearizable", ops: idx, text: text}
}

func holding(s regState) string {
	if !s.set {
		return "absent"
	}
	return "holding " + s.String()
}
