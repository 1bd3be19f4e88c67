package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/faults"
	"github.com/faultline-dev/faultline/platform/dockerd"
	"github.com/faultline-dev/faultline/platform/kind"
	"github.com/faultline-dev/faultline/platform/local"
)

func newHealCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "heal",
		Short: "Remove every fault a crashed run left behind (safe to run twice)",
		Long: `Heal clears what a crashed or killed run left on this machine: the processes
and iptables chains of local clusters whose faultline process is gone, and
on kind clusters faultline created, paused or stopped nodes, faultline's
iptables chains, qdiscs and packet delayers. Live runs are left alone. It is
idempotent: running it twice is harmless.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			var errs []error
			for _, h := range healers() {
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
}

// healers are the platforms' clean-up functions, run in order.
func healers() []healer {
	return []healer{
		{name: "local", heal: local.Heal},
		{name: "kind", heal: kind.Heal},
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
