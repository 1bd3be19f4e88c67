package check

import (
	"fmt"
	"sort"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// The helpers in this file place a history's operations and faults on its
// timeline. They are shared by the RTO, RPO and Stats checkers so that the
// three agree on what "the load", "during a fault" and "after a fault" mean.

// span is a half-open interval [from, to) on the run's timeline.
type span struct{ from, to time.Duration }

func (s span) empty() bool      { return s.to <= s.from }
func (s span) seconds() float64 { return (s.to - s.from).Seconds() }
func (s span) String() string   { return fmt.Sprintf("[%s, %s)", secs(s.from), secs(s.to)) }

// loadOps returns the operations the workload drove, leaving out the final
// reads made after every fault was healed.
func loadOps(h *workload.History) []workload.Op {
	ops := make([]workload.Op, 0, len(h.Ops))
	for _, o := range h.Ops {
		if !o.Final {
			ops = append(ops, o)
		}
	}
	return ops
}

// loadSpan is the load's extent: from the first invocation to the last
// completion among ops. Its end is inclusive in practice: the last
// completion is counted by windows that end at the load's end (see
// measure). ok is false when there are no operations.
func loadSpan(ops []workload.Op) (s span, ok bool) {
	if len(ops) == 0 {
		return span{}, false
	}
	s = span{from: ops[0].Call, to: ops[0].Return}
	for _, o := range ops {
		s.from = min(s.from, o.Call)
		s.to = max(s.to, o.Return)
	}
	return s, true
}

// timedFault is a fault window with its end resolved: a fault never healed
// (Open, or End zero) lasts until the load ends.
type timedFault struct {
	workload.FaultWindow
	in span
}

// faultsOf splits a history's faults into those that took effect, ordered
// by start, and those whose FaultWindow carries an error. The foundation
// records injection failures (and heal failures) in Error; the checkers
// cannot tell the two apart, so they measure neither and say why in a note.
func faultsOf(h *workload.History, load span) (faults []timedFault, skipped []workload.FaultWindow) {
	for _, f := range h.Faults {
		if f.Error != "" {
			skipped = append(skipped, f)
			continue
		}
		end := f.End
		if f.Open || end < f.Start {
			end = max(load.to, f.Start)
		}
		faults = append(faults, timedFault{FaultWindow: f, in: span{from: f.Start, to: end}})
	}
	sort.SliceStable(faults, func(i, j int) bool { return faults[i].Start < faults[j].Start })
	return faults, skipped
}

// skippedNote is the note a checker attaches to a fault it did not measure.
func skippedNote(f workload.FaultWindow) string {
	return "not measured: the fault reported an error (" + f.Error + ")"
}

// quietBefore is the stretch before faults[i] when no other fault was in
// force: from the latest end of the faults that started earlier (or the
// load's start) to faults[i]'s start. It is empty when an earlier fault was
// still in force.
func quietBefore(faults []timedFault, i int, load span) span {
	s := span{from: load.from, to: faults[i].in.from}
	for j, g := range faults {
		if j != i && g.in.from < faults[i].in.from {
			s.from = max(s.from, g.in.to)
		}
	}
	return s
}

// quietAfter is the stretch after faults[i] healed when no fault was in
// force: from the moment every fault in force at its heal has healed too,
// to the next fault's start (or the load's end).
func quietAfter(faults []timedFault, i int, load span) span {
	from := faults[i].in.to
	for changed := true; changed; {
		changed = false
		for j, g := range faults {
			if j != i && g.in.from < from && g.in.to > from {
				from, changed = g.in.to, true
			}
		}
	}
	s := span{from: from, to: load.to}
	for j, g := range faults {
		if j != i && g.in.from >= from {
			s.to = min(s.to, g.in.from)
		}
	}
	return s
}

// secs formats an offset the way explanations quote times: "12.345s".
func secs(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}

// faultLabel names a fault in words: "fault 2 (kill leader)".
func faultLabel(f workload.FaultWindow) string {
	if f.Name == "" {
		return fmt.Sprintf("fault %d", f.ID)
	}
	return fmt.Sprintf("fault %d (%s)", f.ID, f.Name)
}
