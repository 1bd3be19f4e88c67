package measure

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// cpuSample is an up sample of node n at t seconds with the given CPU and
// disk-write counters.
func cpuSample(n string, t, cpu float64, write int64) workload.Sample {
	return workload.Sample{Time: sec(t), Node: n, Up: true, CPUSeconds: cpu, DiskWriteBytes: write, MemoryBytes: 100}
}

func TestWindowCounters(t *testing.T) {
	down := workload.Sample{Node: "n1", Up: false}
	at := func(s workload.Sample, t float64) workload.Sample { s.Time = sec(t); return s }
	tests := []struct {
		name      string
		samples   []workload.Sample
		from, to  float64
		wantCPU   float64
		wantWrite float64
		restarts  int
		span      time.Duration
	}{
		{
			name: "monotonic",
			samples: []workload.Sample{
				cpuSample("n1", 0, 1, 10), cpuSample("n1", 1, 2, 20), cpuSample("n1", 2, 4, 50),
			},
			from: 0, to: 2, wantCPU: 3, wantWrite: 40, span: sec(2),
		},
		{
			name: "counter falls: the process restarted, the pre-reset value is kept",
			samples: []workload.Sample{
				cpuSample("n1", 0, 1, 10), cpuSample("n1", 1, 5, 90), cpuSample("n1", 2, 0.5, 5), cpuSample("n1", 3, 1.5, 15),
			},
			from: 0, to: 3, wantCPU: 4 + 0.5 + 1, wantWrite: 80 + 5 + 10, restarts: 1, span: sec(3),
		},
		{
			name: "seen down in between: counters restart even if they did not fall",
			samples: []workload.Sample{
				cpuSample("n1", 0, 1, 10), cpuSample("n1", 1, 2, 20), at(down, 2), cpuSample("n1", 3, 3, 30),
			},
			from: 0, to: 3, wantCPU: 1 + 3, wantWrite: 10 + 30, restarts: 1, span: sec(3),
		},
		{
			name: "window baseline is the last sample before it",
			samples: []workload.Sample{
				cpuSample("n1", 0, 1, 0), cpuSample("n1", 1, 2, 0), cpuSample("n1", 2, 4, 0), cpuSample("n1", 3, 7, 0),
			},
			from: 1.5, to: 3, wantCPU: 5, span: sec(2),
		},
		{
			name: "window without a sample before it starts at its first sample",
			samples: []workload.Sample{
				cpuSample("n1", 2, 4, 0), cpuSample("n1", 3, 7, 0),
			},
			from: 1, to: 3, wantCPU: 3, span: sec(1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &workload.History{Samples: tt.samples}
			u := Window(h, sec(tt.from), sec(tt.to))
			if len(u.Nodes) != 1 {
				t.Fatalf("got %d node series, want 1", len(u.Nodes))
			}
			n := u.Nodes[0]
			if math.Abs(n.Totals.CPUSeconds-tt.wantCPU) > 1e-9 {
				t.Errorf("cpu = %v, want %v", n.Totals.CPUSeconds, tt.wantCPU)
			}
			if n.Totals.DiskWriteBytes != tt.wantWrite {
				t.Errorf("disk write = %v, want %v", n.Totals.DiskWriteBytes, tt.wantWrite)
			}
			if n.Restarts != tt.restarts {
				t.Errorf("restarts = %d, want %d", n.Restarts, tt.restarts)
			}
			if n.Span != tt.span {
				t.Errorf("span = %v, want %v", n.Span, tt.span)
			}
		})
	}
}

func TestWindowNetworkCountersOutliveTheProcess(t *testing.T) {
	// Accounting rules keep counting while the process is down: a
	// restart of the process must not restart the network counters.
	h := &workload.History{Samples: []workload.Sample{
		{Time: sec(0), Node: "n1", Up: true, CPUSeconds: 1, NetCrossZoneBytes: 100},
		{Time: sec(1), Node: "n1", Up: false, NetCrossZoneBytes: 150},
		{Time: sec(2), Node: "n1", Up: true, CPUSeconds: 0.2, NetCrossZoneBytes: 300},
		// The rules were reinstalled (node container restarted).
		{Time: sec(3), Node: "n1", Up: true, CPUSeconds: 0.4, NetCrossZoneBytes: 40},
	}}
	n := FromHistory(h).Nodes[0]
	if got, want := n.Totals.NetCrossZoneBytes, 200.0+40; got != want {
		t.Errorf("cross-zone bytes = %v, want %v", got, want)
	}
	if got, want := n.Totals.CPUSeconds, 0.4; math.Abs(got-want) > 1e-9 {
		t.Errorf("cpu = %v, want %v", got, want)
	}
}

