package check_test

import (
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

func TestStats(t *testing.T) {
	b := new(builder).writes(0, 0, 10000, 100, down(2000, 3000)).
		fault(0, "kill a", 2000, 4000).fault(1, "kill b", 3000, 5000)
	r := run(check.Stats{}, b.history())
	if r.Verdict != check.Pass {
		t.Fatalf("verdict %s: %s", r.Verdict, r.Summary)
	}
	whole := map[string]float64{"ops": 100, "ok": 90, "fail": 10, "info": 0, "errors": 10,
		"load_seconds": 9.905, "ops_per_second": 90 / 9.905, "p50_seconds": 0.005, "p99_seconds": 0.005}
	for name, want := range whole {
		if got := r.Metrics[name]; !near(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	tests := []struct {
		fault   int
		metrics map[string]float64
		absent  []string
	}{
		{fault: 0, metrics: map[string]float64{
			"before_ops_per_second": 10, "before_errors": 0, "before_p99_seconds": 0.005,
			"during_ops_per_second": 5, "during_errors": 10,
			// after: from b's heal at 5 s to the load's end at 9.905 s.
			"after_ops_per_second": 50 / 4.905, "after_errors": 0,
		}},
		{fault: 1, metrics: map[string]float64{
			"during_ops_per_second": 10, "during_errors": 0,
			"after_ops_per_second": 50 / 4.905,
		}, absent: []string{"before_ops_per_second", "before_errors"}},
	}
	for _, tt := range tests {
		fm := faultMetrics(t, r, tt.fault)
		for name, want := range tt.metrics {
			if got, ok := fm.Metrics[name]; !ok || !near(got, want) {
				t.Errorf("fault %d: %s = %v (present %v), want %v", tt.fault, name, got, ok, want)
			}
		}
		for _, name := range tt.absent {
			if _, ok := fm.Metrics[name]; ok {
				t.Errorf("fault %d: %s present, want it absent (another fault was in force)", tt.fault, name)
			}
		}
	}
	if fm := faultMetrics(t, r, 1); !hasNote(fm, `no "before" figures`) {
		t.Errorf("fault 1 notes %q lack why it has no before window", fm.Notes)
	}
}

func TestStatsNoOps(t *testing.T) {
	if r := run(check.Stats{}, new(builder).history()); r.Verdict != check.Unknown {
		t.Errorf("verdict %s, want unknown", r.Verdict)
	}
}

func TestBudget(t *testing.T) {
	// One ok write every 100 ms for 10 s, each lasting 5 ms: 10 ops/s
	// (100 over 9.905 s), p99 5 ms.
	h := new(builder).writes(0, 0, 10000, 100, always(workload.OK)).history()
	tests := []struct {
		name   string
		budget check.Budget
		want   check.Verdict
		kinds  []string
	}{
		{"no budget", check.Budget{}, check.Pass, nil},
		{"throughput met", check.Budget{MinThroughput: 10}, check.Pass, nil},
		{"throughput missed", check.Budget{MinThroughput: 10.2}, check.Fail, []string{"throughput-below-budget"}},
		{"p99 met", check.Budget{MaxP99: 5 * time.Millisecond}, check.Pass, nil},
		{"p99 missed", check.Budget{MaxP99: 4 * time.Millisecond}, check.Fail, []string{"latency-above-budget"}},
		{"both missed", check.Budget{MinThroughput: 100, MaxP99: time.Millisecond}, check.Fail, []string{"throughput-below-budget", "latency-above-budget"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(tt.budget, h)
			if r.Verdict != tt.want {
				t.Fatalf("verdict %s, want %s: %s", r.Verdict, tt.want, r.Summary)
			}
			if len(r.Anomalies) != len(tt.kinds) {
				t.Fatalf("anomalies %+v, want %v", r.Anomalies, tt.kinds)
			}
			for i, k := range tt.kinds {
				if r.Anomalies[i].Kind != k {
					t.Errorf("anomaly %d is %s, want %s", i, r.Anomalies[i].Kind, k)
				}
			}
		})
	}
	if r := run(check.Budget{MinThroughput: 1}, new(builder).history()); r.Verdict != check.Unknown {
		t.Errorf("no operations: verdict %s, want unknown", r.Verdict)
	}
}

// An instant fault (a restart) has a window of no length: its "during"
// figures are absent and a note says why, not that another fault was in
// force.
func TestStatsInstantFault(t *testing.T) {
	b := new(builder).writes(0, 0, 5000, 100, always(workload.OK)).fault(0, "restart", 2000, 2000)
	fm := faultMetrics(t, run(check.Stats{}, b.history()), 0)
	if _, ok := fm.Metrics["during_ops_per_second"]; ok {
		t.Errorf("an instant fault has during figures: %v", fm.Metrics)
	}
	if !hasNote(fm, "in force for only 0s") || hasNote(fm, "another fault") {
		t.Errorf("notes %q", fm.Notes)
	}
	if fm.Metrics["before_ops_per_second"] != 10 || fm.Metrics["after_ops_per_second"] == 0 {
		t.Errorf("before/after figures %v", fm.Metrics)
	}
}

// Open-loop load through a 1 s pause: every operation meant to start
// during the pause completes when it ends. Counted by start, the waits
// are the fault's "during" latencies, and the "after" window is as fast
// as "before"; counted by completion they would all land after it.
func TestStatsCountsByIntendedStart(t *testing.T) {
	b := new(builder)
	for at := 0; at < 6000; at += 10 {
		call, ret := at, at+2
		if at >= 2000 && at < 3000 {
			call, ret = at, 3000+2 // the client waited for the pause
		}
		b.add(workload.Op{Process: at % 7, Type: workload.OK, F: workload.FWrite, Key: "k", Value: workload.Int(int64(at)),
			Intended: ms(at), Call: ms(call), Return: ms(ret)})
	}
	b.fault(0, "pause", 2000, 3000)
	fm := faultMetrics(t, run(check.Stats{}, b.history()), 0)
	if got := fm.Metrics["during_p99_seconds"]; got < 0.9 {
		t.Errorf("during p99 = %vs, want the ~1s the pause made operations wait", got)
	}
	if got := fm.Metrics["during_ops_per_second"]; !near(got, 100) {
		t.Errorf("during ops/s = %v, want the 100 started in the window", got)
	}
	for _, name := range []string{"before_p99_seconds", "after_p99_seconds"} {
		if got := fm.Metrics[name]; got > 0.003 {
			t.Errorf("%s = %vs, want 2ms: the backlog belongs to the fault", name, got)
		}
	}
}
