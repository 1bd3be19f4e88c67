package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/faults/chaosmesh"
	"github.com/faultline-dev/faultline/faults/kubeapi"
	"github.com/faultline-dev/faultline/platform"
	"github.com/faultline-dev/faultline/platform/dockerd"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/platform/kube"
	"github.com/faultline-dev/faultline/platform/local"
)

func newHealCmd() *cobra.Command {
	var kubeconfig, kubeContext string
	cmd := &cobra.Command{
		Use:   "heal",
		Short: "Remove every fault a crashed run left behind (safe to run twice)",
		Long: `Heal clears what a crashed or killed run left on this machine: the processes
and iptables chains of local clusters whose faultline process is gone, and
on kind clusters faultline created, paused or stopped nodes, faultline's
iptables chains, qdiscs and packet delayers; in those clusters, and in the
cluster --context names (one faultline did not create), the Chaos Mesh
experiments and node cordons of runs whose process is gone. Live runs are
left alone. It is idempotent: running it twice is harmless.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			var errs []error
			hs := healers()
			if kubeContext != "" {
				hs = append(hs, healer{name: "cluster " + kubeContext, heal: func(ctx context.Context, w io.Writer) error {
					return healKube(ctx, kubeHandle{kubeconfig: kubeconfig, context: kubeContext}, w)
				}})
			}
			for _, h := range hs {
				if err := h.heal(cmd.Context(), out); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", h.name, err))
				}
			}
			if err := errors.Join(errs...); err != nil {
				return infraError(err)
			}
			fmt.Fprintln(out, "heal: done")
			return nil
		},
	}
	cmd.Flags().StringVar(&kubeContext, "context", "", "also heal this kubeconfig context's cluster (Chaos Mesh experiments, cordoned nodes)")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file for --context (default $KUBECONFIG, ~/.kube/config)")
	return cmd
}

// kubeHandle names a cluster by kubeconfig and context.
type kubeHandle struct{ kubeconfig, context string }

func (k kubeHandle) Name() string                                   { return k.context }
func (k kubeHandle) Nodes(context.Context) ([]platform.Node, error) { return nil, nil }
func (k kubeHandle) Delete(context.Context) error                   { return nil }
func (k kubeHandle) Kubeconfig() string                             { return k.kubeconfig }
func (k kubeHandle) Context() string                                { return k.context }

// healKube removes what dead runs left in a cluster's API: Chaos Mesh
// experiments and node cordons.
func healKube(ctx context.Context, k platform.Kubernetes, w io.Writer) error {
	h := kubeHandle{kubeconfig: k.Kubeconfig(), context: k.Context()}
	var errs []error
	if cl, err := chaosmesh.Connect(h); err != nil {
		errs = append(errs, err)
	} else if err := chaosmesh.Heal(ctx, cl, w); err != nil {
		errs = append(errs, err)
	}
	if cs, err := kube.Client(k); err != nil {
		errs = append(errs, err)
	} else if err := kubeapi.Heal(ctx, cs, w); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// healers are the platforms' clean-up functions, run in order.
func healers() []healer {
	return []healer{
		{name: "local", heal: local.Heal},
		{name: "kind", heal: kind.Heal},
		// After kind's heal, which forgets clusters that are gone.
		{name: "kind clusters' API", heal: func(ctx context.Context, w io.Writer) error {
			return kind.EachCluster(ctx, func(ctx context.Context, name string, k platform.Kubernetes) error {
				return healKube(ctx, k, w)
			})
		}},
		{name: "shaping", heal: func(ctx context.Context, w io.Writer) error {
			return faults.HealShaping(ctx, faults.HostNetwork{}, []string{"host"}, w)
		}},
		// Last: a dead private daemon's namespace and link; a running one
		// is left alone.
		{name: "dockerd", heal: dockerd.Heal},
	}
}

type healer struct {
	name string
	heal func(ctx context.Context, w io.Writer) error
}
