package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Tolerance is how far a figure may move between a matrix and its
// baseline before the move counts as a regression: run-to-run noise.
type Tolerance struct {
	// RTOSeconds and RTOFraction: an RTO is worse when it grew by more
	// than both. Default 1 s and 25%.
	RTOSeconds, RTOFraction float64
	// Throughput: worse when it fell by more than this fraction. Default
	// 20%.
	Throughput float64
	// Cost: moved when an engine's cheapest P50 changed by more than this
	// fraction, either way. Default 10%.
	Cost float64
}

// DefaultTolerance is the tolerance when none is stated.
func DefaultTolerance() Tolerance {
	return Tolerance{RTOSeconds: 1, RTOFraction: 0.25, Throughput: 0.20, Cost: 0.10}
}

// Regression kinds.
const (
	RegressionFailure     = "new failure"
	RegressionAnomaly     = "new anomaly"
	RegressionSurvival    = "no longer survives"
	RegressionRequirement = "requirement no longer met"
	RegressionRTO         = "RTO worse"
	RegressionThroughput  = "throughput worse"
	RegressionCost        = "cost moved"
)

// Regression is one way a matrix did worse than its baseline.
type Regression struct {
	Kind string `json:"kind"`
	// Cell or Engine is what regressed; Was and Now the figures.
	Cell   string `json:"cell,omitempty"`
	Engine string `json:"engine,omitempty"`
	Was    string `json:"was"`
	Now    string `json:"now"`
	Link   string `json:"link,omitempty"`
}

// Regressions compares a matrix's selection with its baseline's, cell by
// cell and engine by engine (matched by id; what only one of them has is
// not compared): checks that passed and now fail, anomaly kinds not seen
// before, faults survived before and not now, requirements met before and
// not now, RTO and throughput worse beyond tol, and cost moving by more
// than tol either way.
func Regressions(base, cur *MatrixSelection, tol Tolerance) []Regression {
	var out []Regression
	was := map[string]CellView{}
	for _, c := range base.Cells {
		if c.Report != nil {
			was[c.ID] = c
		}
	}
	for _, c := range cur.Cells {
		b, ok := was[c.ID]
		if !ok || c.Report == nil {
			continue
		}
		add := func(kind, w, n string) {
			out = append(out, Regression{Kind: kind, Cell: c.ID, Was: w, Now: n, Link: c.Link()})
		}
		if b.Verdict != c.Verdict && c.Verdict.String() == "fail" {
			add(RegressionFailure, b.Verdict.String(), c.Verdict.String())
		}
		for _, a := range c.Anomalies {
			if !slices.Contains(b.Anomalies, a) {
				add(RegressionAnomaly, "not seen", a)
			}
		}
		if b.Survived != nil && *b.Survived && c.Survived != nil && !*c.Survived {
			add(RegressionSurvival, "survived", "did not survive")
		}
		switch {
		case b.Recovered && !c.Recovered && c.Survived != nil:
			add(RegressionRTO, fmt.Sprintf("%.1f s", b.RTO), "never recovered")
		case b.Recovered && c.Recovered && c.RTO-b.RTO > tol.RTOSeconds && c.RTO > b.RTO*(1+tol.RTOFraction):
			add(RegressionRTO, fmt.Sprintf("%.1f s", b.RTO), fmt.Sprintf("%.1f s", c.RTO))
		}
		if b.Throughput > 0 && c.Throughput < b.Throughput*(1-tol.Throughput) {
			add(RegressionThroughput, fmt.Sprintf("%.0f ops/s", b.Throughput), fmt.Sprintf("%.0f ops/s", c.Throughput))
		}
	}
	met := map[string]string{}
	for _, r := range base.Requirements {
		for _, d := range r.Decisions {
			met[r.Engine+"\x00"+d.Requirement+"\x00"+d.Asked] = d.Status
		}
	}
	for _, r := range cur.Requirements {
		for _, d := range r.Decisions {
			if met[r.Engine+"\x00"+d.Requirement+"\x00"+d.Asked] == Met && d.Status == NotMet {
				out = append(out, Regression{Kind: RegressionRequirement, Engine: r.Engine, Cell: d.Cell, Was: d.Requirement + " " + d.Asked + ": met", Now: strings.TrimSuffix(NotMet+": "+d.Why, ": "), Link: d.Link})
			}
		}
	}
	price := map[string]float64{}
	for _, c := range base.Costs {
		if c.Cheapest != nil {
			price[c.Engine] = c.Cheapest.P50
		}
	}
	for _, c := range cur.Costs {
		p, ok := price[c.Engine]
		if !ok || c.Cheapest == nil || p <= 0 {
			continue
		}
		if math.Abs(c.Cheapest.P50-p)/p > tol.Cost {
			out = append(out, Regression{Kind: RegressionCost, Engine: c.Engine, Was: money(p), Now: money(c.Cheapest.P50), Link: c.Link})
		}
	}
	return out
}

// engineIfNoCell names the engine of a regression that has no cell.
func (r Regression) engineIfNoCell() string {
	if r.Cell != "" {
		return ""
	}
	return r.Engine
}
