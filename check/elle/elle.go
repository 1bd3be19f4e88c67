// Package elle checks list-append histories for isolation anomalies, as
// Jepsen's Elle does ("Elle: Inferring Isolation Anomalies from
// Experimental Observations", Kingsbury & Alvaro, VLDB 2020).
//
// Transactions append unique values to lists and read whole lists, so every
// read reveals the order of the appends before it. The checker takes each
// key's longest read as its version order, checks every read against it,
// infers write-write, write-read and read-write (anti-)dependencies between
// transactions plus process and real-time order, and looks for cycles in
// each strongly connected component of that graph. Each anomaly comes with
// the operations and the reads and appends that prove it.
//
// Result metrics (besides the anomaly counts, one per kind, named
// "anomalies_" and the kind with "-" as "_", such as anomalies_g_single):
//
//	txns, ok_txns, info_txns, fail_txns  transactions by outcome
//	keys                                 keys touched
//	edges_ww, edges_wr, edges_rw,        dependency edges inferred, by kind
//	edges_process, edges_realtime
//	sccs                                 strongly connected components with a cycle
//	largest_scc                          transactions in the largest of them
//	anomalies                            anomalies of every kind
//
// Result facts:
//
//	expected         the isolation level the check held the history to
//	consistent_with  the strongest level the anomalies found allow
//	                 ("unknown" if the search did not finish, "none" if
//	                 even read uncommitted is violated)
//	violates         the weakest levels the anomalies found rule out
//	anomaly_types    the kinds found, comma-separated
package elle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/workload"
)

// OptionIsolation is the History.Meta.Options key naming the isolation
// level a run asked its database for; the checker holds the history to it
// when Checker.Expect is empty.
const OptionIsolation = "isolation"

// Defaults for the Checker's zero fields.
const (
	DefaultMaxAnomalies = 10
	DefaultSearchBudget = 5_000_000
	DefaultExpect       = StrictSerializable
)

// Checker is the list-append checker. The zero value is ready to use.
type Checker struct {
	// Expect is the isolation level the database promises: the check fails
	// if an anomaly that level forbids appears; anomalies it allows are
	// reported and the check passes. Empty: the history's
	// Meta.Options[OptionIsolation], or else DefaultExpect (as Elle).
	Expect Level
	// MaxAnomalies is how many anomalies of each kind the result lists
	// (default 10); the metrics count all of them.
	MaxAnomalies int
	// SearchBudget bounds, in edges examined, the extra search in each
	// strongly connected component for a shorter or more specific cycle
	// once one is found (default 5,000,000). Which anomalies are present
	// is decided regardless of it; only the witness quoted, and whether
	// a cycle snapshot isolation forbids is labelled G-single or
	// G-nonadjacent, depend on it.
	SearchBudget int
}

// Name implements check.Checker.
func (c Checker) Name() string { return "list-append" }

// Validate reports a bad Expect level.
func (c Checker) Validate() error {
	if c.Expect != "" && !c.Expect.Valid() {
		_, err := ParseLevel(string(c.Expect))
		return fmt.Errorf("list-append: expect: %w", err)
	}
	return nil
}

// Check implements check.Checker. It returns Unknown when the history
// cannot be checked as list-append, holds no committed transaction, or
// ctx ends before every component was searched and no forbidden anomaly
// was found by then.
func (c Checker) Check(ctx context.Context, h *workload.History) check.Result {
	res := check.Result{Checker: c.Name(), Verdict: check.Unknown}
	expect, err := c.expect(h)
	if err != nil {
		res.Summary = err.Error()
		return res
	}
	a, err := analyze(h)
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			res.Anomalies = []check.Anomaly{{Kind: "unusable-history", Explanation: ie.Reason, Ops: []int64{ie.Op}}}
		}
		res.Summary = "cannot check as list-append: " + err.Error()
		return res
	}
	f := newFindings(cmp.Or(c.MaxAnomalies, DefaultMaxAnomalies))
	a.readAnomalies(f)
	complete := ctx.Err() == nil
	var (
		stats  searchStats
		counts [8]int
	)
	if complete {
		var g *csr
		g, counts = a.graph()
		s := &searcher{g: g, budget: cmp.Or(c.SearchBudget, DefaultSearchBudget)}
		var cycles []cycle
		cycles, stats, complete = s.run(ctx)
		for _, cy := range cycles {
			f.add(cy.kind, func() check.Anomaly { return a.explainCycle(cy) })
		}
	}
	res.Metrics = a.metrics(f, stats, counts)
	o := outcome{a: a, f: f, expect: expect, complete: complete, stats: stats}
	o.judge(&res)
	return res
}

// outcome is what one Check found, to be judged.
type outcome struct {
	a        *analysis
	f        *findings
	expect   Level
	complete bool // every component was searched
	stats    searchStats
}

