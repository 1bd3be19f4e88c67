package check_test

import (
	"math/rand/v2"
	"testing"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/checktest"
	"github.com/faultline-dev/faultline/workload"
)

// ledgerRun builds a ledger history: an ok insert of l<ack> acknowledged
// at each of acks (ms), two faults at [1000, 2000) and [3000, 4000), and
// a final read holding the keys of keep plus extra.
func ledgerRun(acks []int, keep func(ack int) bool, extra ...string) *builder {
	b := new(builder).fault(0, "kill a", 1000, 2000).fault(1, "kill b", 3000, 4000)
	var keys []string
	for _, a := range acks {
		k := key(a)
		b.ledger(0, workload.OK, k, a-10, a)
		if keep(a) {
			keys = append(keys, k)
		}
	}
	return b.final(append(keys, extra...), 6000, 6010)
}

func key(ack int) string { return workload.LedgerKey(int64(ack)) }

func keepAll(int) bool { return true }

func lose(acks ...int) func(int) bool {
	return func(a int) bool {
		for _, l := range acks {
			if a == l {
				return false
			}
		}
		return true
	}
}

func TestRPO(t *testing.T) {
	acks := []int{100, 900, 1500, 2500, 4500}
	type perFault struct {
		lost, window float64
		note         string
	}
	tests := []struct {
		name    string
		b       *builder
		rpo     check.RPO
		verdict check.Verdict
		lost    float64
		kinds   []string
		faults  map[int]perFault
	}{
		{name: "nothing lost", b: ledgerRun(acks, keepAll), verdict: check.Pass,
			faults: map[int]perFault{0: {0, 0, ""}, 1: {0, 0, ""}}},
		{name: "lost before the fault", b: ledgerRun(acks, lose(100, 900)), verdict: check.Fail, lost: 2, kinds: []string{"lost-write"},
			faults: map[int]perFault{0: {2, 0.9, ""}, 1: {0, 0, ""}}},
		{name: "lost while the fault was in force", b: ledgerRun(acks, lose(1500)), verdict: check.Fail, lost: 1, kinds: []string{"lost-write"},
			faults: map[int]perFault{0: {1, 0, "acknowledged while the fault was in force"}}},
		{name: "lost between faults goes to the next", b: ledgerRun(acks, lose(2500)), verdict: check.Fail, lost: 1, kinds: []string{"lost-write"},
			faults: map[int]perFault{0: {0, 0, ""}, 1: {1, 0.5, ""}}},
		{name: "lost after every fault healed", b: ledgerRun(acks, lose(4500)), verdict: check.Fail, lost: 1, kinds: []string{"lost-write"},
			faults: map[int]perFault{0: {0, 0, ""}, 1: {0, 0, ""}}},
		{name: "within budget", b: ledgerRun(acks, lose(100, 900)), rpo: check.RPO{MaxLostWrites: 2}, verdict: check.Pass, lost: 2,
			faults: map[int]perFault{0: {2, 0.9, ""}}},
		{name: "no limit", b: ledgerRun(acks, lose(100, 900)), rpo: check.RPO{MaxLostWrites: -1}, verdict: check.Pass, lost: 2},
		{name: "over budget", b: ledgerRun(acks, lose(100, 900)), rpo: check.RPO{MaxLostWrites: 1}, verdict: check.Fail, lost: 2, kinds: []string{"lost-write"}},
		{name: "a key nobody inserted", b: ledgerRun(acks, keepAll, "l999999999"), verdict: check.Fail, kinds: []string{"unexpected-key"}},
		{name: "a key listed twice", b: ledgerRun(acks, keepAll, key(100)), verdict: check.Fail, kinds: []string{"duplicate-key"}},
		{name: "a failed insert present", b: ledgerRun(acks, keepAll, "lf").ledger(1, workload.Fail, "lf", 50, 60), verdict: check.Fail, kinds: []string{"failed-write-present"}},
		{name: "an unknown insert present", b: ledgerRun(acks, keepAll, "li").ledger(1, workload.Info, "li", 50, 60), verdict: check.Pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(tt.rpo, tt.b.history())
			if r.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s: %s", r.Verdict, tt.verdict, r.Summary)
			}
			if r.Metrics["lost"] != tt.lost {
				t.Errorf("lost %v, want %v", r.Metrics["lost"], tt.lost)
			}
			var kinds []string
			for _, a := range r.Anomalies {
				kinds = append(kinds, a.Kind)
			}
			if len(kinds) != len(tt.kinds) || (len(kinds) > 0 && kinds[0] != tt.kinds[0]) {
				t.Errorf("anomalies %v, want %v: %+v", kinds, tt.kinds, r.Anomalies)
			}
			for id, w := range tt.faults {
				fm := faultMetrics(t, r, id)
				if fm.Metrics["lost_writes"] != w.lost || !near(fm.Metrics["rpo_window_seconds"], w.window) {
					t.Errorf("fault %d: lost %v window %v, want %v and %v", id, fm.Metrics["lost_writes"], fm.Metrics["rpo_window_seconds"], w.lost, w.window)
				}
				if w.note != "" && !hasNote(fm, w.note) {
					t.Errorf("fault %d: notes %q lack %q", id, fm.Notes, w.note)
				}
			}
		})
	}
}

func TestRPOUnknown(t *testing.T) {
	tests := []struct {
		name string
		b    *builder
	}{
		{"no ledger writes", new(builder).write(0, workload.OK, "k", 1, 0, 10).final(nil, 20, 30)},
		{"no final read", new(builder).ledger(0, workload.OK, "l1", 0, 10)},
		{"final read failed", new(builder).ledger(0, workload.OK, "l1", 0, 10).
			add(workload.Op{Type: workload.Info, F: workload.FLedgerRead, Final: true, Call: ms(20), Return: ms(30)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := run(check.RPO{}, tt.b.history()); r.Verdict != check.Unknown {
				t.Errorf("verdict %s, want unknown: %s", r.Verdict, r.Summary)
			}
		})
	}
}

func TestRPOSynthetic(t *testing.T) {
	c := checktest.Standard()
	r := run(check.RPO{}, checktest.Generate(rand.New(rand.NewPCG(5, 6)), c))
	if r.Verdict != check.Fail || r.Metrics["lost"] != 3 {
		t.Fatalf("verdict %s lost %v, want fail and 3: %s", r.Verdict, r.Metrics["lost"], r.Summary)
	}
	if got := faultMetrics(t, r, 0).Metrics["lost_writes"]; got != 3 {
		t.Errorf("fault 0 lost %v, want the 3 the simulation dropped", got)
	}
	if r.Metrics["unknown_present"] == 0 {
		t.Errorf("no unknown-outcome write turned up; the simulation commits half of them")
	}
}
