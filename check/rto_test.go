package check_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/checktest"
	"github.com/faultline-dev/faultline/workload"
)

// In these histories one process writes every 100 ms, each write lasting
// 5 ms, from 0 to 10 s; down(a, b) makes the writes invoked in [a, b) fail.
func TestRTO(t *testing.T) {
	type want struct {
		rto, gap, tput float64 // seconds; -1: absent
		recovered      float64
		note           string
	}
	blip := func(c int) workload.Type {
		if c == 3000 {
			return workload.OK
		}
		return down(2000, 4000)(c)
	}
	tests := []struct {
		name    string
		b       *builder
		rto     check.RTO
		verdict check.Verdict
		faults  map[int]want
	}{
		{
			name:    "recovers",
			b:       new(builder).writes(0, 0, 10000, 100, down(2000, 4000)).fault(0, "kill", 2000, 5000),
			verdict: check.Pass,
			faults:  map[int]want{0: {rto: 2.005, gap: 2.005, tput: 2, recovered: 1}},
		},
		{
			name:    "an ack amid failures is not recovery",
			b:       new(builder).writes(0, 0, 10000, 100, blip).fault(0, "kill", 2000, 5000),
			verdict: check.Pass,
			faults:  map[int]want{0: {rto: 2.005, gap: 1.005, tput: 2, recovered: 1}},
		},
		{
			// A write in flight when the fault strikes is acknowledged
			// at 2.003 s, then writes block until 3.2 s: recovery is the
			// ack of a write issued after the fault, not the straggler.
			name: "an ack of a write in flight at the fault is not recovery",
			b: new(builder).
				add(workload.Op{Process: 0, Type: workload.OK, F: workload.FWrite, Key: "k", Value: workload.Int(1), Call: ms(1000), Return: ms(1005)}).
				add(workload.Op{Process: 0, Type: workload.OK, F: workload.FWrite, Key: "k", Value: workload.Int(2), Call: ms(1998), Return: ms(2003)}).
				add(workload.Op{Process: 0, Type: workload.OK, F: workload.FWrite, Key: "k", Value: workload.Int(3), Call: ms(2100), Return: ms(3200)}).
				add(workload.Op{Process: 0, Type: workload.OK, F: workload.FWrite, Key: "k", Value: workload.Int(4), Call: ms(3300), Return: ms(3305)}).
				fault(0, "kill", 2000, 2500),
			verdict: check.Pass,
			faults:  map[int]want{0: {rto: 1.2, gap: 1.197, tput: 0, recovered: 1}},
		},
		{
			name: "a declined cas is not unavailability",
			b: new(builder).writes(0, 0, 10000, 100, down(2000, 4000)).fault(0, "kill", 2000, 5000).
				add(workload.Op{Process: 1, Type: workload.Fail, F: workload.FCAS, Key: "k", Prev: workload.Int(1), Value: workload.Int(2), Call: ms(6000), Return: ms(6003), Error: "cas: " + workload.ErrPrecondition}),
			verdict: check.Pass,
			faults:  map[int]want{0: {rto: 2.005, gap: 2.005, tput: 2, recovered: 1}},
		},
		{
			name: "a refused cas is",
			b: new(builder).writes(0, 0, 10000, 100, down(2000, 4000)).fault(0, "kill", 2000, 5000).
				add(workload.Op{Process: 1, Type: workload.Fail, F: workload.FCAS, Key: "k", Prev: workload.Int(1), Value: workload.Int(2), Call: ms(6000), Return: ms(6003), Error: "connection refused"}),
			verdict: check.Pass,
			faults:  map[int]want{0: {rto: 4.005, gap: 2.005, tput: 2, recovered: 1}},
		},
		{
			name:    "over budget",
			b:       new(builder).writes(0, 0, 10000, 100, down(2000, 4000)).fault(0, "kill", 2000, 5000),
			rto:     check.RTO{Max: time.Second},
			verdict: check.Fail,
			faults:  map[int]want{0: {rto: 2.005, gap: 2.005, tput: 2, recovered: 1}},
		},
		{
			name:    "never recovered, no budget",
			b:       new(builder).writes(0, 0, 10000, 100, down(2000, 20000)).fault(0, "kill", 2000, 5000),
			verdict: check.Unknown,
			faults:  map[int]want{0: {rto: -1, gap: 7.905, tput: -1, note: "not recovered by the end of the load"}},
		},
		{
			name:    "never recovered, over budget",
			b:       new(builder).writes(0, 0, 10000, 100, down(2000, 20000)).fault(0, "kill", 2000, 5000),
			rto:     check.RTO{Max: 5 * time.Second},
			verdict: check.Fail,
			faults:  map[int]want{0: {rto: -1, gap: 7.905, tput: -1, note: "not recovered"}},
		},
		{
			name:    "fault at the very end",
			b:       new(builder).writes(0, 0, 10000, 100, down(9500, 20000)).fault(0, "kill", 9500, 9900),
			rto:     check.RTO{Max: time.Second},
			verdict: check.Unknown,
			faults:  map[int]want{0: {rto: -1, gap: 0.405, tput: -1, note: "not recovered"}},
		},
		{
			name:    "fault at the very start",
			b:       new(builder).writes(0, 0, 10000, 100, down(0, 1000)).fault(0, "kill", 0, 2000),
			verdict: check.Pass,
			faults:  map[int]want{0: {rto: 1.005, gap: 1.005, tput: -1, recovered: 1, note: "less than 1s of load without faults"}},
		},
		{
			name: "the next fault's damage is its own",
			b: new(builder).writes(0, 0, 10000, 100, func(c int) workload.Type {
				return min(down(2000, 2500)(c), down(6000, 7000)(c))
			}).fault(0, "kill a", 2000, 3000).fault(1, "kill b", 6000, 7000),
			verdict: check.Pass,
			faults:  map[int]want{0: {rto: 0.505, gap: 0.505, tput: 1, recovered: 1}, 1: {rto: 1.005, gap: 1.005, tput: 1, recovered: 1}},
		},
		{
			name: "overlapping faults",
			b: new(builder).writes(0, 0, 10000, 100, down(2000, 5000)).
				fault(0, "kill a", 2000, 4000).fault(1, "kill b", 3000, 6000),
			verdict: check.Pass,
			faults: map[int]want{
				0: {rto: 3.005, gap: 3.005, tput: 3, recovered: 1, note: "the RTO covers those faults too"},
				1: {rto: 2.005, gap: 2.005, tput: -1, recovered: 1, note: "less than 1s"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(tt.rto, tt.b.history())
			if r.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s: %s %+v", r.Verdict, tt.verdict, r.Summary, r.Anomalies)
			}
			if tt.verdict == check.Fail && len(r.Anomalies) == 0 {
				t.Errorf("a failing verdict without anomalies")
			}
			for id, w := range tt.faults {
				fm := faultMetrics(t, r, id)
				checkMetric(t, fm, "rto_seconds", w.rto)
				checkMetric(t, fm, "longest_write_gap_seconds", w.gap)
				checkMetric(t, fm, "throughput_recovery_seconds", w.tput)
				checkMetric(t, fm, "recovered", w.recovered)
				if w.note != "" && !hasNote(fm, w.note) {
					t.Errorf("fault %d: notes %q lack %q", id, fm.Notes, w.note)
				}
			}
		})
	}
}

