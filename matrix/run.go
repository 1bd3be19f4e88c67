package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/scenarios"
)

// The files a matrix run writes into its directory, beside cells/.
const (
	// StateFile records the plan and every cell's status, rewritten after
	// each cell, so that an interrupted matrix keeps what finished.
	StateFile = "matrix.json"
	// SourceFile is the matrix file as given.
	SourceFile = "matrix.yaml"
	// CellsDir holds one run directory per cell.
	CellsDir = "cells"
)

// Cell statuses after a matrix run.
const (
	// StatusRan: the cell ran in this invocation.
	StatusRan = "ran"
	// StatusResumed: an earlier invocation ran the cell to the end
	// (--resume found its result.json complete and its scenario
	// unchanged).
	StatusResumed = "resumed"
	// StatusNotRun: the cell could not run here (Reason says why: a
	// program not installed, an image the nodes could not pull, a
	// cluster that could not be created); it counts as no evidence,
	// never as a pass.
	StatusNotRun = "not-run"
	// StatusNotApplicable: the engine's clients do not run the workload.
	StatusNotApplicable = "not-applicable"
	// StatusInterrupted: the matrix was interrupted before or during the
	// cell.
	StatusInterrupted = "interrupted"
)

// Clusters lets a matrix keep one cluster per platform between cells
// instead of creating one per cell.
type Clusters interface {
	// Keep reports whether the cells on platform may share one cluster
	// (the platform's Create then returns the kept cluster and its Delete
	// leaves it running). It is false where sharing is unsafe.
	Keep(platform string) bool
	// Drop deletes platform's kept cluster, so that the next cell creates
	// a new one. It is idempotent: nothing kept is nothing to drop.
	Drop(ctx context.Context, platform string) error
}

// Options are a matrix run's settings.
type Options struct {
	// Dir is the matrix directory. Required.
	Dir string
	// Resume skips the cells whose run directory holds a complete
	// result.json for the same scenario.
	Resume bool
	// Source is the matrix file as given, saved as matrix.yaml.
	Source []byte
	// Progress receives progress lines (stderr); nil discards them.
	Progress io.Writer
	// Terminal makes each cell's progress rewrite one line.
	Terminal bool
	// Version is faultline's version, recorded in each history.
	Version string
	// Clusters, if set, keeps clusters between cells.
	Clusters Clusters
	// RunCell runs one cell's scenario; nil is scenarios.Run.
	RunCell func(ctx context.Context, s *scenarios.Scenario, env scenarios.Env, opts scenarios.Options) (*scenarios.Outcome, error)
	// Now is the clock for elapsed times and the ETA; nil is time.Now.
	Now func() time.Time
}

// CellResult is a cell and what became of it.
type CellResult struct {
	Cell
	Status string `json:"status"`
	// Reason says why a cell did not run (or was interrupted).
	Reason string `json:"reason,omitempty"`
	// Verdict is a cell's merged check verdict, for cells that ran.
	Verdict check.Verdict `json:"verdict"`
	// Infra is the infrastructure failure of a cell that ran, if any.
	Infra string `json:"infra,omitempty"`
	// Seconds is the cell's wall time in this invocation.
	Seconds float64 `json:"seconds,omitempty"`
}

// Evidence reports whether the cell has a run directory to read:
// it ran, now or in an earlier invocation.
func (c CellResult) Evidence() bool { return c.Status == StatusRan || c.Status == StatusResumed }

// State is matrix.json: the matrix and each cell's status.
type State struct {
	Format string `json:"format"`
	Name   string `json:"name"`
	// File is the matrix with its defaults applied; ReadState reads it
	// back from matrix.yaml.
	File  *File        `json:"-"`
	Cells []CellResult `json:"cells"`
	// Started is when this invocation began; WallSeconds how long it
	// took up to the last cell it finished.
	Started     time.Time `json:"started"`
	WallSeconds float64   `json:"wall_seconds"`
	Interrupted bool      `json:"interrupted,omitempty"`
}

// StateFormat names matrix.json's format.
const StateFormat = "faultline.matrix/v1"

// Outcome is what a matrix run produced.
type Outcome struct {
	State
	// Dir is the matrix directory.
	Dir string
	// Verdict is the worst verdict of the cells that ran.
	Verdict check.Verdict
	// Infra is the first infrastructure failure among the cells that
	// ran, "" if none.
	Infra string
}

// Run runs the plan's cells one after another in opts.Dir/cells, keeping
// every finished cell's results, and returns what became of each. Cells
// that cannot run are recorded with their reason; with opts.Resume, cells
// an earlier invocation finished are taken as they are. When ctx ends,
// the running cell heals its faults and records what it saw (scenarios
// .Run), the remaining cells are marked interrupted, and Run returns the
// outcome so far. It returns an error only when it cannot record
// anything (the directory cannot be written).
func Run(ctx context.Context, plan *Plan, env scenarios.Env, opts Options) (*Outcome, error) {
	r := &runner{plan: plan, env: env, opts: opts, now: opts.Now}
	if r.now == nil {
		r.now = time.Now
	}
	if r.opts.RunCell == nil {
		r.opts.RunCell = scenarios.Run
	}
	if r.opts.Progress == nil {
		r.opts.Progress = io.Discard
	}
	return r.run(ctx)
}

