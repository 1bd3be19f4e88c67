package check

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

func balances(ops ...workload.Op) *workload.History {
	h := &workload.History{}
	for i, op := range ops {
		op.Index = int64(i)
		op.Call = time.Duration(i) * time.Second
		op.Return = op.Call + time.Millisecond
		if op.Type == "" {
			op.Type = workload.OK
		}
		if op.F == "" {
			op.F = workload.FBalances
		}
		h.Ops = append(h.Ops, op)
	}
	return h
}

func read(b map[string]int64) workload.Op { return workload.Op{Balances: b} }

func TestBank(t *testing.T) {
	accts := []string{"0", "1", "2"}
	tests := []struct {
		name    string
		bank    Bank
		h       *workload.History
		verdict Verdict
		kinds   []string
		explain []string
	}{
		{
			name:    "conserved",
			bank:    Bank{Total: 30, Accounts: accts},
			h:       balances(read(map[string]int64{"0": 10, "1": 10, "2": 10}), read(map[string]int64{"0": 0, "1": 25, "2": 5})),
			verdict: Pass,
		},
		{
			name:    "wrong total",
			bank:    Bank{Total: 30, Accounts: accts},
			h:       balances(read(map[string]int64{"0": 10, "1": 10, "2": 10}), read(map[string]int64{"0": 15, "1": 10, "2": 10})),
			verdict: Fail, kinds: []string{BankWrongTotal},
			explain: []string{"read #1 at 1.000s sums to 35, expected 30"},
		},
		{
			name:    "negative balance",
			bank:    Bank{Total: 30, Accounts: accts},
			h:       balances(read(map[string]int64{"0": -5, "1": 25, "2": 10})),
			verdict: Fail, kinds: []string{BankNegativeBalance},
			explain: []string{"read #0 at 0.000s shows account 0 at -5"},
		},
		{
			name:    "missing account",
			bank:    Bank{Total: 30, Accounts: accts},
			h:       balances(read(map[string]int64{"0": 20, "1": 10})),
			verdict: Fail, kinds: []string{BankMissingAccount},
			explain: []string{"has no balance for account 2"},
		},
		{
			name:    "unexpected account",
			bank:    Bank{Total: 30, Accounts: accts},
			h:       balances(read(map[string]int64{"0": 10, "1": 10, "2": 5, "7": 5})),
			verdict: Fail, kinds: []string{BankUnexpectedAccount},
			explain: []string{"shows account 7 (balance 5), which the bank does not have"},
		},
		{
			name: "failed and info reads and transfers are not judged",
			bank: Bank{Total: 30, Accounts: accts},
			h: balances(
				workload.Op{Type: workload.Fail, Balances: map[string]int64{"0": 99}},
				workload.Op{Type: workload.Info},
				workload.Op{F: workload.FTransfer, Transfer: &workload.Transfer{From: "0", To: "1", Amount: 3}},
				read(map[string]int64{"0": 7, "1": 13, "2": 10})),
			verdict: Pass,
		},
		{
			name:    "no successful read",
			bank:    Bank{Total: 30, Accounts: accts},
			h:       balances(workload.Op{Type: workload.Info}),
			verdict: Unknown,
		},
		{
			name: "accounts from the history's options",
			h: func() *workload.History {
				h := balances(read(map[string]int64{"0": 4, "1": 3, "2": 3}))
				b, _ := workload.NewBank(3, 10)
				h.Meta.Options = b.Options()
				return h
			}(),
			verdict: Pass,
		},
		{
			name:    "accounts unknown",
			h:       balances(read(map[string]int64{"0": 4})),
			verdict: Unknown,
			explain: []string{"no accounts given and none recorded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.bank.Check(context.Background(), tt.h)
			if res.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s: %s", res.Verdict, tt.verdict, res.Summary)
			}
			var kinds []string
			all := res.Summary
			for _, a := range res.Anomalies {
				kinds = append(kinds, a.Kind)
				all += "\n" + a.Explanation
			}
			if strings.Join(kinds, ",") != strings.Join(tt.kinds, ",") {
				t.Errorf("anomalies %v, want %v", kinds, tt.kinds)
			}
			for _, e := range tt.explain {
				if !strings.Contains(all, e) {
					t.Errorf("nothing says %q in:\n%s", e, all)
				}
			}
		})
	}
}

