package elle

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/graph/simple"
	"gonum.org/v1/gonum/graph/topo"

	"github.com/faultline-dev/faultline/check"
)

// The benchmarks check histories from the simulated database with 10
// workers and the list-append generator's defaults (8 keys in play,
// retired after 32 appends, 1 to 5 micro-ops). "valid" is a strict
// serializable database; "snapshot" is snapshot isolation, full of write
// skew cycles; "stale" serves 10% of read-only transactions from old
// snapshots, so its cycles run through real-time order; "lagging" reads
// up to 1000 commits old, which joins nearly every transaction into one
// strongly connected component through real-time order (the worst case
// for the cycle search).
//
// -short leaves out the 1M cases; for those run one iteration:
//
//	go test ./check/elle -run '^$' -bench 'Check/valid/1M' -benchtime 1x -benchmem
func BenchmarkCheck(b *testing.B) {
	sims := []struct {
		name string
		sim  sim
	}{
		{"valid", sim{concurrency: 10, mode: serialExec, failRate: 0.02, infoRate: 0.01}},
		{"snapshot", sim{concurrency: 10, mode: snapshotExec}},
		{"stale", sim{concurrency: 10, mode: serialExec, staleReads: 0.1}},
		{"lagging", sim{concurrency: 10, mode: serialExec, staleReads: 0.1, staleness: 1000}},
	}
	for _, s := range sims {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/%s", s.name, count(n)), func(b *testing.B) {
				if n >= 1_000_000 && testing.Short() {
					b.Skip("1M transactions take a while to simulate; run without -short")
				}
				cfg := s.sim
				cfg.txns, cfg.seed = n, 1
				h := cfg.run(b)
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportAllocs()
				b.ResetTimer()
				var res check.Result
				for i := 0; i < b.N; i++ {
					res = Checker{Expect: Serializable}.Check(context.Background(), h)
				}
				b.StopTimer()
				if s.name == "valid" && res.Verdict != check.Pass {
					b.Fatalf("valid history: %s", res.Summary)
				}
				b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "history-MB")
				b.ReportMetric(res.Metrics["anomalies"], "anomalies")
				b.ReportMetric(res.Metrics["largest_scc"], "largest-scc")
			})
		}
	}
}

func count(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}

// BenchmarkSCC compares the iterative Tarjan the checker uses with
// gonum's topo.TarjanSCC (on a gonum simple.DirectedGraph holding the
// same edges; building that graph is timed separately) on the dependency
// graph of a valid history. This is the measurement behind not using
// gonum in the checker itself.
func BenchmarkSCC(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		h := sim{txns: n, concurrency: 10, seed: 1, mode: serialExec}.run(b)
		a, err := analyze(h)
		if err != nil {
			b.Fatal(err)
		}
		a.readAnomalies(newFindings(1))
		g, _ := a.graph()
		b.Run("ours/"+count(n), func(b *testing.B) {
			b.ReportAllocs()
			var tj tarjan
			for i := 0; i < b.N; i++ {
				tj.run(g, allKinds)
			}
		})
		b.Run("gonum-build/"+count(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				toGonum(g)
			}
		})
		b.Run("gonum/"+count(n), func(b *testing.B) {
			gg := toGonum(g)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				topo.TarjanSCC(gg)
			}
		})
	}
}

func toGonum(g *csr) *simple.DirectedGraph {
	gg := simple.NewDirectedGraph()
	for v := 0; v < g.nodes(); v++ {
		gg.AddNode(simple.Node(v))
	}
	for v := int32(0); v < int32(g.nodes()); v++ {
		for _, e := range g.out(v) {
			gg.SetEdge(gg.NewEdge(simple.Node(v), simple.Node(edgeTo(e))))
		}
	}
	return gg
}
