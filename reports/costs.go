package reports

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"

	"github.com/faultline-dev/faultline/cost"
	"github.com/faultline-dev/faultline/workload"
)

// Priced is one way to run an engine at the target workload on one
// cloud: self-hosted (its measured use, sized by the cost model) or a
// managed offering that stands in for it.
type Priced struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Kind  string `json:"kind"`
	Cloud string `json:"cloud"`
	// P10, P50 and P90 are USD a month over the cost model's draws;
	// PerKOps the fitted mean per 1,000 operations per second.
	P10     float64 `json:"p10"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	PerKOps float64 `json:"per_1000_ops_per_second"`
	// Resilience is the cost at each survival level and its premium over
	// a single zone.
	Resilience []cost.Level `json:"resilience"`
}

// CostRow prices one engine entry from the measured use of one of its
// cells, on each cloud the requirements allow.
type CostRow struct {
	Engine string `json:"engine"`
	// Cell is the cell whose measured use is priced (a baseline cell
	// when there is one); Link its report's cost section.
	Cell string `json:"cell,omitempty"`
	Link string `json:"link,omitempty"`
	// Why says why the engine is not priced.
	Why string `json:"why,omitempty"`
	// Survive is the survival level priced.
	Survive string `json:"survive"`
	// SelfHosted holds one entry per cloud; Managed every supported
	// managed offering on those clouds, cheapest first.
	SelfHosted []Priced `json:"self_hosted"`
	Managed    []Priced `json:"managed"`
	// Unsupported lists the offerings that cannot run at the survival
	// level, with why.
	Unsupported []string `json:"unsupported,omitempty"`
	// Cheapest is the cheapest of all by P50, nil if nothing was priced.
	Cheapest *Priced  `json:"cheapest,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// costSamples is the Monte Carlo draws per estimate.
const costSamples = 500

// costRows prices each engine entry (see CostRow). An engine that cannot
// be priced gets a row that says why.
func costRows(ctx context.Context, m Matrix, cells []CellView, cat *cost.Catalog) []CostRow {
	clouds := m.Requirements.Clouds
	if len(clouds) == 0 {
		clouds = []string{m.Cost.Cloud}
	}
	var out []CostRow
	for _, e := range m.Engines {
		row := CostRow{Engine: e.ID, Survive: m.Requirements.CostSurvival()}
		if cat == nil {
			row.Why = "no price catalog"
			out = append(out, row)
			continue
		}
		var errs []error
		for _, c := range pricingOrder(m, cells, e.ID) {
			if ctx.Err() != nil {
				break
			}
			err := priceCell(&row, m, c, e, clouds, cat)
			if err == nil {
				break
			}
			errs = append(errs, fmt.Errorf("%s: %w", c.ID, err))
		}
		if row.Cell == "" {
			row.Why = "no cell of it ran"
			if len(errs) > 0 {
				row.Why = errors.Join(errs...).Error()
			}
		}
		out = append(out, row)
	}
	return out
}

// pricingOrder lists an engine's cells with evidence, baseline cells
// (no fault) first, then by acknowledged throughput, highest first.
func pricingOrder(m Matrix, cells []CellView, engine string) []CellView {
	var out []CellView
	for _, c := range cells {
		if c.Engine == engine && c.Report != nil {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		bi, bj := m.Fault(out[i].Fault).Kind == BaselineKind, m.Fault(out[j].Fault).Kind == BaselineKind
		if bi != bj {
			return bi
		}
		return nanLess(out[j].Throughput, out[i].Throughput)
	})
	return out
}

func nanLess(a, b float64) bool {
	if math.IsNaN(a) {
		return !math.IsNaN(b)
	}
	return !math.IsNaN(b) && a < b
}

// priceCell fills row from one cell's history, on every cloud.
func priceCell(row *CostRow, m Matrix, c CellView, e MatrixEngine, clouds []string, cat *cost.Catalog) error {
	h, err := workload.ReadFile(filepath.Join(m.Dir, c.Dir, "history.jsonl"))
	if err != nil {
		return err
	}
	p, err := cost.ProfileFromHistory(h, cost.ProfileOptions{})
	if err != nil {
		return err
	}
	var self, managed []Priced
	var unsupported, notes []string
	for _, cloud := range clouds {
		est, err := cost.Compute(cat, p, cost.Options{
			Target: m.Cost.Target, Cloud: cloud, Survive: row.Survive, Commitment: m.Cost.Commitment,
			Engine: e.Name, Samples: costSamples, Seed: m.Seed,
		})
		if err != nil {
			return err
		}
		for _, o := range est.Offerings {
			if o.Unsupported != "" {
				unsupported = append(unsupported, fmt.Sprintf("%s on %s: %s", o.Title, cloud, o.Unsupported))
				continue
			}
			pr := Priced{ID: o.ID, Title: o.Title, Kind: o.Kind, Cloud: cloud, P10: o.P10, P50: o.P50, P90: o.P90, PerKOps: o.PerKOps, Resilience: o.Resilience}
			if o.Kind == cost.SelfHosted {
				self = append(self, pr)
			} else if !containsPriced(managed, pr) {
				managed = append(managed, pr)
			}
		}
		for _, n := range est.Notes {
			if !containsString(notes, n) {
				notes = append(notes, n)
			}
		}
	}
	sort.SliceStable(managed, func(i, j int) bool { return managed[i].P50 < managed[j].P50 })
	row.Cell, row.Link = c.ID, filepath.ToSlash(filepath.Join(c.Dir, HTMLFile))+"#cost"
	row.SelfHosted, row.Managed, row.Unsupported, row.Notes = self, managed, unsupported, notes
	for _, pr := range append(append([]Priced{}, self...), managed...) {
		if row.Cheapest == nil || pr.P50 < row.Cheapest.P50 {
			pr := pr
			row.Cheapest = &pr
		}
	}
	return nil
}

func containsPriced(ps []Priced, p Priced) bool {
	for _, q := range ps {
		if q.ID == p.ID && q.Cloud == p.Cloud {
			return true
		}
	}
	return false
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Config is the cheapest configuration that meets every requirement: an
// engine entry and a way to run it.
type Config struct {
	Engine string `json:"engine"`
	Priced Priced `json:"priced"`
	// StandsIn is set when the way is a managed offering: faultline
	// measured the engine, not the offering.
	StandsIn bool `json:"stands_in,omitempty"`
}

// cheapestMeetingAll is the cheapest way to run an engine that meets
// every requirement asked (and, when none is asked, the cheapest way
// overall), or nil.
func cheapestMeetingAll(rows []RequirementRow, costs []CostRow, req Requirements) *Config {
	var best *Config
	for _, r := range rows {
		if r.Count(NotMet) > 0 || r.Count(NotMeasured) > 0 {
			continue
		}
		for _, c := range costs {
			if c.Engine != r.Engine || c.Cheapest == nil {
				continue
			}
			if best == nil || c.Cheapest.P50 < best.Priced.P50 {
				best = &Config{Engine: r.Engine, Priced: *c.Cheapest, StandsIn: c.Cheapest.Kind != cost.SelfHosted}
			}
		}
	}
	return best
}
