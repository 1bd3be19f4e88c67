package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/reports"
)

func newReportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report RUN_DIR...",
		Short: "Compare runs in an engine-selection report (selection.html, selection.md)",
		Long: `Report reads the result.json of each run directory and writes an
engine-selection report: every run, and per engine its verdicts, worst RTO,
lost writes, throughput and latency. The last line on stdout is the path of
selection.html.`,
		Example: `  faultline report runs/*
  faultline report runs/etcd-* runs/postgres-* --out reports/selection`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
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
	cmd.Flags().StringVar(&out, "out", "", "directory for the report (default runs/selection-TIME)")
	return cmd
}