type runner struct {
	plan *Plan
	env  scenarios.Env
	opts Options
	now  func() time.Time
	out  *Outcome
	// kept lists the platforms whose kept cluster may exist.
	kept []string
}

func (r *runner) run(ctx context.Context) (*Outcome, error) {
	if err := os.MkdirAll(filepath.Join(r.opts.Dir, CellsDir), 0o755); err != nil {
		return nil, fmt.Errorf("matrix directory: %w", err)
	}
	if len(r.opts.Source) > 0 {
		if err := os.WriteFile(filepath.Join(r.opts.Dir, SourceFile), r.opts.Source, 0o644); err != nil {
			return nil, fmt.Errorf("save matrix: %w", err)
		}
	}
	start := r.now()
	r.out = &Outcome{Dir: r.opts.Dir, State: State{Format: StateFormat, Name: r.plan.File.Name, File: r.plan.File, Started: start}}
	for _, c := range r.plan.Cells {
		cr := CellResult{Cell: c, Verdict: check.Unknown}
		switch {
		case c.NotApplicable != "":
			cr.Status, cr.Reason = StatusNotApplicable, c.NotApplicable
		case c.NotRun != "":
			cr.Status, cr.Reason = StatusNotRun, c.NotRun
		}
		r.out.Cells = append(r.out.Cells, cr)
	}
	if err := r.save(); err != nil {
		return nil, err
	}
	defer r.dropAll(ctx)
	var done []float64 // wall seconds of the cells run here, for the ETA
	total := r.runnable()
	n := 0
	for i := range r.out.Cells {
		cr := &r.out.Cells[i]
		if cr.Status != "" {
			continue
		}
		n++
		if ctx.Err() != nil {
			cr.Status, cr.Reason = StatusInterrupted, "the matrix was interrupted before this cell"
			continue
		}
		if r.opts.Resume && r.complete(cr) {
			cr.Status = StatusResumed
			r.resumed(cr)
			fmt.Fprintf(r.opts.Progress, "[%d/%d] %s: finished in an earlier run (%s), skipped\n", n, total, cr.ID, cr.Verdict)
			continue
		}
		fmt.Fprintf(r.opts.Progress, "\n[%d/%d] %s on %s · elapsed %s · ETA %s\n", n, total, cr.ID, cr.Platform,
			round(r.now().Sub(start)), eta(done, total-n+1))
		t0 := r.now()
		r.runCell(ctx, cr)
		cr.Seconds = r.now().Sub(t0).Seconds()
		if cr.Status == StatusRan {
			done = append(done, cr.Seconds)
		}
		fmt.Fprintf(r.opts.Progress, "[%d/%d] %s: %s in %s\n", n, total, cr.ID, r.said(cr), round(time.Duration(cr.Seconds*float64(time.Second))))
		r.out.WallSeconds = r.now().Sub(start).Seconds()
		if err := r.save(); err != nil {
			return r.out, err
		}
	}
	r.out.Interrupted = ctx.Err() != nil
	r.out.WallSeconds = r.now().Sub(start).Seconds()
	r.out.Verdict = check.Unknown // no cell with evidence is no pass
	evidence := false
	for _, cr := range r.out.Cells {
		if cr.Evidence() {
			if !evidence {
				r.out.Verdict, evidence = cr.Verdict, true
			}
			r.out.Verdict = check.Merge(r.out.Verdict, cr.Verdict)
			if cr.Infra != "" && r.out.Infra == "" {
				r.out.Infra = cr.ID + ": " + cr.Infra
			}
		}
	}
	if r.out.Interrupted && r.out.Infra == "" {
		r.out.Infra = "the matrix was interrupted"
	}
	return r.out, r.save()
}

func (r *runner) runnable() int {
	n := 0
	for _, c := range r.out.Cells {
		if c.Status == "" {
			n++
		}
	}
	return n
}

// said is a cell's outcome in a few words.
func (r *runner) said(cr *CellResult) string {
	switch cr.Status {
	case StatusRan:
		if cr.Infra != "" {
			return fmt.Sprintf("%s (infrastructure: %s)", cr.Verdict, cr.Infra)
		}
		return cr.Verdict.String()
	}
	return cr.Status + ": " + cr.Reason
}

