package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/scenarios"
)

// manifestsFlags are `faultline manifests`'s flags.
type manifestsFlags struct {
	platform string
	images   []string
	env      envFlags
}

func newManifestsCmd() *cobra.Command {
	var f manifestsFlags
	cmd := &cobra.Command{
		Use:   "manifests SCENARIO",
		Short: "Print as YAML every object a scenario would apply to Kubernetes, and the values it passes to charts",
		Long: `Manifests validates SCENARIO as run does and prints, as a YAML stream, what its
engine would install on the scenario's platform, in order: each Helm chart (its
source and release as a comment, its values as a document), each operator
release manifest (its source and the images it rewrites, as comments), and
every object faultline generates itself (custom resources included). Nothing
is started and no cluster is needed. On kind, the Docker daemon a run would use,
if one runs, is asked which of faultline's images are built: they decide, for
instance, whether vitess under deploy: auto runs its own StatefulSets (the
image is built) or vitess-operator.

Exit codes: 0 printed; 2 bad input.`,
		Example: `  faultline manifests cnpg-failover
  faultline manifests my.yaml --platform existing --image-override ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0=registry.local/cnpg:1.30.0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := scenarios.Resolve(args[0])
			if err != nil {
				return inputError(err)
			}
			if f.platform != "" {
				s.Platform = f.platform
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
			return printManifests(cmd, s, env)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.platform, "platform", "", "override the scenario's platform: local, kind or existing")
	fl.StringArrayVar(&f.images, "image-override", nil, "run image REF in place of the official image OFFICIAL (OFFICIAL=REF; repeatable)")
	f.env.register(cmd)
	return cmd
}

// printManifests prints what a validated scenario would apply.
func printManifests(cmd *cobra.Command, s *scenarios.Scenario, env scenarios.Env) error {
	plan, note, err := scenarios.Manifests(cmd.Context(), s, env)
	if err != nil {
		return inputError(err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "# scenario %s: engine %s on platform %s\n", s.Name, s.Engine.Name, s.Platform)
	if note != "" {
		fmt.Fprintf(out, "# %s\n", note)
		return nil
	}
	return plan.WriteYAML(out)
}
