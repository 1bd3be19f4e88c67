package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/reports"
	"github.com/faultline-dev/faultline/scenarios"
)

type matrixFlags struct {
	engines  []string
	platform string
	out      string
	duration time.Duration
	env      envFlags
}

func newMatrixCmd() *cobra.Command {
	var f matrixFlags
	cmd := &cobra.Command{
		Use:   "matrix SCENARIO...",
		Short: "Run scenarios (optionally once per engine) and compare them in one selection report",
		Long: `Matrix runs every scenario, once per engine given with --engines (or with its
own engine), one after another, then writes the engine-selection report of
all the runs. Every scenario is validated before the first one starts. The
last line on stdout is the path of selection.html; the exit code is the
worst of the runs'.`,
		Example: `  faultline matrix scenarios/quickstart.yaml --engines etcd --duration 30s
  faultline matrix bank.yaml append.yaml --engines postgres,mariadb --out runs/selection`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runMatrix(cmd, args, f) },
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.engines, "engines", nil, "run each scenario once with each of these engines")
	fl.StringVar(&f.platform, "platform", "", "override every scenario's platform")
	fl.StringVar(&f.out, "out", "", "directory for the runs and the report (default runs/matrix-TIME)")
	fl.DurationVar(&f.duration, "duration", 0, "override every scenario's load duration")
	f.env.register(cmd)
	return cmd
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
