// Package loadbench holds what the halves of the load benchmark (make
// bench; workload/sqlclient against pgbench, workload/etcd against a bare
// clientv3 loop) share: alternating repetitions, medians, the client's
// CPU time, and the line each comparison prints.
package loadbench

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Measured is one run of one side of a comparison.
type Measured struct {
	// OKPerSecond counts the operations the database answered, per
	// second of the run.
	OKPerSecond float64
	// CPUPerK is the client's CPU milliseconds per 1,000 of them.
	CPUPerK float64
	// Note is a free-form remark printed beside the run (conflicts,
	// failures, the rate kept).
	Note string
}

// Rate is a run's Measured: answered operations over the elapsed time (at
// most the run's length d) and cpu over the answered operations.
func Rate(answered int64, elapsed, d, cpu time.Duration) Measured {
	return Measured{
		OKPerSecond: float64(answered) / min(elapsed, d).Seconds(),
		CPUPerK:     cpu.Seconds() * 1e6 / float64(max(answered, 1)),
	}
}

// CPUTime is this process's user and system CPU time so far.
func CPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// Alternate runs reps repetitions of a comparison. round returns a
// repetition's two sides; a runs first in even repetitions and b in odd
// ones, so that neither side always meets a warmer machine. It returns
// each side's measurements in repetition order.
func Alternate(reps int, round func(rep int) (a, b func() Measured)) (as, bs []Measured) {
	for rep := range reps {
		a, b := round(rep)
		if rep%2 == 0 {
			as = append(as, a())
			bs = append(bs, b())
		} else {
			bs = append(bs, b())
			as = append(as, a())
		}
	}
	return as, bs
}

// Median is the median of each figure on its own (the upper one of an even
// count); the zero Measured for none.
func Median(ms []Measured) Measured {
	if len(ms) == 0 {
		return Measured{}
	}
	ops := make([]float64, len(ms))
	cpu := make([]float64, len(ms))
	for i, m := range ms {
		ops[i], cpu[i] = m.OKPerSecond, m.CPUPerK
	}
	slices.Sort(ops)
	slices.Sort(cpu)
	return Measured{OKPerSecond: ops[len(ops)/2], CPUPerK: cpu[len(cpu)/2]}
}

// Line is the line a comparison prints, in the form scripts/bench.sh
// reads:
//
//	load NAME: faultline 5188 ops/s, REF 8131 ops/s, throughput ratio 0.64, client CPU ratio 2.7 (client CPU per 1,000 ops: faultline 112 ms, REF 41 ms)
func Line(name, ref string, f, r Measured) string {
	return fmt.Sprintf("load %s: faultline %.0f ops/s, %s %.0f ops/s, throughput ratio %.2f, client CPU ratio %.1f (client CPU per 1,000 ops: faultline %.0f ms, %s %.0f ms)",
		name, f.OKPerSecond, ref, r.OKPerSecond, f.OKPerSecond/r.OKPerSecond, f.CPUPerK/r.CPUPerK, f.CPUPerK, ref, r.CPUPerK)
}

// LoadAverage is the machine's load average over 1, 5 and 15 minutes as
// /proc/loadavg gives it, or "unknown".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