func (c Checker) expect(h *workload.History) (Level, error) {
	if c.Expect != "" {
		if err := c.Validate(); err != nil {
			return "", err
		}
		return c.Expect, nil
	}
	if s := h.Meta.Options[OptionIsolation]; s != "" {
		l, err := ParseLevel(s)
		if err != nil {
			return "", fmt.Errorf("list-append: meta option %s: %w", OptionIsolation, err)
		}
		return l, nil
	}
	return DefaultExpect, nil
}

// judge sets the verdict, facts, anomalies and summary.
func (o *outcome) judge(res *check.Result) {
	expect := o.expect
	kinds := slices.Sorted(maps.Keys(o.f.counts))
	consistent, violated := boundary(kinds)
	res.Facts = map[string]string{
		"expected":        string(expect),
		"consistent_with": levelList(consistent),
		"violates":        levelList(violated),
		"anomaly_types":   strings.Join(kinds, ","),
	}
	if len(consistent) == 0 {
		res.Facts["consistent_with"] = "none"
	}
	if !o.complete {
		res.Facts["consistent_with"] = "unknown"
	}
	if len(violated) == 0 {
		delete(res.Facts, "violates")
	}
	if len(kinds) == 0 {
		delete(res.Facts, "anomaly_types")
	}
	var forbidden []string
	for _, k := range kinds {
		if expect.Forbids(k) {
			forbidden = append(forbidden, k)
		}
	}
	// Most severe first: what the expected level forbids, then by the
	// weakest level each kind violates.
	res.Anomalies = o.f.kept
	slices.SortStableFunc(res.Anomalies, func(x, y check.Anomaly) int {
		return cmp.Or(
			cmp.Compare(b2i(!expect.Forbids(x.Kind)), b2i(!expect.Forbids(y.Kind))),
			cmp.Compare(rank(x.Kind), rank(y.Kind)))
	})
	switch {
	case len(forbidden) > 0:
		res.Verdict = check.Fail
	case !o.complete:
		res.Verdict = check.Unknown
	case res.Metrics["ok_txns"] == 0:
		res.Verdict = check.Unknown
	default:
		res.Verdict = check.Pass
	}
	res.Summary = o.summary(res.Metrics, kinds, forbidden)
}

func (o *outcome) summary(metrics map[string]float64, kinds, forbidden []string) string {
	m := fmt.Sprintf("%d txns (%.0f ok, %.0f info, %.0f failed) over %d keys",
		len(o.a.txns), metrics["ok_txns"], metrics["info_txns"], metrics["fail_txns"], len(o.a.keys))
	if metrics["ok_txns"] == 0 {
		return m + ": no committed transaction to check"
	}
	var found []string
	for _, k := range kinds {
		found = append(found, fmt.Sprintf("%s ×%d", k, o.f.counts[k]))
	}
	if len(kinds) == 0 {
		m += ": no anomalies"
	} else {
		m += ": " + strings.Join(found, ", ")
	}
	if len(forbidden) > 0 {
		m += fmt.Sprintf("; %s forbids %s", o.expect, strings.Join(forbidden, ", "))
	} else if len(kinds) > 0 {
		m += fmt.Sprintf("; all allowed by %s", o.expect)
	}
	if !o.complete {
		return m + fmt.Sprintf("; cycle search stopped after %d of %d components", o.stats.searched, o.stats.sccs)
	}
	cw, _ := boundary(kinds)
	if len(cw) > 0 {
		m += "; consistent with " + levelList(cw)
	}
	return m
}

func (a *analysis) metrics(f *findings, stats searchStats, counts [8]int) map[string]float64 {
	var outcomes [3]int
	for i := range a.txns {
		outcomes[a.txns[i].status]++
	}
	m := map[string]float64{
		"txns":           float64(len(a.txns)),
		"ok_txns":        float64(outcomes[committed]),
		"info_txns":      float64(outcomes[indeterminate]),
		"fail_txns":      float64(outcomes[aborted]),
		"keys":           float64(len(a.keys)),
		"edges_ww":       float64(counts[bitIndex(WW)]),
		"edges_wr":       float64(counts[bitIndex(WR)]),
		"edges_rw":       float64(counts[bitIndex(RW)]),
		"edges_process":  float64(counts[bitIndex(Process)]),
		"edges_realtime": float64(counts[bitIndex(Realtime)]),
		"sccs":           float64(stats.sccs),
		"largest_scc":    float64(stats.largest),
	}
	total := 0
	for k, n := range f.counts {
		m["anomalies_"+strings.ToLower(strings.ReplaceAll(k, "-", "_"))] = float64(n)
		total += n
	}
	m["anomalies"] = float64(total)
	return m
}

// rank orders anomaly kinds by the weakest level that forbids them.
func rank(kind string) int {
	for i, l := range Levels() {
		if l.Forbids(kind) {
			return i
		}
	}
	return len(Levels())
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
