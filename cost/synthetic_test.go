package cost

import (
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// synth describes a made-up run for tests: a cluster whose resource use
// is exactly idle + perOp × throughput, at each offered rate in turn. It
// is a fixed input for example and property tests of the model, not a
// stand-in for a measurement.
type synth struct {
	engine   string
	nodes    int
	rates    []float64 // ops/s per step; the last one saturates at capRate
	capRate  float64
	stepSecs int
	// Per node: idle cores, and per op/s of the cluster: cores, disk bytes
	// and ops, network bytes (split evenly over the other nodes).
	idleCores, coresPerOp           float64
	diskBytesPerOp, diskOpsPerOp    float64
	netBytesPerOp, memBytes, dataBy float64
	unmeasured                      []string
}

func defaultSynth() synth {
	return synth{
		engine: "cockroachdb", nodes: 3, rates: []float64{50, 100, 200, 400, 0}, capRate: 600, stepSecs: 20,
		idleCores: 0.05, coresPerOp: 0.0006, diskBytesPerOp: 4096, diskOpsPerOp: 2, netBytesPerOp: 1200,
		memBytes: 300 << 20, dataBy: 80 << 20,
	}
}

// history renders the run: one sample per node per second, a load-step
// event per step, and the ok operations achieved.
func (s synth) history() *workload.History {
	h := &workload.History{Meta: workload.Meta{Run: "synthetic", Engine: s.engine, Platform: "local"}}
	var t float64
	cum := make([]struct{ cpu, dw, dops, net float64 }, s.nodes)
	var idx int64
	for step, offered := range s.rates {
		achieved := offered
		if offered == 0 || offered > s.capRate {
			achieved = s.capRate
		}
		h.Events = append(h.Events, workload.Event{Time: secs(t), Kind: workload.EventLoadStep, Term: uint64(step), Detail: fmt.Sprintf("offered=%g", offered)})
		for i := 0; i < s.stepSecs; i++ {
			// Operations evenly spread over the second.
			n := int(achieved)
			for k := 0; k < n; k++ {
				at := t + (float64(k)+0.5)/float64(n)
				h.Ops = append(h.Ops, workload.Op{Index: idx, Type: workload.OK, F: workload.FWrite, Key: fmt.Sprintf("k%d", idx%1000),
					Value: workload.Int(idx), Call: secs(at - 0.001), Return: secs(at)})
				idx++
			}
			t++
			for nd := 0; nd < s.nodes; nd++ {
				c := &cum[nd]
				// The first node leads: it does half the work.
				share := 0.5
				if nd > 0 {
					share = 0.5 / float64(s.nodes-1)
				}
				c.cpu += s.idleCores + s.coresPerOp*achieved*share
				c.dw += s.diskBytesPerOp * achieved / float64(s.nodes)
				c.dops += s.diskOpsPerOp * achieved / float64(s.nodes)
				c.net += s.netBytesPerOp * achieved / float64(s.nodes)
				h.Samples = append(h.Samples, workload.Sample{
					Time: secs(t), Node: fmt.Sprintf("n%d", nd+1), Zone: "a", Region: "r", Up: true,
					CPUSeconds: c.cpu, MemoryBytes: int64(s.memBytes), DiskWriteBytes: int64(c.dw), DiskWriteOps: int64(c.dops),
					DataBytes: int64(s.dataBy), NetSameZoneBytes: int64(c.net), Unmeasured: s.unmeasured,
				})
			}
		}
	}
	return h
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
