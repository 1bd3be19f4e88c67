package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/engines/vitess"
	"github.com/faultline-dev/faultline/engines/vitess/dist"
	"github.com/faultline-dev/faultline/platform/existing"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/platform/local"
	"github.com/faultline-dev/faultline/scenarios"
)

// envFlags configure the platforms a command may use.
type envFlags struct {
	localDir string

	nodeImage   string
	clusterName string
	reuse       bool

	kubeconfig       string
	context          string
	allowDestructive string

	vitessBin string
}

func (f *envFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.localDir, "local-dir", "", "local platform: where clusters keep their files (default a temporary directory)")
	fl.StringVar(&f.nodeImage, "node-image", "", "kind platform: the node image (default the local build of `faultline images build`, else kind's official image)")
	fl.StringVar(&f.clusterName, "cluster-name", kind.DefaultClusterName, "kind platform: the cluster's name")
	fl.BoolVar(&f.reuse, "reuse", false, "kind platform: use the cluster of that name if it exists, and keep it for the next run")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "existing platform: the kubeconfig (default $KUBECONFIG, ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "existing platform: the kubeconfig context (default its current context)")
	fl.StringVar(&f.allowDestructive, "allow-destructive", "", "existing platform: allow faults on the cluster of this context (must equal --context)")
	fl.StringVar(&f.vitessBin, "vitess-bin", "", "vitess engine: run the Vitess programs in this directory instead of faultline's build (default $"+dist.EnvBin+")")
}

// build makes the Env and returns a function that releases it.
func (f *envFlags) build(ctx context.Context) (scenarios.Env, func(), error) {
	env := scenarios.DefaultEnv(scenarios.EnvOptions{
		Local: local.Options{WorkDir: f.localDir},
		Kind: kind.Options{
			NodeImage: f.nodeImage,
			Name:      f.clusterName,
			Reuse:     f.reuse,
			Log:       os.Stderr,
		},
		Vitess: vitess.Options{Bin: f.vitessBin},
		Existing: existing.Options{
			Kubeconfig:       f.kubeconfig,
			Context:          f.context,
			AllowDestructive: f.allowDestructive,
		},
	})
	return env, func() {}, nil
}
