package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/images"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/platform/dockerd"
)

// newImagesCmd is `faultline images`: build the node and engine images
// without a registry, and list them.
func newImagesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build the kind node and engine images without a registry, and list them",
	}
	cmd.AddCommand(newImagesBuildCmd(), newImagesListCmd())
	return cmd
}

func newImagesBuildCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "build [NAME...]",
		Short: "Build images (all by default) from pinned Go modules and Debian packages; unchanged ones are kept",
		Long: `Build makes the named images (kind-node, etcd; all when none is named) from
pinned Go modules and Debian packages, with no registry, in the Docker daemon
faultline runs kind on (its own when the machine's cannot start privileged
containers). Images are tagged by a hash of their inputs and rebuilt only
when those change. A cold kind-node build takes about 15 minutes on 2 cores.`,
		ValidArgs: images.Names(),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if images.Ref(a) == "" {
					return inputError(fmt.Errorf("images build: unknown image %q (known: %v)", excerpt.Value(a), images.Names()))
				}
			}
			log := cmd.ErrOrStderr()
			d, err := dockerd.Ensure(cmd.Context(), dockerd.Options{Log: log})
			if err != nil {
				return infraError(err)
			}
			start := time.Now()
			if err := images.Build(cmd.Context(), d, args, log); err != nil {
				return infraError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "images built in %s on DOCKER_HOST=%s\n", time.Since(start).Round(time.Second), d.Host())
			return nil
		},
	}
}

func newImagesListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the images faultline builds: local reference, whether it is built, the official fallback",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := dockerd.Ensure(cmd.Context(), dockerd.Options{Log: cmd.ErrOrStderr()})
			if err != nil {
				return infraError(err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			defer tw.Flush()
			fmt.Fprintln(tw, "NAME\tLOCAL REF\tBUILT\tOFFICIAL")
			for _, n := range images.Names() {
				ok, err := images.Built(cmd.Context(), d, n)
				if err != nil {
					return infraError(err)
				}
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", n, images.Ref(n), ok, images.Official(n))
			}
			fmt.Fprintf(tw, "\nDOCKER_HOST=%s (private: %v)\n", d.Host(), d.Private())
			return nil
		},
	}
}
