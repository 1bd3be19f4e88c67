package elle_test

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/check/elle"
	"github.com/faultline-dev/faultline/workload"
)

// A G-single (read skew): transaction #0 reads key 1 before #1's append
// of 1 but reads key 2 after #1's append of 1. No serial order explains
// both reads.
func ExampleChecker() {
	read := func(k int64, l ...int64) workload.Mop { return workload.Mop{F: workload.MRead, Key: k, List: l} }
	appendTo := func(k, v int64) workload.Mop { return workload.Mop{F: workload.MAppend, Key: k, Value: v} }
	txn := func(i int64, mops ...workload.Mop) workload.Op {
		return workload.Op{Index: i, Process: int(i), Type: workload.OK, F: workload.FTxn, Txn: mops,
			Call: time.Duration(i) * time.Millisecond, Return: time.Second}
	}
	h := &workload.History{Ops: []workload.Op{
		txn(0, read(1), read(2, 1)),
		txn(1, appendTo(1, 1), appendTo(2, 1)),
		txn(2, read(1, 1)),
	}}

	res := elle.Checker{Expect: elle.SnapshotIsolation}.Check(context.Background(), h)
	fmt.Println(res.Verdict)
	fmt.Println("consistent with:", res.Facts["consistent_with"])
	fmt.Println("violates:", res.Facts["violates"])
	for _, a := range res.Anomalies {
		fmt.Printf("%s %v: %s\n", a.Kind, a.Ops, a.Explanation)
	}
	// Output:
	// fail
	// consistent with: read-committed
	// violates: repeatable-read, snapshot-isolation
	// G-single [0 1]: T1 (#0) read key 1 as [], missing 1, which T2 (#1) appended next (rw); T1 (#0) read key 2 as [1], seeing T2 (#1)'s append of 1 (wr). So T1 → T2 → T1 is a cycle with exactly one anti-dependency (rw): a transaction missed a write it must have followed (read skew); snapshot isolation forbids it.
}
