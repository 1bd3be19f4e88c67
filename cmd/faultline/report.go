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
	var out, requirements string
	cmd := &cobra.Command{
		Use:   "report MATRIX_DIR | report RUN_DIR...",
		Short: "Write the selection report of a matrix run, or compare runs (selection.html, selection.md)",
		Long: `Given the directory of a matrix run (it holds matrix.json), report writes its
selection report again from the cells' results: with --requirements FILE,
the requirements and cost target of that matrix file replace the run's, so
that the recommendation follows them without running anything again.

Given run directories, report reads the result.json of each and writes an
engine-selection report: every run, and per engine its verdicts, worst RTO,
lost writes, throughput and latency.

The last line on stdout is the path of selection.html.`,
		Example: `  faultline report runs/matrix-20261206-101500
  faultline report runs/matrix-20261206-101500 --requirements stricter.yaml --out reports/stricter
  faultline report runs/etcd-* runs/postgres-* --out reports/selection`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if len(dirs) == 1 {
				if _, err := os.Stat(filepath.Join(dirs[0], matrix.StateFile)); err == nil {
					return reportMatrix(cmd, dirs[0], out, requirements)
				}
			}
			if requirements != "" {
				return inputError(fmt.Errorf("--requirements: only a matrix run's report takes requirements"))
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
	return cmd
}

// reportMatrix writes a matrix run's selection report again.
func reportMatrix(cmd *cobra.Command, dir, out, requirements string) error {
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
	page, err := matrix.WriteReport(cmd.Context(), dir, out, st)
	if err != nil {
		return infraError(err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), page)
	return nil
}
