package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/check/elle"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/scenarios"
	"github.com/faultline-dev/faultline/workload"
	"github.com/faultline-dev/faultline/workload/jepsen"
)

type checkFlags struct {
	format    string
	model     string
	out       string
	isolation string
	timeout   time.Duration
	bankTotal int64
	accounts  []string
}

func newCheckCmd() *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check RUN_DIR | HISTORY_FILE",
		Short: "Re-run the checkers on a saved run or on a Jepsen or Elle history, offline",
		Long: `Check a saved run again (its scenario.yaml decides the checkers and budgets),
or judge a history file: faultline's own JSON lines, a Jepsen/Knossos EDN
history, or an elle-cli JSON history. Verdicts go to stderr; with --out, the
reports are written to that directory and the last line on stdout is its
report.html.`,
		Example: `  faultline check runs/quickstart-20261123-101500
  faultline check history.edn --format jepsen-edn --model list-append --isolation serializable
  faultline check bank.edn --format jepsen-edn --model bank --bank-total 100 --bank-accounts 0,1,2,3,4
  faultline check history.jsonl --model register --out /tmp/recheck`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runCheck(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "faultline", "history format: faultline, jepsen-edn or elle-json")
	fl.StringVar(&f.model, "model", "", "consistency model: register, cas-register, bank or list-append (default: the run's workload)")
	fl.StringVar(&f.out, "out", "", "write the reports (result.json, report.html, summary.md, junit.xml) into this directory")
	fl.StringVar(&f.isolation, "isolation", "", "list-append: the isolation level the database promises (default: the history's, else strict-serializable)")
	fl.DurationVar(&f.timeout, "timeout", scenarios.DefaultCheckTimeout, "linearizability: give up (verdict unknown) after this long")
	fl.Int64Var(&f.bankTotal, "bank-total", 0, "bank: the total every read must sum to (default: the history's)")
	fl.StringSliceVar(&f.accounts, "bank-accounts", nil, "bank: the accounts every read must show (default: the history's)")
	return cmd
}

func runCheck(cmd *cobra.Command, arg string, f checkFlags) error {
	h, checkers, err := loadForCheck(arg, f)
	if err != nil {
		return inputError(err)
	}
	results := check.Run(cmd.Context(), h, checkers...)
	printVerdicts(cmd.ErrOrStderr(), results)
	if f.out != "" {
		if _, err := reports.Write(cmd.Context(), f.out, reports.Run{History: h, Results: results}); err != nil {
			return infraError(err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(f.out, reports.HTMLFile))
	}
	return exitCode(check.Overall(results), "")
}

// loadForCheck reads the history and decides its checkers.
func loadForCheck(arg string, f checkFlags) (*workload.History, []check.Checker, error) {
	var problems []error
	format, err := jepsen.ParseFormat(f.format)
	if err != nil && f.format != "faultline" {
		problems = append(problems, fmt.Errorf("--format: %w", err))
	}
	if f.model != "" {
		if _, err := jepsen.ParseModel(f.model); err != nil {
			problems = append(problems, fmt.Errorf("--model: %w", err))
		}
	}
	if f.isolation != "" {
		if _, err := elle.ParseLevel(f.isolation); err != nil {
			problems = append(problems, fmt.Errorf("--isolation: %w", err))
		}
	}
	if len(problems) > 0 {
		return nil, nil, errors.Join(problems...)
	}
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, nil, err
	}
	if fi.IsDir() {
		return loadRunDir(arg, f)
	}
	var h *workload.History
	if f.format == "faultline" {
		h, err = workload.ReadFile(arg)
	} else {
		if f.model == "" {
			return nil, nil, fmt.Errorf("--model: required for a %s history (register, cas-register, bank or list-append)", f.format)
		}
		h, err = jepsen.ReadFile(arg, format, f.model)
	}
	if err != nil {
		return nil, nil, err
	}
	model := f.model
	if model == "" {
		model = modelOf(h)
	}
	cs, err := modelCheckers(model, f, hasLedger(h))
	return h, cs, err
}

// hasLedger reports whether a history has ledger inserts to judge RPO by.
func hasLedger(h *workload.History) bool {
	for _, o := range h.Ops {
		if o.F == workload.FLedgerAdd {
			return true
		}
	}
	return false
}

// loadRunDir reads a run directory: its history and its scenario, whose
// checks and budgets decide the checkers (--model overrides them).
func loadRunDir(dir string, f checkFlags) (*workload.History, []check.Checker, error) {
	path, err := workload.FindHistory(dir)
	if err != nil {
		return nil, nil, err
	}
	h, err := workload.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if f.model != "" {
		cs, err := modelCheckers(f.model, f, hasLedger(h))
		return h, cs, err
	}
	s, err := scenarios.Load(filepath.Join(dir, "scenario.yaml"))
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not a run directory (no readable scenario.yaml: %w); pass --model", dir, err)
	}
	s.ApplyDefaults()
	return h, scenarios.Checkers(s), nil
}

// modelOf names the model a history was recorded or imported for.
func modelOf(h *workload.History) string {
	switch {
	case h.Meta.Model != "":
		return h.Meta.Model
	case h.Meta.Workload == scenarios.WorkloadAppend:
		return jepsen.ModelListAppend
	case h.Meta.Workload == scenarios.WorkloadBank:
		return jepsen.ModelBank
	}
	return jepsen.ModelRegister
}

// modelCheckers are the checkers for a consistency model (with RPO when
// the history has ledger inserts), plus RTO and stats, which need only
// writes and times.
func modelCheckers(model string, f checkFlags, ledger bool) ([]check.Checker, error) {
	var cs []check.Checker
	switch model {
	case jepsen.ModelRegister, jepsen.ModelCASRegister:
		cs = append(cs, check.Linearizable{Timeout: f.timeout})
		if ledger {
			cs = append(cs, check.RPO{})
		}
	case jepsen.ModelBank:
		cs = append(cs, check.Bank{Total: f.bankTotal, Accounts: f.accounts})
	case jepsen.ModelListAppend:
		var lvl elle.Level
		if f.isolation != "" {
			lvl, _ = elle.ParseLevel(f.isolation)
		}
		cs = append(cs, elle.Checker{Expect: lvl})
	default:
		return nil, fmt.Errorf("--model: unknown model %q (want register, cas-register, bank or list-append)", excerpt.Value(model))
	}
	if (f.bankTotal != 0 || len(f.accounts) > 0) && model != jepsen.ModelBank {
		return nil, fmt.Errorf("--bank-total, --bank-accounts: only for the bank model, not %s", model)
	}
	return append(cs, check.RTO{}, check.Stats{}), nil
}
