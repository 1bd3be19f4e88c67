package check

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// Stats describes how the load went: throughput, latency and errors over
// the whole run and before, during and after each fault. It judges
// nothing (Budget does), so its verdict is Pass unless the history has no
// operations to describe (Unknown).
//
// Every figure counts an operation in the window its start falls in
// (Op.Start: its intended start under open-loop load, its call otherwise)
// and leaves out the final reads. An operation meant to start while a
// primary was paused belongs to the fault however late it completed, so
// the "during" latencies carry the wait the fault imposed, as a real
// client population would see it, and the "after" figures are not
// inflated by a backlog the fault left. Throughput is ok operations per second
// of window; latencies are those of ok operations, as nearest-rank
// percentiles; errors are fail and info operations other than declined
// ones (workload.ErrPrecondition, workload.ErrConflict), which the
// database answered.
//
// The windows of a fault are: before, from the latest heal of the faults
// that started earlier (or the load's start) to the fault's start; during,
// from its start to its heal (or the load's end if it was never healed);
// after, from the moment it and every fault in force at its heal have
// healed to the next fault's start (or the load's end). A window that is
// empty (faults overlapped) has no figures and a note says so.
//
// Whole-run metrics: ops, ok, fail, info, errors, load_seconds,
// ops_per_second, p50_seconds, p99_seconds, max_latency_seconds. Per
// fault: {before,during,after}_ops_per_second, _p50_seconds, _p99_seconds,
// _errors.
type Stats struct{}

// Name implements Checker.
func (Stats) Name() string { return "stats" }

// Check implements Checker.
func (Stats) Check(ctx context.Context, h *workload.History) Result {
	r := Result{Checker: "stats"}
	tl := newTimeline(loadOps(h), started)
	if !tl.ok {
		r.Verdict, r.Summary = Unknown, "no operations to describe"
		return r
	}
	whole := tl.measure(tl.load)
	r.Metrics = map[string]float64{
		"ops":                 float64(tl.counts.ops),
		"ok":                  float64(tl.counts.ok),
		"fail":                float64(tl.counts.fail),
		"info":                float64(tl.counts.info),
		"errors":              float64(whole.errors),
		"load_seconds":        tl.load.seconds(),
		"ops_per_second":      whole.opsPerSecond,
		"p50_seconds":         whole.p50.Seconds(),
		"p99_seconds":         whole.p99.Seconds(),
		"max_latency_seconds": whole.max.Seconds(),
	}
	faults, skipped := faultsOf(h, tl.load)
	for i := range faults {
		if ctx.Err() != nil {
			r.Verdict, r.Summary = Unknown, "cancelled: "+ctx.Err().Error()
			return r
		}
		r.Faults = append(r.Faults, tl.phases(faults, i))
	}
	for _, f := range skipped {
		r.Faults = append(r.Faults, FaultMetrics{Fault: f.ID, Name: f.Name, Metrics: map[string]float64{}, Notes: []string{skippedNote(f)}})
	}
	r.Verdict = Pass
	r.Summary = fmt.Sprintf("%d ops over %.1fs: %.1f ok ops/s, p50 %s, p99 %s, %d errors",
		tl.counts.ops, tl.load.seconds(), whole.opsPerSecond, fmtLatency(whole.p50), fmtLatency(whole.p99), whole.errors)
	return r
}

// phases measures the load before, during and after faults[i].
func (tl timeline) phases(faults []timedFault, i int) FaultMetrics {
	f := faults[i]
	fm := FaultMetrics{Fault: f.ID, Name: f.Name, Metrics: map[string]float64{}}
	phases := []struct {
		name string
		in   span
	}{
		{"before", quietBefore(faults, i, tl.load)},
		{"during", f.in},
		{"after", quietAfter(faults, i, tl.load)},
	}
	for _, p := range phases {
		switch {
		case p.name == "during" && f.in.to-f.in.from < time.Second:
			fm.Notes = append(fm.Notes, fmt.Sprintf("the fault was in force for only %s, which its \"during\" figures cover", fmtLatency(f.in.to-f.in.from)))
			if p.in.empty() {
				continue
			}
		case p.in.empty():
			fm.Notes = append(fm.Notes, fmt.Sprintf("no %q figures: another fault was in force throughout", p.name))
			continue
		}
		w := tl.measure(p.in)
		fm.Metrics[p.name+"_ops_per_second"] = w.opsPerSecond
		fm.Metrics[p.name+"_errors"] = float64(w.errors)
		if w.ok > 0 {
			fm.Metrics[p.name+"_p50_seconds"] = w.p50.Seconds()
			fm.Metrics[p.name+"_p99_seconds"] = w.p99.Seconds()
		}
	}
	return fm
}

// timeline holds a history's load operations ordered by the moment that
// places them in a window (started or completed), so that the figures
// of any window are a binary search away.
type timeline struct {
	ops    []workload.Op // by at
	at     func(workload.Op) time.Duration
	load   span
	ok     bool
	counts struct{ ops, ok, fail, info int }
}

// started places an operation at its start: what the load asked for in
// a window, and how long it took (Stats, Budget).
func started(o workload.Op) time.Duration { return o.Start() }

// completed places an operation at its return: what the database
// delivered in a window (throughput recovery).
func completed(o workload.Op) time.Duration { return o.Return }

func newTimeline(ops []workload.Op, at func(workload.Op) time.Duration) timeline {
	tl := timeline{at: at}
	tl.load, tl.ok = loadSpan(ops)
	tl.ops = slices.Clone(ops)
	sort.SliceStable(tl.ops, func(i, j int) bool { return at(tl.ops[i]) < at(tl.ops[j]) })
	for _, o := range tl.ops {
		tl.counts.ops++
		switch o.Type {
		case workload.OK:
			tl.counts.ok++
		case workload.Fail:
			tl.counts.fail++
		default:
			tl.counts.info++
		}
	}
	return tl
}

// window are the figures of one window.
type window struct {
	ok, errors   int
	opsPerSecond float64
	p50, p99     time.Duration
	max          time.Duration
}

// measure returns the figures of the operations placed in s. A window
// from the load's start includes every operation placed before it, and
// one that ends at the load's end every one placed after it.
func (tl timeline) measure(s span) window {
	lo := sort.Search(len(tl.ops), func(i int) bool { return tl.at(tl.ops[i]) >= s.from })
	hi := sort.Search(len(tl.ops), func(i int) bool { return tl.at(tl.ops[i]) >= s.to })
	if s.from <= tl.load.from {
		lo = 0
	}
	if s.to >= tl.load.to {
		hi = len(tl.ops)
	}
	var w window
	lat := make([]time.Duration, 0, hi-lo)
	for _, o := range tl.ops[lo:hi] {
		switch {
		case o.Type == workload.OK:
			w.ok++
			lat = append(lat, o.Latency())
		case !o.Declined():
			w.errors++
		}
	}
	if d := s.seconds(); d > 0 {
		w.opsPerSecond = float64(w.ok) / d
	}
	slices.Sort(lat)
	w.p50, w.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	if len(lat) > 0 {
		w.max = lat[len(lat)-1]
	}
	return w
}

// percentile is the nearest-rank q-quantile of sorted: the smallest value
// with at least a fraction q of the values at or below it. It is zero for
// no values.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// fmtLatency renders a latency with a precision that suits its size.
func fmtLatency(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
