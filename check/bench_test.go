package check_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/checktest"
	"github.com/faultline-dev/faultline/workload"
)

// registerHistory generates about 100,000 register operations (reads,
// writes and cas, no ledger) over keys keys from 16 clients, with one
// outage that leaves a few hundred unknown-outcome writes.
func registerHistory(keys, stale int) *workload.History {
	c := checktest.Config{
		Duration: 62 * time.Second, Workers: 16, Keys: keys,
		Mix:     workload.Mix{Read: 0.5, Write: 0.35, CAS: 0.15},
		Latency: 4 * time.Millisecond, Think: 5 * time.Millisecond, Timeout: time.Second,
		Faults:     []checktest.Fault{{Name: "kill leader", Kind: "kill", Start: 20 * time.Second, Duration: 5 * time.Second, Outage: 2 * time.Second}},
		StaleReads: stale,
	}
	return checktest.Generate(rand.New(rand.NewPCG(42, 42)), c)
}

func BenchmarkLinearizable100k(b *testing.B) {
	for _, bc := range []struct{ keys, stale int }{{10, 0}, {100, 0}, {1000, 0}, {10, 3}} {
		h := registerHistory(bc.keys, bc.stale)
		b.Run(fmt.Sprintf("keys=%d/stale=%d", bc.keys, bc.stale), func(b *testing.B) {
			var r check.Result
			for b.Loop() {
				r = check.Linearizable{Timeout: 5 * time.Minute}.Check(context.Background(), h)
			}
			want := check.Pass
			if bc.stale > 0 {
				want = check.Fail
			}
			if r.Verdict != want {
				b.Fatalf("verdict %s, want %s: %s", r.Verdict, want, r.Summary)
			}
			b.ReportMetric(float64(len(h.Ops)), "history-ops")
			b.ReportMetric(r.Metrics["ops_checked"], "checked-ops")
			b.ReportMetric(float64(len(h.Ops))*float64(b.N)/b.Elapsed().Seconds(), "history-ops/s")
		})
	}
}

func BenchmarkRTO(b *testing.B) {
	h := checktest.Generate(rand.New(rand.NewPCG(1, 1)), checktest.Standard())
	for b.Loop() {
		check.RTO{}.Check(context.Background(), h)
	}
}
