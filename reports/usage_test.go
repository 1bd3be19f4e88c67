package reports_test

import (
	"math"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/workload"
)

func TestUsage(t *testing.T) {
	up := func(sec int, cpu float64, mem, written, data int64) workload.Sample {
		return workload.Sample{Time: time.Duration(sec) * time.Second, Node: "n1", Zone: "a", Up: true,
			CPUSeconds: cpu, MemoryBytes: mem, DiskWriteBytes: written, DataBytes: data}
	}
	netUp := func(sec int, crossZone int64) workload.Sample {
		return workload.Sample{Time: time.Duration(sec) * time.Second, Node: "n1", Zone: "a", Up: true,
			CPUSeconds: 1, MemoryBytes: 100, NetCrossZoneBytes: crossZone}
	}
	downAt := func(sec int) workload.Sample {
		return workload.Sample{Time: time.Duration(sec) * time.Second, Node: "n1", Zone: "a"}
	}
	tests := []struct {
		name    string
		samples []workload.Sample
		want    reports.NodeUsage
	}{
		{
			name:    "the first sample is the baseline",
			samples: []workload.Sample{up(0, 10, 100, 1000, 5), up(1, 11.5, 300, 1500, 6), up(2, 12, 200, 1700, 7)},
			want:    reports.NodeUsage{Samples: 3, SampledSeconds: 2, CPUSeconds: 2, PeakMemoryBytes: 300, DiskWriteBytes: 700, DataBytes: 7},
		},
		{
			name: "a restart after a down sample counts from zero",
			samples: []workload.Sample{up(0, 10, 100, 1000, 5), up(1, 12, 100, 1200, 6), downAt(2),
				up(3, 15, 100, 1300, 6), up(4, 16, 100, 1400, 7)},
			// 2 before; the restarted process's 15 (it counts from its
			// start, after the outage) and 1 more.
			want: reports.NodeUsage{Samples: 5, DownSamples: 1, Restarts: 1, SampledSeconds: 4, CPUSeconds: 18,
				PeakMemoryBytes: 100, DiskWriteBytes: 200 + 1300 + 100, DataBytes: 7},
		},
		{
			name:    "a counter that went down restarted between samples",
			samples: []workload.Sample{up(0, 10, 100, 1000, 5), up(1, 12, 100, 1200, 5), up(2, 0.5, 100, 50, 5)},
			want: reports.NodeUsage{Samples: 3, Restarts: 1, SampledSeconds: 2, CPUSeconds: 2.5,
				PeakMemoryBytes: 100, DiskWriteBytes: 250, DataBytes: 5},
		},
		{
			// Network bytes come from accounting rules that outlive the
			// process: a down sample does not reset them.
			name:    "network counters survive an outage",
			samples: []workload.Sample{netUp(0, 100), netUp(1, 300), downAt(2), netUp(3, 350)},
			want: reports.NodeUsage{Samples: 4, DownSamples: 1, Restarts: 1, SampledSeconds: 3,
				CPUSeconds: 1, PeakMemoryBytes: 100, NetCrossZoneBytes: 250},
		},
		{
			name:    "down throughout",
			samples: []workload.Sample{downAt(0), downAt(1)},
			want:    reports.NodeUsage{Samples: 2, DownSamples: 2, SampledSeconds: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reports.Usage(tt.samples)
			if len(got) != 1 {
				t.Fatalf("%d nodes, want 1", len(got))
			}
			g := got[0]
			tt.want.Node, tt.want.Zone = "n1", "a"
			if math.Abs(g.CPUSeconds-tt.want.CPUSeconds) < 1e-9 {
				g.CPUSeconds = tt.want.CPUSeconds
			}
			if g != tt.want {
				t.Errorf("Usage =\n %+v, want\n %+v", g, tt.want)
			}
		})
	}
}

func TestUsageKeepsNodesApart(t *testing.T) {
	s := []workload.Sample{
		{Time: 0, Node: "n2", Up: true, CPUSeconds: 1}, {Time: 0, Node: "n1", Up: true, CPUSeconds: 1},
		{Time: time.Second, Node: "n1", Up: true, CPUSeconds: 3}, {Time: time.Second, Node: "n2", Up: true, CPUSeconds: 2},
		{Time: time.Second, Node: "n2", Pod: "p", Up: true, CPUSeconds: 9},
	}
	got := reports.Usage(s)
	want := []struct {
		node, pod string
		cpu       float64
	}{{"n1", "", 2}, {"n2", "", 1}, {"n2", "p", 0}}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Node != w.node || got[i].Pod != w.pod || got[i].CPUSeconds != w.cpu {
			t.Errorf("row %d: %s/%s cpu %v, want %s/%s %v", i, got[i].Node, got[i].Pod, got[i].CPUSeconds, w.node, w.pod, w.cpu)
		}
	}
}

func TestTimeline(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	h := &workload.History{Ops: []workload.Op{
		{Type: workload.OK, Call: ms(100), Return: ms(110)},
		{Type: workload.OK, Call: ms(200), Return: ms(230)},
		{Type: workload.Fail, Call: ms(300), Return: ms(301), Error: "refused"},
		{Type: workload.Fail, F: workload.FCAS, Call: ms(400), Return: ms(402), Error: workload.ErrPrecondition},
		{Type: workload.Info, Call: ms(900), Return: ms(1900)},
		{Type: workload.OK, Call: ms(2400), Return: ms(2500)},
		{Type: workload.OK, F: workload.FLedgerRead, Final: true, Call: ms(9000), Return: ms(9100)},
	}}
	b := reports.Timeline(h)
	if len(b) != 3 {
		t.Fatalf("%d buckets, want 3 (the final read is not load)", len(b))
	}
	if b[0].OK != 2 || b[0].Errors != 1 || b[0].P50 != 0.01 || b[0].P99 != 0.03 || b[0].Seconds != 1 {
		t.Errorf("bucket 0 = %+v", b[0])
	}
	if b[1].OK != 0 || b[1].Errors != 1 || !math.IsNaN(b[1].P50) {
		t.Errorf("bucket 1 = %+v", b[1])
	}
	if b[2].OK != 1 || b[2].Seconds != 0.5 {
		t.Errorf("bucket 2 = %+v, want one ok op in half a second", b[2])
	}
}
