package check

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// RPO finds acknowledged writes missing from the final state, with the
// ledger workload: every ledger-add inserts a unique key, and a final
// ledger-read (Final set, type ok; the last one if there are several)
// lists every key present after every fault was healed.
//
// A lost write is an ok ledger-add whose key is absent from the final
// read. Each lost write is attributed to the fault that lost it: the
// earliest-starting fault that had not yet healed when the write was
// acknowledged, that is the first fault in force at the acknowledgement
// or, failing that, the first to start after it. A write can only be lost
// by a fault it preceded or overlapped; a fault that healed before the
// acknowledgement cannot have lost it. Lost writes acknowledged after
// every fault healed are counted but attributed to none.
//
// Per fault: lost_writes, and rpo_window_seconds, from the earliest lost
// acknowledgement to the fault's start (0 when nothing was lost, or when
// every lost write was acknowledged while the fault was in force). Faults
// whose FaultWindow carries an error are not measured, as for RTO.
//
// Whole-run metrics: acknowledged, lost, unattributed_lost_writes,
// unknown (ledger-adds that ended info), unknown_present (those that turned
// up in the final read: they happened), failed, present (keys in the final
// read), unexpected (keys present that no ledger-add that may have
// happened inserted).
//
// Verdict: Unknown without ledger-adds or without an ok final read; Fail
// when more than MaxLostWrites acknowledged writes were lost, or the final
// read holds a key never inserted, a key whose only inserts failed, or a
// key twice; otherwise Pass.
type RPO struct {
	// MaxLostWrites is how many lost acknowledged writes the run tolerates;
	// negative means any number. The zero value tolerates none.
	MaxLostWrites int
}

// Name implements Checker.
func (RPO) Name() string { return "rpo" }

// maxListed bounds the operations an anomaly lists; the count is in the
// explanation.
const maxListed = 100

// Check implements Checker.
func (c RPO) Check(ctx context.Context, h *workload.History) Result {
	r := Result{Checker: "rpo", Metrics: map[string]float64{}}
	ops := loadOps(h)
	adds, acked := ledgerAdds(ops, r.Metrics)
	if len(adds) == 0 {
		r.Verdict, r.Summary = Unknown, "no ledger writes: nothing to measure RPO by"
		return r
	}
	final, ok := finalLedgerRead(h)
	if !ok {
		r.Verdict, r.Summary = Unknown, "no final read: cannot tell which acknowledged writes survived"
		return r
	}
	present := map[string]int{}
	for _, k := range final.Keys {
		present[k]++
	}
	r.Metrics["present"] = float64(len(present))
	r.Anomalies = c.unexpected(final, present, adds, r.Metrics)
	wrongKeys := len(r.Anomalies) > 0

	var lost []workload.Op
	for _, o := range acked {
		if present[o.Key] == 0 {
			lost = append(lost, o)
		}
	}
	r.Metrics["lost"] = float64(len(lost))
	if ctx.Err() != nil {
		r.Verdict, r.Summary = Unknown, "cancelled: "+ctx.Err().Error()
		return r
	}
	load, _ := loadSpan(ops)
	faults, skipped := faultsOf(h, load)
	byFault, unattributed := attribute(lost, faults)
	r.Metrics["unattributed_lost_writes"] = float64(len(unattributed))
	for _, f := range faults {
		r.Faults = append(r.Faults, rpoOf(f, byFault[f.ID]))
	}
	for _, f := range skipped {
		r.Faults = append(r.Faults, FaultMetrics{Fault: f.ID, Name: f.Name, Metrics: map[string]float64{}, Notes: []string{skippedNote(f)}})
	}
	overBudget := c.MaxLostWrites >= 0 && len(lost) > c.MaxLostWrites
	if overBudget {
		r.Anomalies = append(r.Anomalies, lostAnomalies(faults, byFault, unattributed, final)...)
	}
	r.Verdict = Pass
	if overBudget || wrongKeys {
		r.Verdict = Fail
	}
	r.Summary = c.summary(r.Metrics, faults, byFault, wrongKeys)
	return r
}

