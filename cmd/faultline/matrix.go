package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/matrix"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/scenarios"
)

type matrixFlags struct {
	engines  []string
	platform string
	out      string
	resume   string
	duration time.Duration
	env      envFlags
}

func newMatrixCmd() *cobra.Command {
	var f matrixFlags
	cmd := &cobra.Command{
		Use:   "matrix MATRIX.yaml | matrix SCENARIO...",
		Short: "Run an engine-selection matrix (engines × faults × workloads) and write the selection report",
		Long: `Given a matrix file (see examples/selection.yaml), matrix expands its engines
× faults × workloads into cells, validates every cell before the first
starts, runs them one after another (keeping one kind cluster between cells
where no fault may have damaged it), and writes the selection report:
requirements met or not, survival per fault, expectation against
measurement, cost, and a ranked recommendation. Cells that cannot run here
are reported as not run, with the reason. --resume DIR skips the cells of
an earlier run of the same matrix that finished. Ctrl-C heals the running
cell, keeps what finished and reports on it.

Given scenario files, matrix runs every scenario (once per engine given with
--engines, or with its own engine) and compares the runs.

The last line on stdout is the path of selection.html; the exit code is the
worst of the runs' (3 when no cell could run).`,
		Example: `  faultline matrix examples/selection.yaml
  faultline matrix examples/selection.yaml --resume runs/matrix-20261206-101500
  faultline matrix scenarios/quickstart.yaml --engines etcd --duration 30s`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if data, err := os.ReadFile(args[0]); err == nil && matrix.IsMatrix(data) {
					return runMatrixFile(cmd, args[0], data, f)
				}
			}
			if f.resume != "" {
				return inputError(fmt.Errorf("--resume: only a matrix file can be resumed"))
			}
			return runMatrix(cmd, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.engines, "engines", nil, "scenarios: run each scenario once with each of these engines")
	fl.StringVar(&f.platform, "platform", "", "override the platform (a matrix's default, every scenario's)")
	fl.StringVar(&f.out, "out", "", "directory for the runs and the report (default runs/matrix-TIME)")
	fl.StringVar(&f.resume, "resume", "", "matrix: continue the matrix run in this directory, skipping the cells that finished")
	fl.DurationVar(&f.duration, "duration", 0, "scenarios: override every scenario's load duration")
	f.env.register(cmd)
	return cmd
}

// runMatrixFile runs a matrix file and writes its selection report.
func runMatrixFile(cmd *cobra.Command, path string, data []byte, f matrixFlags) error {
	switch {
	case len(f.engines) > 0:
		return inputError(fmt.Errorf("--engines: a matrix file lists its own engines"))
	case f.duration != 0:
		return inputError(fmt.Errorf("--duration: a matrix file sets each workload's duration"))
	case f.resume != "" && f.out != "" && filepath.Clean(f.resume) != filepath.Clean(f.out):
		return inputError(fmt.Errorf("--resume and --out name different directories"))
	}
	mf, err := matrix.Parse(data)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err))
	}
	if f.platform != "" {
		mf.Platform = f.platform
	}
	kept := keptClusters(cmd, &f, mf.Name)
	env, cleanup, err := f.env.build(cmd.Context())
	if err != nil {
		return inputError(err)
	}
	defer cleanup()
	plan, err := mf.Validate(env)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err))
	}
	dir := f.out
	if f.resume != "" {
		dir = f.resume
	} else if dir == "" {
		dir = filepath.Join("runs", "matrix-"+time.Now().Format("20060102-150405"))
	}
	stderr := cmd.ErrOrStderr()
	out, err := matrix.Run(cmd.Context(), plan, env, matrix.Options{
		Dir: dir, Resume: f.resume != "", Source: data, Progress: stderr, Terminal: isTerminal(stderr),
		Version: faultlineVersion(), Clusters: kept,
	})
	if err != nil {
		return infraError(err)
	}
	fmt.Fprintf(stderr, "\nmatrix %s: %d cells in %s\n", out.Name, len(out.Cells), (time.Duration(out.WallSeconds) * time.Second).Round(time.Second))
	page, err := writeMatrixReport(context.WithoutCancel(cmd.Context()), out)
	if err != nil {
		return infraError(err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), page)
	return exitCode(out.Verdict, out.Infra)
}

