package check_test

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

// A leader is killed at 2 s. Writes fail until 4 s, except one that a
// lucky client got through at 3 s; from the write invoked at 4 s on,
// every write succeeds. The RTO runs to that write's acknowledgement at
// 4.005 s, not to the lucky one, after which writes failed again.
func ExampleRTO() {
	var h workload.History
	for t := 0; t < 10000; t += 100 { // one 5 ms write every 100 ms
		o := workload.Op{Index: int64(len(h.Ops)), Type: workload.OK, F: workload.FWrite, Key: "k",
			Value: workload.Int(int64(t)), Call: ms(t), Return: ms(t + 5)}
		if t >= 2000 && t < 4000 && t != 3000 {
			o.Type, o.Error = workload.Fail, "connection refused"
		}
		h.Ops = append(h.Ops, o)
	}
	h.Faults = []workload.FaultWindow{{ID: 0, Name: "kill leader", Kind: "kill", Start: ms(2000), End: ms(5000)}}

	r := check.RTO{Max: 3 * time.Second}.Check(context.Background(), &h)
	m := r.Faults[0].Metrics
	fmt.Println(r.Verdict)
	fmt.Printf("rto %.3fs, longest gap %.3fs, throughput back after %.0fs\n",
		m["rto_seconds"], m["longest_write_gap_seconds"], m["throughput_recovery_seconds"])
	// Output:
	// pass
	// rto 2.005s, longest gap 1.005s, throughput back after 2s
}

// Three inserts are acknowledged at 0.5 s, 0.9 s and 1.5 s; a fault
// starts at 1 s and heals at 2 s; the final read lacks the first two.
// Both were acknowledged before the fault, so they are its lost writes,
// and its RPO window runs from the earliest of them to its start.
func ExampleRPO() {
	h := workload.History{
		Ops: []workload.Op{
			{Index: 0, Type: workload.OK, F: workload.FLedgerAdd, Key: "a", Call: ms(490), Return: ms(500)},
			{Index: 1, Type: workload.OK, F: workload.FLedgerAdd, Key: "b", Call: ms(890), Return: ms(900)},
			{Index: 2, Type: workload.OK, F: workload.FLedgerAdd, Key: "c", Call: ms(1490), Return: ms(1500)},
			{Index: 3, Type: workload.OK, F: workload.FLedgerRead, Keys: []string{"c"}, Final: true, Call: ms(3000), Return: ms(3010)},
		},
		Faults: []workload.FaultWindow{{ID: 0, Name: "kill leader", Kind: "kill", Start: ms(1000), End: ms(2000)}},
	}
	r := check.RPO{MaxLostWrites: 0}.Check(context.Background(), &h)
	m := r.Faults[0].Metrics
	fmt.Println(r.Verdict)
	fmt.Printf("lost %.0f, rpo window %.1fs\n", m["lost_writes"], m["rpo_window_seconds"])
	// Output:
	// fail
	// lost 2, rpo window 0.5s
}
