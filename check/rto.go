package check

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// RTO measures, for each fault, how long the database took to take writes
// again. Writes are the operations for which workload.Op.IsWrite holds
// (write, cas, ledger-add, transfer, txns with appends); final reads are
// left out.
//
// A fault's RTO runs from its start to its recovery ack: the first
// acknowledged (ok) write invoked at or after the fault's start, after
// which writes keep succeeding. (A write already in flight when the fault
// struck may be acknowledged a moment later, before anything noticed the
// fault; it proves nothing about recovery.) "Keep succeeding" means: every write
// invoked after that ack, and completed before the horizon, is ok or was
// declined (workload.ErrPrecondition or workload.ErrConflict, a
// serialization failure or deadlock: the database answered). The horizon
// is the next fault's start, so that the next fault's damage is not held
// against this one; writes still in flight at the horizon are not judged.
// If writes have not recovered by the next fault's start, the search goes
// on to the horizon after it, and so on up to the load's end, and a note
// says that the RTO covers the later faults too. A fault that never
// recovers has no rto_seconds; recovered is 0 and a note says "not
// recovered by the end of the load".
//
// The other per-fault figures:
//   - longest_write_gap_seconds: the longest stretch without an
//     acknowledged write between the fault's start and its recovery ack (or
//     the load's end, if it never recovered), counting from the fault's
//     start.
//   - throughput_recovery_seconds: from the fault's start to the start of
//     the first of three consecutive 1 s buckets (fewer if the load ends
//     first), aligned on the fault's start, in each of which ok operations
//     of any kind reach 90% of the pre-fault level. The pre-fault level is
//     the ok operations per second over the 10 s before the fault, or the
//     part of them after the previous fault healed; with less than 1 s of
//     such quiet, or no throughput in it, the figure is absent and a note
//     says why.
//
// Verdict: Unknown when the history has no writes; Pass when there are no
// faults; Fail when a fault's RTO exceeds Max, or it did not recover
// within Max of its start; Unknown when a fault did not recover but the
// load ended before Max had passed, or there is no Max. Faults whose
// FaultWindow carries an error are not measured (a note says so); if
// every fault does, the verdict is Unknown.
//
// Whole-run metrics: faults_measured, faults_recovered, max_rto_seconds
// (over the recovered faults).
type RTO struct {
	// Max is the budget for each fault's RTO; zero means none.
	Max time.Duration
}

// Name implements Checker.
func (RTO) Name() string { return "rto" }

// Check implements Checker.
func (c RTO) Check(ctx context.Context, h *workload.History) Result {
	r := Result{Checker: "rto", Metrics: map[string]float64{}}
	ops := loadOps(h)
	tl := newTimeline(ops, completed)
	ws := newWrites(ops)
	if len(ws.all) == 0 {
		r.Verdict, r.Summary = Unknown, "no writes: nothing to measure recovery by"
		return r
	}
	faults, skipped := faultsOf(h, tl.load)
	verdict := Pass
	var worst *recovery
	recovered := 0
	var unrecovered []string
	for i, f := range faults {
		if ctx.Err() != nil {
			r.Verdict, r.Summary = Unknown, "cancelled: "+ctx.Err().Error()
			return r
		}
		rec, fm := measureFault(ws, tl, faults, i)
		if rec.ok {
			recovered++
			if worst == nil || rec.rto > worst.rto {
				worst = &rec
			}
		} else {
			unrecovered = append(unrecovered, faultLabel(f.FaultWindow))
		}
		v, a := c.judge(f, rec, tl.load)
		verdict = Merge(verdict, v)
		if a != nil {
			r.Anomalies = append(r.Anomalies, *a)
		}
		r.Faults = append(r.Faults, fm)
	}
	for _, f := range skipped {
		r.Faults = append(r.Faults, FaultMetrics{Fault: f.ID, Name: f.Name, Metrics: map[string]float64{}, Notes: []string{skippedNote(f)}})
	}
	r.Metrics["faults_measured"] = float64(len(faults))
	r.Metrics["faults_recovered"] = float64(recovered)
	if worst != nil {
		r.Metrics["max_rto_seconds"] = worst.rto.Seconds()
	}
	switch {
	case len(faults) == 0 && len(skipped) > 0:
		r.Verdict, r.Summary = Unknown, fmt.Sprintf("no fault took effect (%d reported errors)", len(skipped))
		return r
	case len(faults) == 0:
		r.Verdict, r.Summary = Pass, "no faults were injected"
		return r
	}
	r.Verdict = verdict
	r.Summary = c.summary(worst, recovered, len(faults), unrecovered)
	return r
}