func TestBankFaults(t *testing.T) {
	h := balances(
		read(map[string]int64{"0": 5, "1": 5}),
		read(map[string]int64{"0": 9, "1": 5}),
		read(map[string]int64{"0": 5, "1": 5}),
	)
	h.Faults = []workload.FaultWindow{{ID: 0, Name: "kill-leader", Start: 500 * time.Millisecond, End: 1500 * time.Millisecond}}
	res := Bank{Total: 10, Accounts: []string{"0", "1"}}.Check(context.Background(), h)
	if len(res.Faults) != 1 || res.Faults[0].Metrics["reads"] != 1 || res.Faults[0].Metrics["bad_reads"] != 1 {
		t.Errorf("fault metrics %+v, want 1 read, 1 bad", res.Faults)
	}
	if res.Metrics["min_total"] != 10 || res.Metrics["max_total"] != 14 || res.Metrics["bad_reads"] != 1 || res.Metrics["reads_checked"] != 3 {
		t.Errorf("metrics %v", res.Metrics)
	}
}

// simBank runs the bank workload against a serial in-memory bank: each
// operation takes effect at one instant between its call and return. With
// torn set, a read sometimes lands between a transfer's debit and its
// credit, as in a database without atomic transactions.
func simBank(t testing.TB, n, accounts int, torn float64, seed uint64) (*workload.History, *workload.Bank) {
	t.Helper()
	gen, err := workload.NewBank(accounts, int64(100*accounts))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 5))
	bal := gen.InitialBalances()
	h := &workload.History{Meta: workload.Meta{Options: gen.Options()}}
	var inflight *workload.Transfer // a torn transfer's credit, not yet applied
	for i := 0; i < n; i++ {
		op := gen.Next(r, i%10)
		op.Index, op.Process, op.Type = int64(i), i%10, workload.OK
		op.Call = time.Duration(i) * time.Millisecond
		op.Return = op.Call + 3*time.Millisecond
		switch op.F {
		case workload.FTransfer:
			tr := op.Transfer
			if bal[tr.From] < tr.Amount {
				op.Type, op.Error = workload.Fail, "insufficient funds"
				break
			}
			bal[tr.From] -= tr.Amount
			if inflight == nil && r.Float64() < torn {
				inflight = tr
				break
			}
			bal[tr.To] += tr.Amount
		case workload.FBalances:
			op.Balances = make(map[string]int64, len(bal))
			for a, b := range bal {
				op.Balances[a] = b
			}
			if inflight != nil {
				bal[inflight.To] += inflight.Amount
				inflight = nil
			}
		}
		h.Ops = append(h.Ops, op)
	}
	return h, gen
}

func TestBankSimulated(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		h, _ := simBank(t, 5000, 5, 0, seed)
		if res := (Bank{}).Check(context.Background(), h); res.Verdict != Pass {
			t.Errorf("seed %d, atomic bank: %s", seed, res.Summary)
		}
		h, _ = simBank(t, 5000, 5, 0.05, seed)
		res := Bank{}.Check(context.Background(), h)
		if res.Verdict != Fail || res.Metrics["bad_reads"] == 0 || res.Metrics["min_total"] >= 500 {
			t.Errorf("seed %d, torn transfers: %s", seed, res.Summary)
		}
	}
}

func TestBankCancelled(t *testing.T) {
	h, _ := simBank(t, 100, 3, 0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := (Bank{}).Check(ctx, h); res.Verdict != Unknown {
		t.Errorf("cancelled: %s, want unknown", res.Verdict)
	}
}

// BenchmarkBank checks simulated bank histories of 5 accounts, half of
// the operations full reads.
func BenchmarkBank(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		h, _ := simBank(b, n, 5, 0, 1)
		b.Run(map[int]string{100_000: "100k", 1_000_000: "1M"}[n], func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if res := (Bank{}).Check(context.Background(), h); res.Verdict != Pass {
					b.Fatal(res.Summary)
				}
			}
		})
	}
}
