package matrix

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/faultline-dev/faultline/cost"
	"github.com/faultline-dev/faultline/reports"
)

// Report is the selection report's view of a matrix run in dir: the
// matrix's entries, requirements and cost target, and each cell's status.
func (s *State) Report(dir string) reports.Matrix {
	f := s.File
	m := reports.Matrix{
		Name: f.Name, Description: f.Description, Dir: dir, Requirements: f.Requirements,
		WallSeconds: s.WallSeconds, Interrupted: s.Interrupted, Seed: f.Seed,
	}
	for _, e := range f.Engines {
		m.Engines = append(m.Engines, reports.MatrixEngine{ID: e.ID, Name: e.Name, Version: e.Version, Platform: e.Platform, Options: e.Options})
	}
	for _, flt := range f.Faults {
		mf := reports.MatrixFault{ID: slug(flt.Name), Title: flt.Name, Kind: flt.Kind, DurationSeconds: flt.Duration.Seconds()}
		if !flt.Target.IsZero() {
			mf.Target = flt.Target.String()
		}
		m.Faults = append(m.Faults, mf)
	}
	for _, w := range f.Workloads {
		m.Workloads = append(m.Workloads, w.Name)
	}
	for _, c := range s.Cells {
		m.Cells = append(m.Cells, reports.MatrixCell{
			ID: c.ID, Engine: c.Engine, Fault: c.Fault, Workload: c.Workload,
			Dir: filepath.ToSlash(filepath.Join(CellsDir, c.Dir)), Status: c.Status, Reason: c.Reason,
		})
	}
	target, err := cost.ParseTarget(f.Cost.Target())
	if err != nil {
		target = cost.DefaultTarget()
		m.Notes = append(m.Notes, fmt.Sprintf("cost target %s: %v; priced at the default target", f.Cost.Target(), err))
	}
	m.Cost = reports.CostTarget{Target: target, Cloud: f.Cost.Cloud, Region: f.Cost.Region, Commitment: f.Cost.Commitment}
	if f.Cost.Region != CatalogRegion(f.Cost.Cloud) {
		m.Notes = append(m.Notes, fmt.Sprintf("The catalog prices %s in %s: %s is priced at those rates.", f.Cost.Cloud, CatalogRegion(f.Cost.Cloud), f.Cost.Region))
	}
	return m
}

// ReportOptions say what else a matrix's report holds.
type ReportOptions struct {
	// Baseline is the directory of an earlier run of the matrix to
	// compare with; empty compares nothing.
	Baseline string
	// Tolerance is the run-to-run noise a comparison allows; zero is
	// reports.DefaultTolerance.
	Tolerance reports.Tolerance
}

// WriteReport writes the selection report of the matrix run in dir
// (selection.html, selection.md, selection.json) into out, and returns
// the path of selection.html and, when compared with a baseline, the
// regressions found.
func WriteReport(ctx context.Context, dir, out string, s *State, o ReportOptions) (string, []reports.Regression, error) {
	cat, err := cost.Load()
	if err != nil {
		return "", nil, fmt.Errorf("matrix report: %w", err)
	}
	sel, err := reports.Select(ctx, s.Report(dir), cat)
	if err != nil {
		return "", nil, fmt.Errorf("matrix report: %w", err)
	}
	if o.Baseline != "" {
		bs, err := ReadState(o.Baseline)
		if err != nil {
			return "", nil, fmt.Errorf("matrix report: baseline: %w", err)
		}
		// The baseline is decided by the same requirements and priced
		// at the same target, so that only the runs differ.
		bs.File.Requirements, bs.File.Cost = s.File.Requirements, s.File.Cost
		base, err := reports.Select(ctx, bs.Report(o.Baseline), cat)
		if err != nil {
			return "", nil, fmt.Errorf("matrix report: baseline: %w", err)
		}
		tol := o.Tolerance
		if tol == (reports.Tolerance{}) {
			tol = reports.DefaultTolerance()
		}
		sel.Matrix.Baseline = o.Baseline
		sel.Matrix.Regressions = reports.Regressions(base.Matrix, sel.Matrix, tol)
	}
	if err := reports.WriteSelection(ctx, out, sel); err != nil {
		return "", nil, fmt.Errorf("matrix report: %w", err)
	}
	return filepath.Join(out, reports.SelectionHTMLFile), sel.Matrix.Regressions, nil
}

// Reprice takes another matrix file's requirements and cost target in
// place of the run's, after checking them as Validate would; the cells
// stay those that ran.
func (s *State) Reprice(f *File) error {
	f.ApplyDefaults()
	v := &validator{f: f, seen: map[string]bool{}}
	v.cost()
	if err := f.Requirements.Validate(); err != nil {
		for _, e := range unjoin(err) {
			v.fieldError("requirements", e)
		}
	}
	if len(v.errs) > 0 {
		sortErrors(v.errs)
		return v.errs
	}
	s.File.Requirements, s.File.Cost = f.Requirements, f.Cost
	return nil
}