// measureFault finds faults[i]'s recovery and its figures.
func measureFault(ws writes, tl timeline, faults []timedFault, i int) (recovery, FaultMetrics) {
	f := faults[i]
	rec := ws.recover(faults, i, tl.load)
	fm := FaultMetrics{Fault: f.ID, Name: f.Name, Metrics: map[string]float64{}, Notes: rec.notes}
	fm.Metrics["longest_write_gap_seconds"] = rec.gap.Seconds()
	if tr, note := throughputRecovery(tl, faults, i); note != "" {
		fm.Notes = append(fm.Notes, note)
	} else {
		fm.Metrics["throughput_recovery_seconds"] = tr.Seconds()
	}
	fm.Metrics["recovered"] = 0
	if rec.ok {
		fm.Metrics["recovered"] = 1
		fm.Metrics["rto_seconds"] = rec.rto.Seconds()
	}
	return rec, fm
}

func (c RTO) summary(worst *recovery, recovered, measured int, unrecovered []string) string {
	var parts []string
	if worst != nil {
		parts = append(parts, fmt.Sprintf("worst RTO %s, %s", fmtLatency(worst.rto), faultLabel(worst.fault)))
	}
	parts = append(parts, fmt.Sprintf("%d of %d faults recovered", recovered, measured))
	if len(unrecovered) > 0 {
		parts = append(parts, "not recovered by the end of the load: "+strings.Join(unrecovered, ", "))
	}
	if c.Max > 0 {
		parts = append(parts, "budget "+c.Max.String())
	}
	return strings.Join(parts, "; ")
}

// judge returns the verdict on one fault's recovery and, for a Fail, the
// anomaly that proves it.
func (c RTO) judge(f timedFault, rec recovery, load span) (Verdict, *Anomaly) {
	switch {
	case rec.ok && (c.Max == 0 || rec.rto <= c.Max):
		return Pass, nil
	case rec.ok:
		return Fail, &Anomaly{
			Kind: "rto-exceeded",
			Explanation: fmt.Sprintf("%s started at %s; writes kept succeeding only from write #%d, acknowledged at %s: RTO %s exceeds the budget of %s",
				faultLabel(f.FaultWindow), secs(f.Start), rec.ack.Index, secs(rec.ack.Return), fmtLatency(rec.rto), c.Max),
			Ops: rec.evidence(),
		}
	case c.Max > 0 && load.to-f.Start > c.Max:
		return Fail, &Anomaly{
			Kind: "not-recovered",
			Explanation: fmt.Sprintf("%s started at %s; writes had not recovered when the load ended at %s, %s later, beyond the budget of %s",
				faultLabel(f.FaultWindow), secs(f.Start), secs(load.to), fmtLatency(load.to-f.Start), c.Max),
			Ops: rec.evidence(),
		}
	default:
		return Unknown, nil
	}
}

// writes are a history's write operations, split by outcome and ordered
// by completion.
type writes struct {
	all []workload.Op // every write, by Return
	ok  []workload.Op // acknowledged writes, by Return
	bad []workload.Op // unavailable writes (not ok, not declined), by Return
	// lastBad[i] is the index in bad of the latest-invoked among bad[:i+1].
	lastBad []int
}

func newWrites(ops []workload.Op) writes {
	var ws writes
	for _, o := range ops {
		if o.IsWrite() {
			ws.all = append(ws.all, o)
		}
	}
	sort.SliceStable(ws.all, func(i, j int) bool { return ws.all[i].Return < ws.all[j].Return })
	for _, o := range ws.all {
		switch {
		case o.Type == workload.OK:
			ws.ok = append(ws.ok, o)
		case !o.Declined():
			ws.bad = append(ws.bad, o)
			j := len(ws.bad) - 1
			if j > 0 && ws.bad[ws.lastBad[j-1]].Call > o.Call {
				j = ws.lastBad[j-1]
			}
			ws.lastBad = append(ws.lastBad, j)
		}
	}
	return ws
}

// recovery is what the RTO search found for one fault.
type recovery struct {
	fault workload.FaultWindow
	ok    bool
	ack   workload.Op // the recovery ack, when ok
	rto   time.Duration
	gap   time.Duration
	// lastBad is the latest-invoked unavailable write the ack had to
	// follow, if any.
	lastBad *workload.Op
	notes   []string
}