// keptClusters sets the kind platform up to keep one cluster for the
// matrix's kind cells (named after the matrix, unless --cluster-name or
// --reuse say otherwise) and returns what deletes it when a cell may
// have damaged it and at the end. Local clusters are never kept: their
// engine processes live as long as the cluster.
func keptClusters(cmd *cobra.Command, f *matrixFlags, name string) matrix.Clusters {
	if f.env.reuse {
		return nil // the user's cluster: used as it is and kept
	}
	if !cmd.Flags().Changed("cluster-name") {
		f.env.clusterName = "matrix-" + name
		if len(f.env.clusterName) > 24 {
			f.env.clusterName = f.env.clusterName[:24]
		}
	}
	f.env.reuse = true
	return kindClusters{opts: kind.Options{Name: f.env.clusterName, Log: cmd.ErrOrStderr()}}
}

// kindClusters keeps the matrix's kind cluster between cells.
type kindClusters struct{ opts kind.Options }

func (k kindClusters) Keep(p string) bool { return p == kind.Name }

func (k kindClusters) Drop(ctx context.Context, p string) error {
	if p != kind.Name {
		return nil
	}
	return kind.New(k.opts).DeleteCluster(ctx)
}

// writeMatrixReport writes the matrix's selection report into its
// directory and returns the path of selection.html.
func writeMatrixReport(ctx context.Context, out *matrix.Outcome) (string, error) {
	var dirs []string
	for _, c := range out.Cells {
		if c.Evidence() {
			dirs = append(dirs, filepath.Join(out.Dir, matrix.CellsDir, c.Dir))
		}
	}
	sel := &reports.Selection{}
	if len(dirs) > 0 {
		var err error
		if sel, err = reports.Compare(dirs); err != nil {
			return "", err
		}
	}
	if err := reports.WriteSelection(ctx, out.Dir, sel); err != nil {
		return "", err
	}
	return filepath.Join(out.Dir, reports.SelectionHTMLFile), nil
}

func runMatrix(cmd *cobra.Command, args []string, f matrixFlags) error {
	env, cleanup, err := f.env.build(cmd.Context())
	if err != nil {
		return inputError(err)
	}
	defer cleanup()
	var plan []*scenarios.Scenario
	for _, arg := range args {
		engs := f.engines
		if len(engs) == 0 {
			engs = []string{""}
		}
		for _, eng := range engs {
			s, err := scenarios.Resolve(arg)
			if err != nil {
				return inputError(fmt.Errorf("%s: %w", arg, err))
			}
			if eng != "" {
				s.Engine.Name = eng
			}
			if f.platform != "" {
				s.Platform = f.platform
			}
			if f.duration != 0 {
				s.Workload.Duration = f.duration
			}
			if err := s.Validate(env); err != nil {
				return inputError(fmt.Errorf("%s with engine %s: %w", arg, s.Engine.Name, err))
			}
			plan = append(plan, s)
		}
	}
	dir := f.out
	if dir == "" {
		dir = filepath.Join("runs", "matrix-"+time.Now().Format("20060102-150405"))
	}
	stderr := cmd.ErrOrStderr()
	var dirs []string
	worst, infra := check.Pass, ""
	for i, s := range plan {
		fmt.Fprintf(stderr, "\n== %d/%d: %s on %s\n", i+1, len(plan), s.Name, s.Engine.Name)
		out, err := scenarios.Run(cmd.Context(), s, env, scenarios.Options{
			Dir:      filepath.Join(dir, fmt.Sprintf("%02d-%s-%s", i+1, s.Name, s.Engine.Name)),
			Progress: stderr,
			Terminal: isTerminal(stderr),
			Version:  faultlineVersion(),
		})
		if err != nil {
			return infraError(err)
		}
		printVerdicts(stderr, out.Results)
		worst = check.Merge(worst, out.Verdict)
		if out.Infra != nil && infra == "" {
			infra = fmt.Sprintf("%s on %s: %v", s.Name, s.Engine.Name, out.Infra)
		}
		dirs = append(dirs, out.Dir)
		if cmd.Context().Err() != nil {
			break
		}
	}
	sel, err := reports.Compare(dirs)
	if err != nil {
		return infraError(err)
	}
	if err := reports.WriteSelection(cmd.Context(), dir, sel); err != nil {
		return infraError(err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(dir, reports.SelectionHTMLFile))
	return exitCode(worst, infra)
}
