package scenarios

import (
	"context"
	"html/template"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/cost"
	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/workload"
)

// Checkers returns the checkers a scenario's workload calls for, with the
// scenario's budgets: register runs linearizable, rpo (unless its mix has
// no ledger inserts), rto, stats and budget; bank runs bank, rto, stats and budget; append runs append, rto,
// stats and budget; ledger runs rpo, rto, stats and budget.
func Checkers(s *Scenario) []check.Checker {
	c := s.Checks
	var out []check.Checker
	switch s.Workload.Kind {
	case WorkloadRegister:
		if c.Linearizable == nil || on(c.Linearizable.Enabled) {
			l := check.Linearizable{Timeout: DefaultCheckTimeout}
			if c.Linearizable != nil && c.Linearizable.Timeout > 0 {
				l.Timeout = c.Linearizable.Timeout
			}
			out = append(out, l)
		}
		if s.Workload.Mix == nil || s.Workload.Mix.Ledger > 0 {
			out = appendRPO(out, c)
		}
	case WorkloadLedger:
		out = appendRPO(out, c)
	default:
		out = append(out, kindCheckers(s)...)
	}
	if c.RTO == nil || on(c.RTO.Enabled) {
		r := check.RTO{}
		if c.RTO != nil {
			r.Max = c.RTO.Max
		}
		out = append(out, r)
	}
	out = append(out, check.Stats{})
	b := check.Budget{}
	if c.Throughput != nil {
		b.MinThroughput = c.Throughput.Min
	}
	if c.Latency != nil {
		b.MaxP99 = c.Latency.P99Max
	}
	return append(out, b)
}

func appendRPO(out []check.Checker, c Checks) []check.Checker {
	if c.RPO != nil && !on(c.RPO.Enabled) {
		return out
	}
	r := check.RPO{}
	if c.RPO != nil {
		r.MaxLostWrites = c.RPO.MaxLostWrites
	}
	return append(out, r)
}

// CostOptions are the options the report prices the run with. A target
// that does not parse is an error, with the other options still set.
func (s *Scenario) CostOptions() (cost.Options, error) {
	o := cost.Options{Target: cost.DefaultTarget(), Cloud: s.Cost.Cloud, Survive: s.Cost.Survive, Commitment: s.Cost.Commitment, Seed: s.Seed}
	if s.Cost.Target == "" {
		return o, nil
	}
	t, err := cost.ParseTarget(s.Cost.Target)
	o.Target = t
	return o, err
}

// costSection prices the run for the report. A run that cannot be priced
// (too short, nothing sampled) gets a section that says why.
func costSection(s *Scenario, h *workload.History) reports.Section {
	est, err := estimate(s, h)
	if err != nil {
		msg := "Not estimated: " + err.Error()
		return reports.Section{Title: "Cost", HTML: template.HTML("<p>" + template.HTMLEscapeString(msg) + "</p>"), Markdown: msg + "\n"}
	}
	title, html, md := cost.Section(est)
	return reports.Section{Title: title, HTML: html, Markdown: md, Data: est}
}

func estimate(s *Scenario, h *workload.History) (*cost.Estimate, error) {
	opts, err := s.CostOptions()
	if err != nil {
		return nil, err
	}
	cat, err := cost.Load()
	if err != nil {
		return nil, err
	}
	p, err := cost.ProfileFromHistory(h, cost.ProfileOptions{})
	if err != nil {
		return nil, err
	}
	return cost.Compute(cat, p, opts)
}

// writeReport writes the run's reports and returns the path of
// report.html.
func writeReport(ctx context.Context, dir string, s *Scenario, h *workload.History, out *Outcome) (string, error) {
	run := reports.Run{History: h, Results: out.Results}
	if out.Infra != nil {
		run.InfraError = out.Infra.Error()
	}
	if on(s.Cost.Enabled) {
		run.Sections = append(run.Sections, costSection(s, h))
	}
	if _, err := reports.Write(ctx, dir, run); err != nil {
		return "", err
	}
	return reportPath(dir), nil
}

func reportPath(dir string) string { return dir + "/" + reports.HTMLFile }
