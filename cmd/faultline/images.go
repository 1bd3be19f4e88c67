package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline-dev/faultline/images"
	"github.com/faultline-dev/faultline/internal/excerpt"
	"github.com/faultline-dev/faultline/platform/dockerd"
	"github.com/faultline-dev/faultline/platform/kind"
)

// newImagesCmd is `faultline images`: build the node and engine images
// without a registry, and list them.
func newImagesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build the kind node and engine images without a registry, and list them",
	}
	cmd.AddCommand(newImagesBuildCmd(), newImagesListCmd(), newImagesLoadCmd())
	return cmd
}

func newImagesBuildCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "build [NAME...]",
		Short: "Build images (all by default) from pinned Go modules and Debian packages; unchanged ones are kept",
		Long: `Build makes the named images (kind-node, etcd, cnpg-postgres, chaos-mesh,
vitess; all when none is named) from pinned Go modules and Debian packages,
with no registry, in the Docker daemon faultline runs kind on (its own when
the machine's cannot start privileged containers). Images are tagged by a
hash of their inputs and rebuilt only when those change. A cold kind-node
build takes about 15 minutes on 2 cores. chaos-mesh is two images, Chaos
Mesh's controller manager and daemon built from its Go module; kind runs load
them into the nodes when a fault via chaos-mesh installs it. vitess builds
the Vitess programs first when they are not cached (make vitess, about 8
minutes).`,
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

func newImagesLoadCmd() *cobra.Command {
	var name, dockerHost string
	cmd := &cobra.Command{
		Use:   "load IMAGE|FILE.tar...",
		Short: "Copy images into every node of a kind cluster, for nodes that cannot pull them",
		Long: `Load copies images into the containerd of every node of a running kind cluster
(--cluster-name), as kind load does: each argument is an image of the Docker
daemon the cluster runs on (faultline's own when it started one), or a
docker-archive tar file made by docker save. Pods then run the images with
imagePullPolicy IfNotPresent. Point a scenario at an image under another name
with engine.images or run --image-override OFFICIAL=REF.`,
		Example: `  faultline images load cnpg-postgres:15.18-bookworm --cluster-name fl-cnpg
  faultline images load ./operator.tar`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			p := kind.New(kind.Options{Name: name, DockerHost: dockerHost})
			if err := p.LoadImages(cmd.Context(), args...); err != nil {
				return infraError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "loaded %d images into cluster %s in %s\n", len(args), name, time.Since(start).Round(time.Second))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "cluster-name", kind.DefaultClusterName, "the kind cluster's name")
	cmd.Flags().StringVar(&dockerHost, "docker-host", "", "the Docker daemon the cluster runs on (default: the one that created it)")
	return cmd
}
