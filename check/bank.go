package check

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/workload"
)

// Bank anomaly kinds.
const (
	BankWrongTotal        = "wrong-total"
	BankNegativeBalance   = "negative-balance"
	BankMissingAccount    = "missing-account"
	BankUnexpectedAccount = "unexpected-account"
)

// Bank checks Jepsen's bank invariant: every successful read of all
// balances shows exactly the bank's accounts, none negative, summing to
// the total. Transfers move money around but never create or destroy it,
// so a read that breaks the invariant saw a state no serializable (or
// snapshot isolated) execution produces: a transfer half applied, lost or
// applied twice.
//
// Metrics: reads_checked, bad_reads, min_total and max_total (over the
// reads checked). Per fault: reads and bad_reads among the reads that
// overlapped the fault's window.
type Bank struct {
	// Total is the amount every read must sum to, and Accounts the
	// accounts it must show. When Accounts is empty both come from the
	// history's Meta.Options (workload.OptBankAccounts and OptBankTotal),
	// as recorded by a bank run.
	Total    int64
	Accounts []string
	// MaxAnomalies is how many anomalies of each kind the result lists
	// (default 10); the metrics count all of them.
	MaxAnomalies int
}

// Name implements Checker.
func (b Bank) Name() string { return "bank" }

// Check implements Checker. It returns Unknown if the accounts are not
// known, if no balances read succeeded, or if ctx ends before every read
// was checked and no bad one was found by then.
func (b Bank) Check(ctx context.Context, h *workload.History) Result {
	res := Result{Checker: b.Name(), Verdict: Unknown}
	accounts, total := b.Accounts, b.Total
	if len(accounts) == 0 {
		var err error
		accounts, total, err = workload.BankFromOptions(h.Meta.Options)
		if err != nil {
			res.Summary = fmt.Sprintf("no accounts given and none recorded: %v", err)
			return res
		}
	}
	bc := bankCheck{
		total:    total,
		accounts: accounts,
		known:    map[string]bool{},
		max:      cmp.Or(b.MaxAnomalies, 10),
		counts:   map[string]int{},
		minTotal: math.MaxInt64,
		maxTotal: math.MinInt64,
	}
	for _, a := range accounts {
		bc.known[a] = true
	}
	complete := true
	var bad []workload.Op
	for i := range h.Ops {
		if i%4096 == 0 && ctx.Err() != nil {
			complete = false
			break
		}
		op := &h.Ops[i]
		if op.F != workload.FBalances || op.Type != workload.OK {
			continue
		}
		if !bc.read(op) {
			bad = append(bad, *op)
		}
	}
	res.Anomalies = bc.anomalies
	res.Metrics = map[string]float64{
		"reads_checked": float64(bc.reads),
		"bad_reads":     float64(len(bad)),
	}
	if bc.reads > 0 {
		res.Metrics["min_total"] = float64(bc.minTotal)
		res.Metrics["max_total"] = float64(bc.maxTotal)
	}
	res.Faults = bankFaults(h, bad)
	switch {
	case len(bad) > 0:
		res.Verdict = Fail
	case !complete || bc.reads == 0:
		res.Verdict = Unknown
	default:
		res.Verdict = Pass
	}
	res.Summary = bc.summary(len(bad), complete)
	return res
}

// bankCheck is the state of one Bank.Check.
type bankCheck struct {
	total    int64
	accounts []string
	known    map[string]bool
	max      int

	reads              int
	minTotal, maxTotal int64
	counts             map[string]int
	anomalies          []Anomaly
}

// read checks one balances read and reports whether it was good.
func (c *bankCheck) read(op *workload.Op) bool {
	c.reads++
	good := true
	var sum int64
	present := 0
	for _, a := range c.accounts {
		bal, ok := op.Balances[a]
		if ok {
			present++
		}
		switch {
		case !ok:
			good = false
			c.add(BankMissingAccount, op, "has no balance for account %s", a)
		case bal < 0:
			good = false
			c.add(BankNegativeBalance, op, "shows account %s at %d", a, bal)
		}
		sum += bal
	}
	if len(op.Balances) > present {
		for _, a := range bankSortedKeys(op.Balances) {
			if !c.known[a] {
				good = false
				sum += op.Balances[a]
				c.add(BankUnexpectedAccount, op, "shows account %s (balance %d), which the bank does not have", a, op.Balances[a])
			}
		}
	}
	c.minTotal = min(c.minTotal, sum)
	c.maxTotal = max(c.maxTotal, sum)
	if sum != c.total {
		good = false
		c.add(BankWrongTotal, op, "sums to %d, expected %d", sum, c.total)
	}
	return good
}

func (c *bankCheck) add(kind string, op *workload.Op, format string, args ...any) {
	c.counts[kind]++
	if c.counts[kind] > c.max {
		return
	}
	c.anomalies = append(c.anomalies, Anomaly{
		Kind:        kind,
		Explanation: fmt.Sprintf("read #%d at %s ", op.Index, bankSeconds(op.Call)) + fmt.Sprintf(format, args...),
		Ops:         []int64{op.Index},
	})
}

func (c *bankCheck) summary(bad int, complete bool) string {
	s := fmt.Sprintf("%d balance reads of %d accounts", c.reads, len(c.accounts))
	if c.reads == 0 {
		return s + ": no successful read to check"
	}
	if bad == 0 {
		s += fmt.Sprintf(", all summing to %d with no negative balance", c.total)
	} else {
		var kinds []string
		for _, k := range bankSortedKeys(c.counts) {
			kinds = append(kinds, fmt.Sprintf("%s ×%d", k, c.counts[k]))
		}
		s += fmt.Sprintf(": %d bad (%s); totals %d..%d, expected %d", bad, strings.Join(kinds, ", "), c.minTotal, c.maxTotal, c.total)
	}
	if !complete {
		s += "; stopped before the end of the history"
	}
	return s
}

// bankFaults counts, for each fault, the reads that overlapped its window
// and how many of them were bad.
func bankFaults(h *workload.History, bad []workload.Op) []FaultMetrics {
	if len(h.Faults) == 0 {
		return nil
	}
	end := h.End()
	var out []FaultMetrics
	for _, f := range h.Faults {
		fend := f.End
		if fend == 0 {
			fend = end
		}
		overlaps := func(op *workload.Op) bool { return op.Call <= fend && op.Return >= f.Start }
		reads, nbad := 0, 0
		for i := range h.Ops {
			op := &h.Ops[i]
			if op.F == workload.FBalances && op.Type == workload.OK && overlaps(op) {
				reads++
			}
		}
		for i := range bad {
			if overlaps(&bad[i]) {
				nbad++
			}
		}
		out = append(out, FaultMetrics{Fault: f.ID, Name: f.Name, Metrics: map[string]float64{
			"reads":     float64(reads),
			"bad_reads": float64(nbad),
		}})
	}
	return out
}

func bankSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func bankSeconds(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }
