package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/engines/vitess/dist"
	"github.com/faultline-dev/faultline/internal/excerpt"
)

// newEnginesCmd is `faultline engines`: what engines need before they run.
func newEnginesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "engines",
		Short: "Prepare engines that need programs built before they run (vitess)",
	}
	cmd.AddCommand(newEnginesBuildCmd())
	return cmd
}

func newEnginesBuildCmd() *cobra.Command {
	var flavor, bin string
	var without []string
	cmd := &cobra.Command{
		Use:   "build vitess",
		Short: "Build an engine's programs from its pinned Go module into the cache; a no-op when cached",
		Long: `Build vitess builds mysqlctl, vtctld, vtctldclient, vtgate, vtorc and
vttablet from the Go module vitess.io/vitess ` + dist.ModuleVersion + ` in a module of their
own (never linked into faultline), with faultline's MariaDB compatibility
changes for --flavor mariadb (the default) or stock for --flavor mysql, into
~/.cache/faultline/vitess/VERSION-FLAVOR-HASH. A cold build takes about 8
minutes on 2 cores; a cached one returns at once. With --vitess-bin or ` + dist.EnvBin + `
nothing is built: the directory is checked for every program.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"vitess"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "vitess" {
				return inputError(fmt.Errorf("engines build: engine %q has nothing to build (only vitess does)", excerpt.Value(args[0])))
			}
			f := dist.Flavor(flavor)
			if f != dist.MariaDB && f != dist.MySQL {
				return inputError(fmt.Errorf("engines build: --flavor %q: want mariadb or mysql", excerpt.Value(flavor)))
			}
			start := time.Now()
			d, err := dist.Build(cmd.Context(), dist.Options{Flavor: f, Bin: bin, Without: without}, cmd.ErrOrStderr())
			if err != nil {
				return infraError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s in %s (%s)\n", d, d.Dir, time.Since(start).Round(time.Second))
			return nil
		},
	}
	cmd.Flags().StringVar(&flavor, "flavor", string(dist.MariaDB), "the MySQL server the programs are for: mariadb (with faultline's compatibility changes) or mysql (stock)")
	cmd.Flags().StringSliceVar(&without, "without", nil, "leave out these MariaDB compatibility changes (by name), to see what each answers; run the result with --vitess-bin")
	cmd.Flags().StringVar(&bin, "vitess-bin", "", "use the Vitess programs in this directory instead of building (default $"+dist.EnvBin+")")
	return cmd
}
