package check

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// Budget judges the load's throughput and latency over the whole run
// against a scenario's budgets; Stats describes them, Budget decides.
// The other budgets live on the checkers that measure them, so that each
// verdict line names what it judged. A scenario's checks map onto
// checkers like this:
//
//	checks:
//	  linearizable: {timeout: 5m}          Linearizable{Timeout: 5 * time.Minute}
//	  rpo: {max-lost-writes: 0}            RPO{MaxLostWrites: 0}
//	  rto: {max: 30s}                      RTO{Max: 30 * time.Second}
//	  throughput: {min: 500}               Budget{MinThroughput: 500}
//	  latency: {p99-max: 250ms}            Budget{MaxP99: 250 * time.Millisecond}
//
// Throughput is ok operations per second over the load (from the first
// invocation to the last completion, final reads left out); p99 is the
// nearest-rank 99th percentile of the latencies of ok operations, as in
// Stats.
//
// Verdict: Unknown without operations; Fail when throughput is below
// MinThroughput or p99 above MaxP99 (an anomaly for each); Pass otherwise,
// also when no budget is set. Metrics: ops_per_second, p99_seconds.
type Budget struct {
	// MinThroughput is the least ok operations per second; zero means none.
	MinThroughput float64
	// MaxP99 is the most the 99th percentile latency may be; zero means none.
	MaxP99 time.Duration
}

// Name implements Checker.
func (Budget) Name() string { return "budget" }

// Check implements Checker.
func (b Budget) Check(ctx context.Context, h *workload.History) Result {
	r := Result{Checker: "budget"}
	tl := newTimeline(loadOps(h), started)
	if !tl.ok {
		r.Verdict, r.Summary = Unknown, "no operations to judge"
		return r
	}
	w := tl.measure(tl.load)
	r.Metrics = map[string]float64{"ops_per_second": w.opsPerSecond, "p99_seconds": w.p99.Seconds()}
	var met []string
	if b.MinThroughput > 0 {
		if w.opsPerSecond < b.MinThroughput {
			r.Anomalies = append(r.Anomalies, Anomaly{Kind: "throughput-below-budget",
				Explanation: fmt.Sprintf("%d ok operations over %.1fs of load are %.1f ops/s, below the budget of %g ops/s",
					w.ok, tl.load.seconds(), w.opsPerSecond, b.MinThroughput)})
		} else {
			met = append(met, fmt.Sprintf("throughput %.1f ops/s ≥ %g", w.opsPerSecond, b.MinThroughput))
		}
	}
	if b.MaxP99 > 0 {
		if w.p99 > b.MaxP99 {
			r.Anomalies = append(r.Anomalies, Anomaly{Kind: "latency-above-budget",
				Explanation: fmt.Sprintf("the 99th percentile latency of %d ok operations is %s, above the budget of %s",
					w.ok, fmtLatency(w.p99), b.MaxP99)})
		} else {
			met = append(met, fmt.Sprintf("p99 %s ≤ %s", fmtLatency(w.p99), b.MaxP99))
		}
	}
	switch {
	case len(r.Anomalies) > 0:
		r.Verdict = Fail
		var why []string
		for _, a := range r.Anomalies {
			why = append(why, a.Explanation)
		}
		r.Summary = strings.Join(why, "; ")
	case len(met) == 0:
		r.Verdict, r.Summary = Pass, "no throughput or latency budget set"
	default:
		r.Verdict, r.Summary = Pass, "within budget: "+strings.Join(met, ", ")
	}
	return r
}
