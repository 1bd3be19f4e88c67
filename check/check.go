// Package check judges histories: each Checker is a pure function from a
// workload.History to a three-valued Result.
//
// Metric names are part of result.json's documented format. Per-run
// metrics live in Result.Metrics; per-fault metrics in Result.Faults, keyed
// by the fault's ID in the schedule:
//
//	rto_seconds                  from the fault's start to the first acknowledged write after which writes keep succeeding
//	recovered                    1 if writes recovered after the fault, 0 if not
//	longest_write_gap_seconds    the longest gap between acknowledged writes around the fault
//	throughput_recovery_seconds  from the fault's start until throughput is back to 90% of its pre-fault level
//	lost_writes                  acknowledged writes missing from the final state, attributed to this fault
//	rpo_window_seconds           from the earliest lost acknowledgement to the fault's start
//	{before,during,after}_ops_per_second, _p50_seconds, _p99_seconds, _errors
package check

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// Verdict is a checker's judgement. Fail beats Unknown beats Pass.
type Verdict int

// The three verdicts, ordered so that Merge can take the maximum.
const (
	Pass Verdict = iota
	Unknown
	Fail
)

// String returns "pass", "unknown" or "fail".
func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Unknown:
		return "unknown"
	case Fail:
		return "fail"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// MarshalText encodes the verdict as its name.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText decodes a verdict name.
func (v *Verdict) UnmarshalText(b []byte) error {
	switch string(b) {
	case "pass":
		*v = Pass
	case "unknown":
		*v = Unknown
	case "fail":
		*v = Fail
	default:
		return fmt.Errorf("unknown verdict %q", b)
	}
	return nil
}

// Merge returns the worse of two verdicts.
func Merge(a, b Verdict) Verdict { return max(a, b) }

// Checker judges a history. Check must not modify the history and must
// return Unknown, never Pass, when it runs out of time (ctx).
type Checker interface {
	Name() string
	Check(ctx context.Context, h *workload.History) Result
}

// Result is a checker's verdict with the evidence behind it.
type Result struct {
	Checker string  `json:"checker"`
	Verdict Verdict `json:"verdict"`
	// Summary says in one line what was found.
	Summary string `json:"summary"`
	// Anomalies are the violations found, each with the operations that
	// prove it.
	Anomalies []Anomaly `json:"anomalies,omitempty"`
	// Metrics are the checker's whole-run figures (see the package doc).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Facts are the checker's whole-run findings that are words, not
	// numbers (for list-append: the strongest isolation level the history
	// is consistent with, and the weakest it violates).
	Facts map[string]string `json:"facts,omitempty"`
	// Faults are the checker's figures for each fault.
	Faults []FaultMetrics `json:"faults,omitempty"`
	// Artifacts are files the report saves next to itself (porcupine's
	// visualization, for one).
	Artifacts []Artifact `json:"artifacts,omitempty"`
	// ElapsedSeconds is how long the check took.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
}

// Anomaly is one violation: its class, an explanation a database engineer
// would accept as proof, and the operations involved (history indices).
type Anomaly struct {
	Kind        string  `json:"kind"`
	Explanation string  `json:"explanation"`
	Ops         []int64 `json:"ops,omitempty"`
	// Key is the key the anomaly concerns, when it concerns one.
	Key string `json:"key,omitempty"`
}

// FaultMetrics are one checker's figures for one fault.
type FaultMetrics struct {
	Fault   int                `json:"fault"`
	Name    string             `json:"name"`
	Metrics map[string]float64 `json:"metrics"`
	// Notes explain figures that need words (for example "never recovered").
	Notes []string `json:"notes,omitempty"`
}

// Artifact is a file a checker produced. Name is a path relative to the
// run directory; Data is not part of result.json.
type Artifact struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Data        []byte `json:"-"`
}

// Run runs checkers one after another and returns their results in order.
// Each result's ElapsedSeconds is filled in; a checker that panics yields Unknown
// with the panic as its summary rather than taking the run down.
func Run(ctx context.Context, h *workload.History, checkers ...Checker) []Result {
	out := make([]Result, 0, len(checkers))
	for _, c := range checkers {
		out = append(out, runOne(ctx, h, c))
	}
	return out
}

func runOne(ctx context.Context, h *workload.History, c Checker) (r Result) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			r = Result{Verdict: Unknown, Summary: fmt.Sprintf("checker panicked: %v", p)}
		}
		r.Checker = c.Name()
		r.ElapsedSeconds = time.Since(start).Seconds()
	}()
	return c.Check(ctx, h)
}

// Overall merges the verdicts of results; no results is Unknown.
func Overall(rs []Result) Verdict {
	if len(rs) == 0 {
		return Unknown
	}
	v := Pass
	for _, r := range rs {
		v = Merge(v, r.Verdict)
	}
	return v
}