func TestWindowsTileTheRun(t *testing.T) {
	var ss []workload.Sample
	cpu := 0.0
	for i := 0; i <= 20; i++ {
		if i == 11 {
			cpu = 0 // restart
		}
		cpu += 0.25 * float64(i%3+1)
		ss = append(ss, cpuSample("n1", float64(i), cpu, 0))
	}
	h := &workload.History{Samples: ss}
	whole := FromHistory(h).Total().Totals.CPUSeconds
	var parts float64
	for _, w := range [][2]float64{{0, 5}, {5, 12.5}, {12.5, 20}} {
		parts += Window(h, sec(w[0]), sec(w[1])).Total().Totals.CPUSeconds
	}
	if math.Abs(whole-parts) > 1e-9 {
		t.Errorf("windows sum to %v, whole run %v", parts, whole)
	}
}

func TestStepsSplitAtLoadStepEvents(t *testing.T) {
	h := &workload.History{
		Events: []workload.Event{
			{Time: sec(0), Kind: workload.EventLoadStep, Term: 0, Detail: "offered=100"},
			{Time: sec(10), Kind: workload.EventLoadStep, Term: 1, Detail: "offered=200"},
			{Time: sec(5), Kind: workload.EventLeader, Node: "n1"},
		},
	}
	for i := 0; i <= 20; i++ {
		h.Samples = append(h.Samples, cpuSample("n1", float64(i), float64(i), 0))
	}
	for i := 0; i < 30; i++ {
		t0 := 0.5 + float64(i)*0.6
		h.Ops = append(h.Ops, workload.Op{Type: workload.OK, F: workload.FWrite, Call: sec(t0), Return: sec(t0 + 0.01)})
	}
	steps := Steps(h, sec(2))
	if len(steps) != 2 {
		t.Fatalf("got %d steps, want 2", len(steps))
	}
	for i, want := range []struct {
		offered  float64
		from, to time.Duration
	}{{100, sec(2), sec(10)}, {200, sec(12), sec(20)}} {
		s := steps[i]
		if s.Offered != want.offered || s.Usage.From != want.from || s.Usage.To != want.to {
			t.Errorf("step %d = offered %v [%v, %v], want %v [%v, %v]", i, s.Offered, s.Usage.From, s.Usage.To, want.offered, want.from, want.to)
		}
		if got := s.Usage.Total().Totals.CPUSeconds; got != 8 {
			t.Errorf("step %d cpu = %v, want 8", i, got)
		}
	}
}

func TestParseOffered(t *testing.T) {
	for detail, want := range map[string]float64{
		"offered=250":           250,
		"offered=0":             0,
		"step 3 offered=12.5":   12.5,
		"offered=fast":          0,
		"":                      0,
		"offered=100, settle=2": 100,
	} {
		if got := parseOffered(detail); got != want {
			t.Errorf("parseOffered(%q) = %v, want %v", detail, got, want)
		}
	}
}

func ExampleFromHistory() {
	h := &workload.History{
		Samples: []workload.Sample{
			{Time: 0, Node: "n1", Zone: "a", Up: true, CPUSeconds: 10, MemoryBytes: 200 << 20, DataBytes: 1 << 20},
			{Time: 5 * time.Second, Node: "n1", Zone: "a", Up: true, CPUSeconds: 12, MemoryBytes: 300 << 20, DataBytes: 3 << 20},
			// n1 was killed and restarted: its CPU counter starts again.
			{Time: 10 * time.Second, Node: "n1", Zone: "a", Up: true, CPUSeconds: 1, MemoryBytes: 100 << 20, DataBytes: 3 << 20},
		},
	}
	for i := 0; i < 50; i++ {
		h.Ops = append(h.Ops, workload.Op{Type: workload.OK, Return: time.Duration(i) * 200 * time.Millisecond})
	}
	u := FromHistory(h)
	n := u.Nodes[0]
	fmt.Printf("cpu %.1f s over %v (%.2f cores), %d restart\n", n.Totals.CPUSeconds, n.Span, n.Rates().CPUSeconds, n.Restarts)
	fmt.Printf("memory peak %d MiB, mean %.0f MiB; data %d MiB\n", n.MemoryPeakBytes>>20, n.MemoryMeanBytes/(1<<20), n.DataBytes>>20)
	fmt.Printf("%d ok ops, %.1f ops/s\n", u.OKOps, u.OpsPerSecond)
	// Output:
	// cpu 3.0 s over 10s (0.30 cores), 1 restart
	// memory peak 300 MiB, mean 200 MiB; data 3 MiB
	// 49 ok ops, 4.9 ops/s
}
