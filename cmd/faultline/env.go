package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/platform/local"
	"github.com/faultline-dev/faultline/scenarios"
)

// envFlags configure the platforms a command may use.
type envFlags struct {
	localDir string
}

func (f *envFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.localDir, "local-dir", "", "local platform: where clusters keep their files (default a temporary directory)")
}

// build makes the Env and returns a function that releases it.
func (f *envFlags) build(ctx context.Context) (scenarios.Env, func(), error) {
	env := scenarios.DefaultEnv(scenarios.EnvOptions{
		Local: local.Options{WorkDir: f.localDir},
	})
	return env, func() {}, nil
}