// ledgerAdds gathers the ledger inserts by key, and the acknowledged
// ones, counting them by outcome in m.
func ledgerAdds(ops []workload.Op, m map[string]float64) (map[string][]workload.Op, []workload.Op) {
	adds := map[string][]workload.Op{}
	var acked []workload.Op
	for _, o := range ops {
		if o.F != workload.FLedgerAdd {
			continue
		}
		adds[o.Key] = append(adds[o.Key], o)
		switch o.Type {
		case workload.OK:
			acked = append(acked, o)
			m["acknowledged"]++
		case workload.Fail:
			m["failed"]++
		default:
			m["unknown"]++
		}
	}
	return adds, acked
}

// lostAnomalies reports the lost writes, one anomaly per fault that lost
// some and one for those lost after every fault healed.
func lostAnomalies(faults []timedFault, byFault map[int][]workload.Op, unattributed []workload.Op, final workload.Op) []Anomaly {
	var out []Anomaly
	for _, f := range faults {
		if l := byFault[f.ID]; len(l) > 0 {
			out = append(out, lostAnomaly(l, final, "before or during "+faultLabel(f.FaultWindow)+", which started at "+secs(f.Start)))
		}
	}
	if len(unattributed) > 0 {
		out = append(out, lostAnomaly(unattributed, final, "after every fault had healed"))
	}
	return out
}

func (c RPO) summary(m map[string]float64, faults []timedFault, byFault map[int][]workload.Op, other bool) string {
	s := fmt.Sprintf("%d of %d acknowledged writes lost", int(m["lost"]), int(m["acknowledged"]))
	if m["lost"] == 0 {
		s += " (RPO 0)"
	}
	var parts []string
	for _, f := range faults {
		if l := byFault[f.ID]; len(l) > 0 {
			parts = append(parts, fmt.Sprintf("%d by %s, window %s", len(l), faultLabel(f.FaultWindow), fmtLatency(rpoWindow(f, l))))
		}
	}
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, "; ")
	}
	if c.MaxLostWrites >= 0 {
		s += fmt.Sprintf("; budget %d", c.MaxLostWrites)
	}
	if m["unknown_present"] > 0 {
		s += fmt.Sprintf("; %d unknown-outcome writes happened", int(m["unknown_present"]))
	}
	if other {
		s += "; the final read holds keys it should not"
	}
	return s
}

// finalLedgerRead returns the last ok final ledger-read.
func finalLedgerRead(h *workload.History) (workload.Op, bool) {
	var final workload.Op
	found := false
	for _, o := range h.Ops {
		if o.Final && o.F == workload.FLedgerRead && o.Type == workload.OK && (!found || o.Return >= final.Return) {
			final, found = o, true
		}
	}
	return final, found
}

// unexpected returns the anomalies of keys the final read should not hold,
// and counts unknown-outcome inserts that turned up.
func (RPO) unexpected(final workload.Op, present map[string]int, adds map[string][]workload.Op, m map[string]float64) []Anomaly {
	var out []Anomaly
	keys := make([]string, 0, len(present))
	for k := range present {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if n := present[k]; n > 1 {
			out = append(out, Anomaly{Kind: "duplicate-key", Key: k, Ops: []int64{final.Index},
				Explanation: fmt.Sprintf("the final read (#%d) lists %s %d times, but each key is inserted once", final.Index, k, n)})
		}
		var mayHave, info []int64
		var failed []int64
		for _, o := range adds[k] {
			switch o.Type {
			case workload.OK:
				mayHave = append(mayHave, o.Index)
			case workload.Fail:
				failed = append(failed, o.Index)
			default:
				mayHave = append(mayHave, o.Index)
				info = append(info, o.Index)
			}
		}
		switch {
		case len(info) > 0:
			m["unknown_present"]++
			fallthrough
		case len(mayHave) > 0:
			continue
		case len(failed) > 0:
			m["unexpected"]++
			out = append(out, Anomaly{Kind: "failed-write-present", Key: k, Ops: append(failed, final.Index),
				Explanation: fmt.Sprintf("the final read (#%d) holds %s, but its only insert (#%d) failed, which says it certainly did not happen", final.Index, k, failed[0])})
		default:
			m["unexpected"]++
			out = append(out, Anomaly{Kind: "unexpected-key", Key: k, Ops: []int64{final.Index},
				Explanation: fmt.Sprintf("the final read (#%d) holds %s, which no operation inserted", final.Index, k)})
		}
	}
	return out
}

