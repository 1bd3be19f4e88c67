package scenarios

import (
	"fmt"
	"maps"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/elle"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/workload"
)

// newGenerator builds the generator of the scenario's workload, and the
// options it adds to the history's metadata for the checkers (the bank's
// accounts and total).
func newGenerator(s *Scenario) (workload.Generator, map[string]string, error) {
	w := s.Workload
	switch w.Kind {
	case WorkloadRegister:
		mix := workload.DefaultMix
		if w.Mix != nil {
			mix = workload.Mix{Read: w.Mix.Read, Write: w.Mix.Write, CAS: w.Mix.CAS, Ledger: w.Mix.Ledger}
		}
		return workload.NewRegister(w.Keys, mix), nil, nil
	case WorkloadBank:
		b, err := workload.NewBank(w.Accounts, w.Total)
		if err != nil {
			return nil, nil, err
		}
		return b, b.Options(), nil
	case WorkloadAppend:
		g, err := workload.NewListAppend(workload.ListAppendOptions{Keys: w.Keys, MaxTxnLen: w.MaxTxnLength})
		if err != nil {
			return nil, nil, err
		}
		return g, nil, nil
	case WorkloadLedger:
		return workload.NewLedger(), nil, nil
	}
	return nil, nil, fmt.Errorf("workload %q: no generator", excerpt.Value(w.Kind))
}

// kindCheckers are the consistency checkers of the bank and append
// workloads.
func kindCheckers(s *Scenario) []check.Checker {
	c := s.Checks
	switch s.Workload.Kind {
	case WorkloadBank:
		if c.Bank == nil || on(c.Bank.Enabled) {
			return []check.Checker{check.Bank{}}
		}
	case WorkloadAppend:
		if c.Append == nil || on(c.Append.Enabled) {
			return []check.Checker{elle.Checker{Expect: expectedIsolation(s)}}
		}
	}
	return nil
}

// expectedIsolation is the level an append check holds the engine to: the
// one the scenario's checks name (Validate fills it in from the level the
// engine's clients claim for the isolation they ask for), else the
// isolation option read as a level, else serializable.
func expectedIsolation(s *Scenario) elle.Level {
	if a := s.Checks.Append; a != nil && a.Isolation != "" {
		if l, err := elle.ParseLevel(a.Isolation); err == nil {
			return l
		}
	}
	if iso := s.Workload.Options["isolation"]; iso != "" {
		if l, err := elle.ParseLevel(iso); err == nil {
			return l
		}
	}
	return elle.Serializable
}

// withOptions returns m with extra's entries added.
func withOptions(m, extra map[string]string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, extra)
	return out
}
