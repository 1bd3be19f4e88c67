package reports

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/cost"
)

// Matrix is a selection matrix as the report reads it: its engines,
// faults and workloads, what became of each cell, the requirements and
// the target workload to price. Package matrix builds it from a matrix
// run.
type Matrix struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Dir is the matrix directory; cells' Dir are relative to it.
	Dir          string         `json:"-"`
	Engines      []MatrixEngine `json:"engines"`
	Faults       []MatrixFault  `json:"faults"`
	Workloads    []string       `json:"workloads"`
	Cells        []MatrixCell   `json:"cells"`
	Requirements Requirements   `json:"requirements"`
	Cost         CostTarget     `json:"cost"`
	// WallSeconds is how long the matrix ran; Interrupted says it was cut
	// short.
	WallSeconds float64 `json:"wall_seconds"`
	Interrupted bool    `json:"interrupted,omitempty"`
	// Seed seeds the cost model's draws.
	Seed int64 `json:"seed"`
	// Notes are what the matrix says about itself (a region priced at
	// another region's rates).
	Notes []string `json:"notes,omitempty"`
}

// MatrixEngine is one engine entry: an id, the engine and its options.
type MatrixEngine struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Version  string            `json:"version,omitempty"`
	Platform string            `json:"platform"`
	Options  map[string]string `json:"options,omitempty"`
}

// Title names the entry for people: its id, with the engine's name and
// options when the id does not say them.
func (e MatrixEngine) Title() string {
	if e.ID == e.Name && len(e.Options) == 0 {
		return e.ID
	}
	var opts []string
	for _, k := range sortedKeys(e.Options) {
		opts = append(opts, k+"="+e.Options[k])
	}
	if len(opts) == 0 {
		return fmt.Sprintf("%s (%s)", e.ID, e.Name)
	}
	return fmt.Sprintf("%s (%s %s)", e.ID, e.Name, strings.Join(opts, " "))
}

// MatrixFault is one fault entry.
type MatrixFault struct {
	// ID names the fault in cell ids; Title in words.
	ID              string  `json:"id"`
	Title           string  `json:"title"`
	Kind            string  `json:"kind"`
	Target          string  `json:"target,omitempty"`
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
}

