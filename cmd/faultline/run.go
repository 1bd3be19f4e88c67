package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/check"
	"github.com/faultline-dev/faultline/scenarios"
)

// runFlags are `faultline run`'s flags.
type runFlags struct {
	platform string
	out      string
	seed     int64
	duration time.Duration
	retain   bool
	dryRun   bool
	compress bool
	images   []string
	env      envFlags
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run SCENARIO.yaml",
		Short: "Run a scenario: boot, deploy, load and faults, checks, report",
		Long: `Run a scenario end to end. SCENARIO is a file or the name of a built-in
scenario (faultline list scenarios). Progress goes to stderr; the last line on
stdout is the path of the run's report.html.

Exit codes: 0 every check passed; 1 a check failed (or could not decide);
2 bad input (nothing was started); 3 the infrastructure failed.`,
		Example: `  faultline run scenarios/quickstart.yaml
  faultline run quickstart --seed 7 --duration 30s
  faultline run my-scenario.yaml --platform kind --retain --out runs/try1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScenario(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.platform, "platform", "", "override the scenario's platform: local, kind or existing")
	fl.StringVar(&f.out, "out", "", "run directory (default runs/NAME-TIME)")
	fl.Int64Var(&f.seed, "seed", 0, "override the scenario's seed")
	fl.DurationVar(&f.duration, "duration", 0, "override the load's duration")
	fl.BoolVar(&f.retain, "retain", false, "keep the cluster after the run")
	fl.BoolVar(&f.compress, "compress", false, "write the history gzip-compressed (history.jsonl.gz; faultline check reads either)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print every object the run would apply (as `faultline manifests` does) and start nothing")
	fl.StringArrayVar(&f.images, "image-override", nil, "run image REF in place of the official image OFFICIAL (OFFICIAL=REF; repeatable); adds to engine.images")
	f.env.register(cmd)
	return cmd
}

func runScenario(cmd *cobra.Command, arg string, f runFlags) error {
	s, err := scenarios.Resolve(arg)
	if err != nil {
		return inputError(err)
	}
	if f.platform != "" {
		s.Platform = f.platform
	}
	if f.seed != 0 {
		s.Seed = f.seed
	}
	if f.duration != 0 {
		s.Workload.Duration = f.duration
	}
	if err := overrideImages(s, f.images); err != nil {
		return inputError(err)
	}
	env, cleanup, err := f.env.build(cmd.Context())
	if err != nil {
		return inputError(err)
	}
	defer cleanup()
	if err := s.Validate(env); err != nil {
		return inputError(err)
	}
	if f.dryRun {
		return printManifests(cmd, s, env)
	}
	stderr := cmd.ErrOrStderr()
	out, err := scenarios.Run(cmd.Context(), s, env, scenarios.Options{
		Dir:      f.out,
		Retain:   f.retain,
		Progress: stderr,
		Terminal: isTerminal(stderr),
		Version:  faultlineVersion(),
		Compress: f.compress,
	})
	if err != nil {
		return infraError(err)
	}
	printVerdicts(stderr, out.Results)
	if out.Infra != nil {
		fmt.Fprintf(stderr, "infrastructure: %v\n", out.Infra)
	}
	if out.Report != "" {
		fmt.Fprintln(cmd.OutOrStdout(), out.Report)
	}
	infra := ""
	if out.Infra != nil {
		infra = out.Infra.Error()
	}
	return exitCode(out.Verdict, infra)
}

// printVerdicts prints one line per check.
func printVerdicts(w io.Writer, rs []check.Result) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%-14s %-8s %s\n", "CHECK", "VERDICT", "SUMMARY")
	for _, r := range rs {
		fmt.Fprintf(w, "%-14s %-8s %s\n", r.Checker, r.Verdict, r.Summary)
	}
	fmt.Fprintf(w, "%-14s %-8s\n\n", "overall", check.Overall(rs))
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// overrideImages adds --image-override OFFICIAL=REF pairs to the
// scenario's engine.images.
func overrideImages(s *scenarios.Scenario, pairs []string) error {
	for _, p := range pairs {
		from, to, ok := strings.Cut(p, "=")
		if !ok || from == "" || to == "" {
			return fmt.Errorf("--image-override %q: want OFFICIAL=REF", truncate(p))
		}
		if s.Engine.Images == nil {
			s.Engine.Images = map[string]string{}
		}
		s.Engine.Images[from] = to
	}
	return nil
}

// truncate shortens a value echoed in an error.
func truncate(s string) string {
	if len(s) <= 60 {
		return s
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:60], len(s))
}