// runCell runs one cell and classifies what came of it: a run that never
// reached its load (the cluster, the deploy or readiness failed) is a
// cell that could not run here, with the failure as its reason.
func (r *runner) runCell(ctx context.Context, cr *CellResult) {
	dir := filepath.Join(r.opts.Dir, CellsDir, cr.Dir)
	if err := os.RemoveAll(dir); err != nil {
		cr.Status, cr.Reason = StatusNotRun, fmt.Sprintf("clear the cell's directory: %v", err)
		return
	}
	if r.opts.Clusters != nil && r.opts.Clusters.Keep(cr.Platform) && !slices.Contains(r.kept, cr.Platform) {
		r.kept = append(r.kept, cr.Platform)
	}
	out, err := r.opts.RunCell(ctx, cr.Scenario, r.env, scenarios.Options{
		Dir: dir, Progress: r.opts.Progress, Terminal: r.opts.Terminal, Version: r.opts.Version,
	})
	switch {
	case err != nil:
		cr.Status, cr.Reason = StatusNotRun, err.Error()
		r.drop(ctx, cr.Platform)
		return
	case out.Interrupted:
		cr.Status, cr.Reason = StatusInterrupted, "interrupted while running; its faults were healed and what it recorded is in its directory"
		return
	}
	cr.Status, cr.Verdict = StatusRan, out.Verdict
	if out.Infra != nil {
		cr.Infra = out.Infra.Error()
		if rep, err := reports.Read(dir); err != nil || rep.Stats["ops"] == 0 {
			cr.Status, cr.Reason, cr.Verdict = StatusNotRun, cr.Infra, check.Unknown
		}
	}
	if out.Infra != nil || damages(cr.Scenario) {
		r.drop(ctx, cr.Platform)
	}
}

// damages reports whether a cell's faults may leave its cluster unfit
// for the next cell: the ones that stop or kill nodes.
func damages(s *scenarios.Scenario) bool {
	for _, f := range s.Faults {
		switch f.Kind {
		case faults.KindKill, faults.KindStop, faults.KindRestart, faults.KindZoneOutage, faults.KindRegionOutage:
			return true
		}
	}
	return false
}

func (r *runner) drop(ctx context.Context, platform string) {
	if r.opts.Clusters == nil || !slices.Contains(r.kept, platform) {
		return
	}
	if err := r.opts.Clusters.Drop(context.WithoutCancel(ctx), platform); err != nil {
		fmt.Fprintf(r.opts.Progress, "warning: delete the kept %s cluster: %v\n", platform, err)
	}
	r.kept = slices.DeleteFunc(r.kept, func(p string) bool { return p == platform })
}

func (r *runner) dropAll(ctx context.Context) {
	for _, p := range slices.Clone(r.kept) {
		r.drop(ctx, p)
	}
}

// complete reports whether an earlier invocation ran the cell to the end:
// its result.json reads, was not cut short, and its scenario is the one
// the matrix asks for now.
func (r *runner) complete(cr *CellResult) bool {
	dir := filepath.Join(r.opts.Dir, CellsDir, cr.Dir)
	rep, err := reports.Read(dir)
	if err != nil || rep.InfraError == "run interrupted" {
		return false
	}
	saved, err := os.ReadFile(filepath.Join(dir, "scenario.yaml"))
	if err != nil {
		return false
	}
	want, err := cr.Scenario.Marshal()
	return err == nil && bytes.Equal(saved, want)
}

// resumed fills in a resumed cell's verdict from its result.json.
func (r *runner) resumed(cr *CellResult) {
	rep, err := reports.Read(filepath.Join(r.opts.Dir, CellsDir, cr.Dir))
	if err != nil {
		return
	}
	cr.Verdict, cr.Infra = rep.Verdict, rep.InfraError
	if rep.InfraError != "" && rep.Stats["ops"] == 0 {
		cr.Status, cr.Reason, cr.Verdict = StatusNotRun, rep.InfraError, check.Unknown
	}
}

// save writes matrix.json whole.
func (r *runner) save() error {
	b, err := json.MarshalIndent(r.out.State, "", "  ")
	if err != nil {
		return fmt.Errorf("save matrix state: %w", err)
	}
	path := filepath.Join(r.opts.Dir, StateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("save matrix state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save matrix state: %w", err)
	}
	return nil
}

// ReadState reads a matrix directory's matrix.json.
func ReadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, fmt.Errorf("read matrix state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read matrix state %s: %w", dir, err)
	}
	if s.Format != StateFormat {
		return nil, fmt.Errorf("read matrix state %s: format %q, want %s", dir, excerpt.Value(s.Format), StateFormat)
	}
	if s.File, err = Load(filepath.Join(dir, SourceFile)); err != nil {
		return nil, err
	}
	s.File.ApplyDefaults()
	return &s, nil
}

// eta estimates the time left from the mean wall time of the cells run so
// far, for the cells left (this one included).
func eta(done []float64, left int) string {
	if len(done) == 0 {
		return "after the first cell"
	}
	var sum float64
	for _, d := range done {
		sum += d
	}
	return round(time.Duration(sum / float64(len(done)) * float64(left) * float64(time.Second))).String()
}

func round(d time.Duration) time.Duration { return d.Round(time.Second) }