// MatrixCell is one cell and what became of it.
type MatrixCell struct {
	ID       string `json:"id"`
	Engine   string `json:"engine"`
	Fault    string `json:"fault"`
	Workload string `json:"workload"`
	// Dir is the cell's run directory, relative to the matrix directory.
	Dir string `json:"dir"`
	// Status is ran, resumed, not-run, not-applicable or interrupted;
	// Reason says why a cell has no evidence.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Evidence reports whether the cell ran to its end (now or before).
func (c MatrixCell) Evidence() bool { return c.Status == "ran" || c.Status == "resumed" }

// CostTarget is the workload to price and where.
type CostTarget struct {
	Target     cost.Target `json:"target"`
	Cloud      string      `json:"cloud"`
	Region     string      `json:"region"`
	Commitment string      `json:"commitment"`
}

// CellView is one cell with the figures the report shows for it, read
// from its result.json. Figures not measured are NaN (counts: -1).
type CellView struct {
	MatrixCell
	Report *Report `json:"-"`
	// Scope and Class are the fault's (see FaultScope, FaultClass).
	Scope string `json:"scope,omitempty"`
	Class string `json:"class,omitempty"`
	// Survived: writes resumed while the fault was in force (nil: not
	// measured, or no fault).
	Survived  *bool   `json:"survived,omitempty"`
	Recovered bool    `json:"recovered"`
	RTO       float64 `json:"rto_seconds"`
	WriteGap  float64 `json:"longest_write_gap_seconds"`
	// Lost is the acknowledged writes missing after recovery, -1 when the
	// workload cannot tell; Window the RPO window.
	Lost   float64 `json:"lost_writes"`
	Window float64 `json:"rpo_window_seconds"`
	// Drop is the throughput lost while the fault was in force, as a
	// fraction of the throughput before it.
	Drop float64 `json:"throughput_drop"`
	// Throughput is the run's ok operations per second.
	Throughput float64 `json:"ops_per_second"`
	// Anomalies are the consistency anomalies found, as "checker: kind";
	// Isolation the level the clients asked for (append workloads).
	Anomalies []string `json:"anomalies,omitempty"`
	Isolation string   `json:"isolation,omitempty"`
	// Linearizable is the linearizability check's verdict, nil if it did
	// not run.
	Linearizable *check.Verdict `json:"linearizable,omitempty"`
	// AppendKinds are the list-append anomaly kinds; AppendComplete says
	// the list-append search finished (nil: no list-append check).
	AppendKinds    []string      `json:"-"`
	AppendComplete *bool         `json:"-"`
	Verdict        check.Verdict `json:"verdict"`
	// Anchor is the section of the cell's report.html that decides its
	// figures.
	Anchor string `json:"anchor"`
}

// SurvivalMargin is how long before its heal a fault's writes must have
// come back for the engine to count as having survived it: heal takes
// effect before its end is recorded, so writes resuming within this much
// of the end came back because of the heal.
const SurvivalMargin = 1.0

// cellView reads a cell's result.json and derives its figures.
func cellView(dir string, c MatrixCell, f MatrixFault) (CellView, error) {
	v := CellView{MatrixCell: c, RTO: math.NaN(), WriteGap: math.NaN(), Lost: -1, Window: math.NaN(), Drop: math.NaN(), Throughput: math.NaN(),
		Scope: FaultScope(f.Kind, f.Target), Class: FaultClass(f.Kind, f.Target), Verdict: check.Unknown, Anchor: "checks"}
	if !c.Evidence() {
		return v, nil
	}
	rep, err := Read(filepath.Join(dir, c.Dir))
	if err != nil {
		return v, err
	}
	v.Report, v.Verdict = rep, rep.Verdict
	v.Throughput = statOr(rep.Stats, "ops_per_second")
	v.Isolation = rep.Run.Options["isolation"]
	for _, ch := range rep.Checks {
		for _, a := range ch.Anomalies {
			if k := ch.Checker + ": " + a.Kind; !slices.Contains(v.Anomalies, k) {
				v.Anomalies = append(v.Anomalies, k)
			}
		}
		switch ch.Checker {
		case (check.Linearizable{}).Name():
			vd := ch.Verdict
			v.Linearizable = &vd
		case "list-append":
			done := ch.Facts["consistent_with"] != "unknown" && ch.Verdict != check.Unknown || ch.Verdict == check.Fail
			v.AppendComplete = &done
			if k := ch.Facts["anomaly_types"]; k != "" {
				v.AppendKinds = strings.Split(k, ",")
			}
		case (check.RPO{}).Name():
			if l, ok := ch.Metrics["lost"]; ok {
				v.Lost = l
			}
		}
	}
	if len(rep.Faults) == 0 {
		return v, nil
	}
	fr := rep.Faults[0]
	v.Anchor = fmt.Sprintf("fault-%d", fr.ID)
	if fr.Error != "" {
		return v, nil
	}
	v.Recovered = metric(fr, "recovered") == 1
	v.RTO, v.WriteGap, v.Window = metric(fr, "rto_seconds"), metric(fr, "longest_write_gap_seconds"), metric(fr, "rpo_window_seconds")
	if l := metric(fr, "lost_writes"); !math.IsNaN(l) {
		v.Lost = l
	}
	if before, during := metric(fr, "before_ops_per_second"), metric(fr, "during_ops_per_second"); before > 0 {
		v.Drop = math.Max(0, 1-during/before)
	}
	if _, ok := fr.Metric("recovered"); ok && !fr.Open && v.Scope != "" {
		s := v.Recovered && v.RTO+SurvivalMargin < fr.EndSeconds-fr.StartSeconds
		v.Survived = &s
	}
	return v, nil
}

func metric(f FaultRow, name string) float64 {
	if v, ok := f.Metric(name); ok {
		return v
	}
	return math.NaN()
}

// MatrixSelection is the engine-selection report of a matrix.
type MatrixSelection struct {
	Matrix Matrix
	// Cells holds every cell with its figures, in the matrix's order.
	Cells []CellView
	// Requirements holds one row per engine entry, in matrix order.
	Requirements []RequirementRow
	// Expected sets each documented expectation beside the measurement,
	// one row per cell with evidence and an expectation.
	Expected []ExpectedRow
	// Costs holds one row per engine entry.
	Costs []CostRow
	// Best is the cheapest configuration that meets every requirement,
	// nil if none does.
	Best *Config
	// Ranking is the recommendation: every engine entry, best first.
	Ranking []Ranked
	// Notes say what the report could not do.
	Notes []string
	// Baseline names the earlier matrix run compared with (empty: none);
	// Regressions are what got worse since (see Regressions).
	Baseline    string
	Regressions []Regression
}

// Select reads every cell of a matrix with evidence, decides each
// requirement for each engine, sets expectations beside measurements,
// prices each engine from its measured use, and ranks the engines. It
// returns an error only for cells that say they ran and cannot be read.
func Select(ctx context.Context, m Matrix, cat *cost.Catalog) (*Selection, error) {
	ms := &MatrixSelection{Matrix: m}
	faultsByID := map[string]MatrixFault{}
	for _, f := range m.Faults {
		faultsByID[f.ID] = f
	}
	var errs []error
	var dirs []string
	for _, c := range m.Cells {
		v, err := cellView(m.Dir, c, faultsByID[c.Fault])
		if err != nil {
			errs = append(errs, fmt.Errorf("cell %s: %w", c.ID, err))
		}
		ms.Cells = append(ms.Cells, v)
		if v.Report != nil {
			dirs = append(dirs, filepath.Join(m.Dir, c.Dir))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	ms.Expected = expectedRows(m, ms.Cells)
	ms.Costs = costRows(ctx, m, ms.Cells, cat)
	for _, e := range m.Engines {
		ms.Requirements = append(ms.Requirements, Evaluate(m.Requirements, e.ID, ms.cellsOf(e.ID), ms.costOf(e.ID)))
	}
	ms.Ranking = Rank(ms.Requirements, ms.Costs)
	ms.Best = cheapestMeetingAll(ms.Requirements, ms.Costs, m.Requirements)
	sel := &Selection{Matrix: ms}
	for _, d := range dirs {
		rep, err := Read(d)
		if err != nil {
			return nil, err
		}
		sel.Runs = append(sel.Runs, runRow(d, rep))
	}
	sel.Engines = engineRows(sel.Runs)
	return sel, nil
}

func (ms *MatrixSelection) cellsOf(engine string) []CellView {
	var out []CellView
	for _, c := range ms.Cells {
		if c.Engine == engine {
			out = append(out, c)
		}
	}
	return out
}

func (ms *MatrixSelection) costOf(engine string) *CostRow {
	for i := range ms.Costs {
		if ms.Costs[i].Engine == engine {
			return &ms.Costs[i]
		}
	}
	return nil
}

// Engine returns the engine entry of an id.
func (m Matrix) Engine(id string) MatrixEngine {
	for _, e := range m.Engines {
		if e.ID == id {
			return e
		}
	}
	return MatrixEngine{ID: id, Name: id}
}

// Fault returns the fault entry of an id.
func (m Matrix) Fault(id string) MatrixFault {
	for _, f := range m.Faults {
		if f.ID == id {
			return f
		}
	}
	return MatrixFault{ID: id, Title: id}
}

// ExpectedRow sets one cell's measurement beside its engine's documented
// expectation for the fault's class.
type ExpectedRow struct {
	Cell        string      `json:"cell"`
	Engine      string      `json:"engine"`
	Fault       string      `json:"fault"`
	Expectation Expectation `json:"expectation"`
	// Measured says what the cell measured, in words; Missed how it falls
	// short of the documentation ("" if it does not).
	Measured string `json:"measured"`
	Missed   string `json:"missed,omitempty"`
	Link     string `json:"link"`
}

func expectedRows(m Matrix, cells []CellView) []ExpectedRow {
	var out []ExpectedRow
	for _, c := range cells {
		if c.Report == nil || c.Class == "" {
			continue
		}
		e := m.Engine(c.Engine)
		exp, ok := Expected(e.Name, e.Options, c.Class)
		if !ok {
			continue
		}
		out = append(out, ExpectedRow{
			Cell: c.ID, Engine: c.Engine, Fault: c.Fault, Expectation: exp,
			Measured: measuredText(c), Missed: exp.Misses(c.Survived, c.RTO, c.Recovered, c.Lost), Link: c.Link(),
		})
	}
	return out
}

// measuredText says what a cell measured under its fault.
func measuredText(c CellView) string {
	var parts []string
	switch {
	case c.Survived == nil:
		parts = append(parts, "survival not measured")
	case *c.Survived:
		parts = append(parts, "survived")
	default:
		parts = append(parts, "did not survive (writes resumed only once healed)")
	}
	if c.Recovered {
		parts = append(parts, fmt.Sprintf("RTO %.1f s", c.RTO))
	} else if c.Survived != nil {
		parts = append(parts, "writes never recovered")
	}
	if c.Lost >= 0 {
		parts = append(parts, fmt.Sprintf("%.0f acknowledged writes lost", c.Lost))
	}
	return strings.Join(parts, ", ")
}

// Link is the path of the cell's report section, relative to the matrix
// directory.
func (c CellView) Link() string {
	return filepath.ToSlash(filepath.Join(c.Dir, HTMLFile)) + "#" + c.Anchor
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// SurvivalRow is one engine entry under one workload, with its cell
// under each fault in the matrix's fault order.
type SurvivalRow struct {
	Engine, Workload string
	Cells            []CellView
}

// Survival is the survival matrix: a row per engine entry and workload,
// a column per fault.
func (ms *MatrixSelection) Survival() []SurvivalRow {
	var out []SurvivalRow
	for _, e := range ms.Matrix.Engines {
		for _, w := range ms.Matrix.Workloads {
			row := SurvivalRow{Engine: e.ID, Workload: w}
			for _, f := range ms.Matrix.Faults {
				for _, c := range ms.Cells {
					if c.Engine == e.ID && c.Workload == w && c.Fault == f.ID {
						row.Cells = append(row.Cells, c)
					}
				}
			}
			out = append(out, row)
		}
	}
	return out
}

// Counts returns how many cells ran (now or before), did not run, were
// not applicable, and were interrupted.
func (ms *MatrixSelection) Counts() (ran, notRun, notApplicable, interrupted int) {
	for _, c := range ms.Cells {
		switch {
		case c.Report != nil:
			ran++
		case c.Status == "not-applicable":
			notApplicable++
		case c.Status == "interrupted":
			interrupted++
		default:
			notRun++
		}
	}
	return
}