func checkMetric(t *testing.T, fm check.FaultMetrics, name string, want float64) {
	t.Helper()
	got, ok := fm.Metrics[name]
	switch {
	case want < 0 && ok:
		t.Errorf("fault %d: %s = %v, want it absent", fm.Fault, name, got)
	case want >= 0 && !ok:
		t.Errorf("fault %d: %s absent, want %v (notes %q)", fm.Fault, name, want, fm.Notes)
	case want >= 0 && !near(got, want):
		t.Errorf("fault %d: %s = %v, want %v", fm.Fault, name, got, want)
	}
}

func TestRTOVerdicts(t *testing.T) {
	reads := new(builder).read(0, workload.OK, "k", nil, 0, 10).fault(0, "kill", 0, 5)
	errored := new(builder).writes(0, 0, 1000, 100, always(workload.OK))
	errored.h.Faults = []workload.FaultWindow{{ID: 0, Name: "kill", Start: ms(100), End: ms(100), Error: "no such node"}}
	tests := []struct {
		name    string
		b       *builder
		verdict check.Verdict
	}{
		{"no writes", reads, check.Unknown},
		{"no faults", new(builder).writes(0, 0, 1000, 100, always(workload.OK)), check.Pass},
		{"every fault failed to inject", errored, check.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(check.RTO{Max: time.Second}, tt.b.history())
			if r.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s: %s", r.Verdict, tt.verdict, r.Summary)
			}
		})
	}
	r := run(check.RTO{}, errored.history())
	if fm := faultMetrics(t, r, 0); !hasNote(fm, "no such node") || len(fm.Metrics) != 0 {
		t.Errorf("errored fault: metrics %v notes %q, want none and a note quoting the error", fm.Metrics, fm.Notes)
	}
}

// On the synthetic history the RTO must follow the simulated outages: at
// least the outage, and no more than the outage plus one operation timeout
// (workers stuck in a timed-out call resume only when it ends).
func TestRTOSynthetic(t *testing.T) {
	c := checktest.Standard()
	r := run(check.RTO{Max: 10 * time.Second}, checktest.Generate(rand.New(rand.NewPCG(3, 4)), c))
	if r.Verdict != check.Pass {
		t.Fatalf("verdict %s: %s", r.Verdict, r.Summary)
	}
	for id, f := range c.Faults {
		got := faultMetrics(t, r, id).Metrics["rto_seconds"]
		lo, hi := f.Outage.Seconds(), (f.Outage + c.Timeout + 100*time.Millisecond).Seconds()
		if got < lo || got > hi {
			t.Errorf("%s: rto %.3fs, want within [%.3f, %.3f]", f, got, lo, hi)
		}
	}
}