// attribute assigns each lost write to the earliest-starting fault that
// had not healed when it was acknowledged (see RPO).
func attribute(lost []workload.Op, faults []timedFault) (map[int][]workload.Op, []workload.Op) {
	byFault := map[int][]workload.Op{}
	var none []workload.Op
	for _, o := range lost {
		i := firstNotHealed(faults, o.Return)
		if i < 0 {
			none = append(none, o)
			continue
		}
		byFault[faults[i].ID] = append(byFault[faults[i].ID], o)
	}
	return byFault, none
}

// firstNotHealed is the index of the earliest-starting fault whose window
// had not ended at t, or -1. faults are ordered by start.
func firstNotHealed(faults []timedFault, t time.Duration) int {
	for i, f := range faults {
		if f.in.to >= t {
			return i
		}
	}
	return -1
}

// rpoWindow spans from the earliest lost acknowledgement to the fault's
// start; zero when every lost write was acknowledged after it started.
func rpoWindow(f timedFault, lost []workload.Op) time.Duration {
	if len(lost) == 0 {
		return 0
	}
	earliest := lost[0].Return
	for _, o := range lost {
		earliest = min(earliest, o.Return)
	}
	return max(0, f.Start-earliest)
}

func rpoOf(f timedFault, lost []workload.Op) FaultMetrics {
	fm := FaultMetrics{Fault: f.ID, Name: f.Name, Metrics: map[string]float64{
		"lost_writes":        float64(len(lost)),
		"rpo_window_seconds": rpoWindow(f, lost).Seconds(),
	}}
	during := 0
	for _, o := range lost {
		if o.Return >= f.Start {
			during++
		}
	}
	if during > 0 {
		fm.Notes = append(fm.Notes, fmt.Sprintf("%d of the lost writes were acknowledged while the fault was in force", during))
	}
	return fm
}

// lostAnomaly reports acknowledged writes missing from the final read.
func lostAnomaly(lost []workload.Op, final workload.Op, when string) Anomaly {
	sort.Slice(lost, func(i, j int) bool { return lost[i].Return < lost[j].Return })
	ops := make([]int64, 0, min(len(lost), maxListed)+1)
	var keys []string
	for i, o := range lost {
		if i < maxListed {
			ops = append(ops, o.Index)
		}
		if i < 3 {
			keys = append(keys, fmt.Sprintf("%s (#%d, acknowledged at %s)", o.Key, o.Index, secs(o.Return)))
		}
	}
	ops = append(ops, final.Index)
	more := ""
	if len(lost) > len(keys) {
		more = fmt.Sprintf(" and %d more", len(lost)-len(keys))
	}
	listed := ""
	if len(lost) > maxListed {
		listed = fmt.Sprintf(" (the first %d are listed)", maxListed)
	}
	return Anomaly{
		Kind: "lost-write",
		Explanation: fmt.Sprintf("%d acknowledged writes are missing from the final read (#%d at %s): %s%s, acknowledged between %s and %s, %s%s",
			len(lost), final.Index, secs(final.Return), strings.Join(keys, ", "), more,
			secs(lost[0].Return), secs(lost[len(lost)-1].Return), when, listed),
		Ops: ops,
	}
}