// evidence lists the operations behind a recovery figure.
func (rec recovery) evidence() []int64 {
	var ops []int64
	if rec.lastBad != nil {
		ops = append(ops, rec.lastBad.Index)
	}
	if rec.ok {
		ops = append(ops, rec.ack.Index)
	}
	return ops
}

// recover finds faults[i]'s recovery ack, horizon by horizon (see RTO).
func (ws writes) recover(faults []timedFault, i int, load span) recovery {
	f := faults[i]
	rec := recovery{fault: f.FaultWindow}
	type horizon struct {
		at    time.Duration
		fault *timedFault // the fault starting at the horizon; nil for the load's end
	}
	var hs []horizon
	for j := range faults {
		if faults[j].Start > f.Start && faults[j].Start < load.to {
			hs = append(hs, horizon{at: faults[j].Start, fault: &faults[j]})
		}
	}
	hs = append(hs, horizon{at: load.to})
	var crossed []string
	for _, h := range hs {
		// Writes completed before the horizon; at the load's end, all.
		doneBefore := func(ops []workload.Op) int {
			if h.fault == nil {
				return len(ops)
			}
			return sort.Search(len(ops), func(k int) bool { return ops[k].Return >= h.at })
		}
		from := f.Start
		rec.lastBad = nil
		if n := doneBefore(ws.bad); n > 0 {
			b := ws.bad[ws.lastBad[n-1]]
			if b.Call > from {
				from, rec.lastBad = b.Call, &b
			}
		}
		k := sort.Search(len(ws.ok), func(k int) bool { return ws.ok[k].Return >= from })
		for n := doneBefore(ws.ok); k < n && ws.ok[k].Call < from; k++ {
		}
		if k < doneBefore(ws.ok) {
			rec.ok, rec.ack, rec.rto = true, ws.ok[k], ws.ok[k].Return-f.Start
			break
		}
		if h.fault != nil {
			crossed = append(crossed, fmt.Sprintf("%s, which started at %s", faultLabel(h.fault.FaultWindow), secs(h.fault.Start)))
		}
	}
	end := load.to
	if rec.ok {
		end = rec.ack.Return
		if len(crossed) > 0 {
			rec.notes = append(rec.notes, "writes had not recovered before "+strings.Join(crossed, " and ")+"; the RTO covers those faults too")
		}
	} else {
		rec.notes = append(rec.notes, fmt.Sprintf("not recovered by the end of the load (%s after the fault started)", fmtLatency(load.to-f.Start)))
	}
	rec.gap = ws.longestGap(f.Start, end)
	return rec
}

// longestGap is the longest stretch in [from, to] without an acknowledged
// write, counting from from.
func (ws writes) longestGap(from, to time.Duration) time.Duration {
	last, gap := from, time.Duration(0)
	k := sort.Search(len(ws.ok), func(k int) bool { return ws.ok[k].Return >= from })
	for ; k < len(ws.ok) && ws.ok[k].Return <= to; k++ {
		gap = max(gap, ws.ok[k].Return-last)
		last = ws.ok[k].Return
	}
	return max(gap, to-last)
}

// Throughput recovery parameters (see RTO).
const (
	preFaultWindow   = 10 * time.Second
	minPreFault      = time.Second
	throughputBucket = time.Second
	sustainBuckets   = 3
	recoveredShare   = 0.9
)

// throughputRecovery measures faults[i]'s throughput recovery (see RTO);
// when it cannot, it returns a note saying why.
func throughputRecovery(tl timeline, faults []timedFault, i int) (time.Duration, string) {
	f := faults[i]
	pre := quietBefore(faults, i, tl.load)
	pre.from = max(pre.from, f.Start-preFaultWindow)
	if pre.to-pre.from < minPreFault {
		return 0, "no throughput recovery: less than 1s of load without faults before this one to measure its level by"
	}
	level := tl.measure(pre).opsPerSecond
	if level == 0 {
		return 0, "no throughput recovery: no ok operations in the 10s before the fault"
	}
	var buckets []float64
	for at := f.Start; at+throughputBucket <= tl.load.to; at += throughputBucket {
		buckets = append(buckets, tl.measure(span{from: at, to: at + throughputBucket}).opsPerSecond)
	}
	for k := range buckets {
		good := true
		for _, b := range buckets[k:min(k+sustainBuckets, len(buckets))] {
			good = good && b >= recoveredShare*level
		}
		if good {
			return time.Duration(k) * throughputBucket, ""
		}
	}
	return 0, fmt.Sprintf("throughput not back to 90%% of its pre-fault level (%.1f ops/s) by the end of the load", level)
}
