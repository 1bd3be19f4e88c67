package check_test

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

// A read that lands between a transfer's debit and its credit sees money
// vanish.
func ExampleBank() {
	read := func(i int64, at time.Duration, b map[string]int64) workload.Op {
		return workload.Op{Index: i, Type: workload.OK, F: workload.FBalances, Balances: b, Call: at, Return: at + time.Millisecond}
	}
	h := &workload.History{Ops: []workload.Op{
		read(0, 1*time.Second, map[string]int64{"0": 50, "1": 50}),
		{Index: 1, Type: workload.OK, F: workload.FTransfer, Transfer: &workload.Transfer{From: "0", To: "1", Amount: 20},
			Call: 2 * time.Second, Return: 4 * time.Second},
		read(2, 3*time.Second, map[string]int64{"0": 30, "1": 50}),
		read(3, 5*time.Second, map[string]int64{"0": 30, "1": 70}),
	}}
	res := check.Bank{Total: 100, Accounts: []string{"0", "1"}}.Check(context.Background(), h)
	fmt.Println(res.Verdict)
	fmt.Println(res.Summary)
	for _, a := range res.Anomalies {
		fmt.Println(a.Kind+":", a.Explanation)
	}
	// Output:
	// fail
	// 3 balance reads of 2 accounts: 1 bad (wrong-total ×1); totals 80..100, expected 100
	// wrong-total: read #2 at 3.000s sums to 80, expected 100
}
