package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/matrix"
	"github.com/faultline-dev/faultline/reports"
)

func newReportCmd() *cobra.Command {
	var (
		out, requirements, baseline string
		failOnRegression            bool
	)
	cmd := &cobra.Command{
		Use:   "report MATRIX_DIR | report RUN_DIR...",
		Short: "Write the selection report of a matrix run, or compare runs (selection.html, selection.md)",
		Long: `Given the directory of a matrix run (it holds matrix.json), report writes its
selection report again from the cells' results: with --requirements FILE,
the requirements and cost target of that matrix file replace the run's, so
that the recommendation follows them without running anything again. With
--baseline DIR (an earlier run of the matrix, the previous night's say) it
adds what got worse: new failures and anomalies, faults no longer survived,
requirements no longer met, RTO worse by more than 1 s and 25%, throughput
lower by more than 20%, cost moved by more than 10%; --fail-on-regression
then exits 1 if there is any.

Given run directories, report reads the result.json of each and writes an
engine-selection report: every run, and per engine its verdicts, worst RTO,
lost writes, throughput and latency.

The last line on stdout is the path of selection.html.`,
		Example: `  faultline report runs/matrix-20261206-101500
  faultline report runs/matrix-20261206-101500 --requirements stricter.yaml --out reports/stricter
  faultline report runs/nightly --baseline runs/nightly-previous --fail-on-regression
  faultline report runs/etcd-* runs/postgres-* --out reports/selection`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if len(dirs) == 1 {
				if _, err := os.Stat(filepath.Join(dirs[0], matrix.StateFile)); err == nil {
					return reportMatrix(cmd, dirs[0], out, requirements, baseline, failOnRegression)
				}
			}
			if requirements != "" || baseline != "" || failOnRegression {
				return inputError(fmt.Errorf("--requirements, --baseline and --fail-on-regression apply to a matrix run's directory only"))
			}
			sel, err := reports.Compare(dirs)
			if err != nil {
				return inputError(err)
			}
			dir := out
			if dir == "" {
				dir = filepath.Join("runs", "selection-"+time.Now().Format("20060102-150405"))
			}
			if err := reports.WriteSelection(cmd.Context(), dir, sel); err != nil {
				return infraError(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(dir, reports.SelectionHTMLFile))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory for the report (default: the matrix directory, or runs/selection-TIME)")
	cmd.Flags().StringVar(&requirements, "requirements", "", "matrix: a matrix file whose requirements and cost target replace the run's")
	cmd.Flags().StringVar(&baseline, "baseline", "", "matrix: an earlier run's directory to compare with")
	cmd.Flags().BoolVar(&failOnRegression, "fail-on-regression", false, "matrix: exit 1 when the comparison with --baseline finds a regression")
	return cmd
}

// reportMatrix writes a matrix run's selection report again.
func reportMatrix(cmd *cobra.Command, dir, out, requirements, baseline string, failOnRegression bool) error {
	if failOnRegression && baseline == "" {
		return inputError(fmt.Errorf("--fail-on-regression: compare with --baseline DIR"))
	}
	st, err := matrix.ReadState(dir)
	if err != nil {
		return inputError(err)
	}
	if requirements != "" {
		f, err := matrix.Load(requirements)
		if err != nil {
			return inputError(fmt.Errorf("--requirements %s: %w", requirements, err))
		}
		if err := st.Reprice(f); err != nil {
			return inputError(fmt.Errorf("--requirements %s: %w", requirements, err))
		}
	}
	if out == "" {
		out = dir
	}
	page, regressions, err := matrix.WriteReport(cmd.Context(), dir, out, st, matrix.ReportOptions{Baseline: baseline})
	if err != nil {
		return infraError(err)
	}
	for _, r := range regressions {
		who := r.Cell
		if who == "" {
			who = r.Engine
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "regression: %s %s: %s → %s\n", r.Kind, who, r.Was, r.Now)
	}
	fmt.Fprintln(cmd.OutOrStdout(), page)
	if failOnRegression && len(regressions) > 0 {
		return errChecksFailed
	}
	return nil
}
